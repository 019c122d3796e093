// SoftSigner and the signer URI factory: keys are files made once with mode
// 0600 and reused, signatures verify with node:crypto and noble, damaged or
// exposed key files are refused, and unknown URI schemes are typed errors.
import { createPrivateKey, createPublicKey, verify } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsKmsSigner } from "../../../src/adapters/kms/aws-kms-signer.js";
import { SignerUriError, SoftKeyStoreError } from "../../../src/adapters/kms/errors.js";
import { signerFromUri } from "../../../src/adapters/kms/signer-from-uri.js";
import { SoftSigner } from "../../../src/adapters/kms/soft-signer.js";
import { toHex, utf8 } from "../../../src/protocol/bytes.js";
import { ProtocolInputError } from "../../../src/protocol/errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "carkeys-softkms-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("SoftSigner", () => {
  it("creates the key file once, mode 0600, as a P-256 JWK node:crypto reads", async () => {
    const signer = await SoftSigner.open(join(dir, "keys"), "root");
    const info = await stat(signer.path);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "keys"))).mode & 0o077).toBe(0);
    const jwk = JSON.parse(await readFile(signer.path, "utf8"));
    const publicJwk = createPrivateKey({ key: jwk, format: "jwk" }).export({ format: "jwk" });
    expect(publicJwk.x).toBe(jwk.x);
    expect(await readdir(join(dir, "keys"))).toEqual(["root.json"]);
  });

  it("reuses the stored key on the next open", async () => {
    const first = await SoftSigner.open(dir, "root");
    const again = await SoftSigner.open(dir, "root");
    const other = await SoftSigner.open(dir, "intermediate");
    expect(toHex(await again.publicKey())).toBe(toHex(await first.publicKey()));
    expect(toHex(await other.publicKey())).not.toBe(toHex(await first.publicKey()));
  });

  it("agrees on one key when opened concurrently", async () => {
    const signers = await Promise.all(Array.from({ length: 8 }, () => SoftSigner.open(dir, "raced")));
    const keys = new Set(await Promise.all(signers.map(async (s) => toHex(await s.publicKey()))));
    expect(keys.size).toBe(1);
    expect(await readdir(dir)).toEqual(["raced.json"]);
  });

  it("signs digests that verify with node:crypto and noble", async () => {
    const signer = await SoftSigner.open(dir, "root");
    const point = await signer.publicKey();
    const key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: Buffer.from(point.subarray(1, 33)).toString("base64url"),
        y: Buffer.from(point.subarray(33)).toString("base64url"),
      },
      format: "jwk",
    });
    const message = utf8("tbs certificate");
    const digest = sha256(message);
    const signature = await signer.sign(message);
    expect(signature.length).toBe(64);
    expect(verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
    expect(p256.verify(signature, digest, point, { prehash: false, lowS: false })).toBe(true);
  });

  it("refuses a message that is not bytes", async () => {
    const signer = await SoftSigner.open(dir, "root");
    await expect(signer.sign("text" as unknown as Uint8Array)).rejects.toBeInstanceOf(ProtocolInputError);
  });

  it.each(["", "../escape", "a/b", ".hidden", "x".repeat(129), "white space"])(
    "refuses key name %j",
    async (name) => {
      await expect(SoftSigner.open(dir, name)).rejects.toBeInstanceOf(SoftKeyStoreError);
    },
  );

  it("refuses a key file others can read", async () => {
    const signer = await SoftSigner.open(dir, "root");
    await chmod(signer.path, 0o644);
    await expect(SoftSigner.open(dir, "root")).rejects.toThrow(/readable by others/);
  });

  it("refuses damaged key files", async () => {
    const signer = await SoftSigner.open(dir, "root");
    const jwk = JSON.parse(await readFile(signer.path, "utf8"));
    const write = (content: string) => writeFile(signer.path, content, { mode: 0o600 });
    const damaged = [
      "not json",
      "null",
      JSON.stringify({ ...jwk, crv: "P-384" }),
      JSON.stringify({ ...jwk, d: "short" }),
      JSON.stringify({ ...jwk, x: jwk.y }),
      JSON.stringify({ ...jwk, d: Buffer.alloc(32).toString("base64url") }),
    ];
    for (const content of damaged) {
      await write(content);
      await expect(SoftSigner.open(dir, "root")).rejects.toBeInstanceOf(SoftKeyStoreError);
    }
  });
});

describe("signerFromUri", () => {
  it("opens softkms:<dir>#<name>", async () => {
    const signer = await signerFromUri(`softkms:${dir}#device-ca`);
    expect(signer).toBeInstanceOf(SoftSigner);
    expect((signer as SoftSigner).path).toBe(join(dir, "device-ca.json"));
  });

  it("splits softkms at the last '#'", async () => {
    const signer = (await signerFromUri(`softkms:${dir}/a#b#root`)) as SoftSigner;
    expect(signer.path).toBe(join(dir, "a#b", "root.json"));
  });

  it("makes an AwsKmsSigner for awskms: without calling KMS", async () => {
    const signer = await signerFromUri("awskms:arn:aws:kms:eu-west-2:111122223333:alias/carkeys-root");
    expect(signer).toBeInstanceOf(AwsKmsSigner);
    expect((signer as AwsKmsSigner).keyId).toBe("arn:aws:kms:eu-west-2:111122223333:alias/carkeys-root");
  });

  it.each([
    "pkcs11:token=x",
    "softkms",
    "",
    "constructor:x",
    "__proto__:x",
    "softkms:/tmp/keys",
    "softkms:#root",
    `softkms:${"/tmp"}#`,
    "awskms:",
    "awskms:alias/with space",
  ])("refuses %j with SignerUriError", async (uri) => {
    await expect(signerFromUri(uri)).rejects.toBeInstanceOf(SignerUriError);
  });
});
