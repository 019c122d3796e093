// The SE manufacturer for emulated devices talking to a real deployment: a
// factory attester from a software key that the deployment trusts (its
// SE_MANUFACTURER_PUBLIC_KEY). `npm start` keeps one at
// .data/keys/se-manufacturer.json (a JWK); any deployment can be given one.
import { readFileSync } from "node:fs";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { publicKeyOf } from "../../protocol/p256.js";
import { SecureElementError } from "./errors.js";
import { type FactoryAttester, softwareFactoryAttester } from "./secure-element.js";

/** Reads a P-256 private key from a JWK file (`d`) or a file of 64 hex digits. */
export function factoryAttesterFromFile(path: string): { attester: FactoryAttester; publicKey: string } {
  let privateKey: Uint8Array;
  try {
    const text = readFileSync(path, "utf8").trim();
    privateKey = text.startsWith("{")
      ? new Uint8Array(Buffer.from((JSON.parse(text) as { d: string }).d, "base64url"))
      : fromHex(text, "manufacturer key");
  } catch (error) {
    throw new SecureElementError(`cannot read the SE manufacturer key ${path}: ${(error as Error).message}`);
  }
  if (privateKey.length !== 32) throw new SecureElementError(`${path} does not hold a P-256 private key`);
  return {
    publicKey: toHex(publicKeyOf(privateKey)),
    attester: softwareFactoryAttester(privateKey),
  };
}
