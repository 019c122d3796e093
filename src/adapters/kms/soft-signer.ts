// A software key store for development and offline runs (`softkms:<dir>#<name>`):
// one P-256 key per file, `<dir>/<name>.json`, a JWK (RFC 7517/7518 §6.2) so
// openssl-adjacent tools and node:crypto read it as is. The key is made on
// first use with mode 0600 and published with link(), which is atomic and
// refuses to overwrite, so two processes racing to create it agree on one key.
// A file others can read, or whose public half does not match its secret, is
// refused rather than used: this is for laptops, but it still holds keys.
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { concatBytes, equalBytes, expectLength } from "../../protocol/bytes.js";
import { ProtocolInputError } from "../../protocol/errors.js";
import { generateKeyPair, P256PrivateKey, publicKeyOf } from "../../protocol/p256.js";
import type { MessageSigner } from "../../protocol/signer.js";
import { SoftKeyStoreError } from "./errors.js";

interface P256Jwk {
  kty: "EC";
  crv: "P-256";
  d: string;
  x: string;
  y: string;
}

/** Names become file names: no separators, no leading dot, bounded length. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

export class SoftSigner implements MessageSigner {
  readonly keyName: string;
  /** Path of the key file. */
  readonly path: string;
  /** The key with its own OpenSSL KeyObject, so a signature never imports it again. */
  readonly #key: P256PrivateKey;

  private constructor(keyName: string, path: string, key: P256PrivateKey) {
    this.keyName = keyName;
    this.path = path;
    this.#key = key;
  }

  /** Loads `<directory>/<keyName>.json`, creating the directory (0700) and the key (0600) if absent. */
  static async open(directory: string, keyName: string): Promise<SoftSigner> {
    if (typeof directory !== "string" || directory === "") {
      throw new SoftKeyStoreError("key store directory must be a non-empty path");
    }
    if (typeof keyName !== "string" || !KEY_NAME.test(keyName)) {
      throw new SoftKeyStoreError(`key name must match ${KEY_NAME.source}`);
    }
    const path = join(directory, `${keyName}.json`);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const secret = (await readKey(path)) ?? (await createKey(path));
    return new SoftSigner(keyName, path, P256PrivateKey.fromScalar(secret));
  }

  async publicKey(): Promise<Uint8Array> {
    return this.#key.publicKey.slice();
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (!(message instanceof Uint8Array)) throw new ProtocolInputError("message must be bytes");
    return this.#key.sign(message);
  }
}

/** The secret scalar in `path`, or undefined if there is no such file. */
async function readKey(path: string): Promise<Uint8Array | undefined> {
  let text: string;
  try {
    const info = await stat(path);
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      throw new SoftKeyStoreError(`key file ${path} is readable by others: chmod 600 it`);
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (error instanceof SoftKeyStoreError) throw error;
    throw new SoftKeyStoreError(`cannot read key file ${path}`, { cause: error });
  }
  return parseJwk(text, path);
}

function parseJwk(text: string, path: string): Uint8Array {
  let jwk: Partial<P256Jwk>;
  try {
    jwk = JSON.parse(text) as Partial<P256Jwk>;
  } catch (cause) {
    throw new SoftKeyStoreError(`key file ${path} is not JSON`, { cause });
  }
  if (jwk === null || typeof jwk !== "object" || jwk.kty !== "EC" || jwk.crv !== "P-256") {
    throw new SoftKeyStoreError(`key file ${path} is not a P-256 JWK`);
  }
  for (const field of ["d", "x", "y"] as const) {
    const value = jwk[field];
    if (typeof value !== "string" || !B64URL_32.test(value)) {
      throw new SoftKeyStoreError(`key file ${path}: "${field}" must be 32 bytes of base64url`);
    }
  }
  const secret = decode(jwk.d!);
  let derived: Uint8Array;
  try {
    derived = publicKeyOf(secret);
  } catch (cause) {
    throw new SoftKeyStoreError(`key file ${path}: "d" is not a valid P-256 secret`, { cause });
  }
  const stored = concatBytes(Uint8Array.of(0x04), decode(jwk.x!), decode(jwk.y!));
  if (!equalBytes(derived, stored)) {
    throw new SoftKeyStoreError(`key file ${path}: public key does not match the secret`);
  }
  return secret;
}

async function createKey(path: string): Promise<Uint8Array> {
  const { privateKey, publicKey } = generateKeyPair();
  const jwk: P256Jwk = {
    kty: "EC",
    crv: "P-256",
    d: encode(privateKey),
    x: encode(publicKey.subarray(1, 33)),
    y: encode(publicKey.subarray(33)),
  };
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temporary, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  try {
    await link(temporary, path);
    return privateKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new SoftKeyStoreError(`cannot create key file ${path}`, { cause: error });
    }
    // Another process created the key first: use theirs.
    const existing = await readKey(path);
    if (!existing) throw new SoftKeyStoreError(`key file ${path} vanished while being created`);
    return existing;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

function encode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function decode(text: string): Uint8Array {
  return expectLength(new Uint8Array(Buffer.from(text, "base64url")), 32, "JWK coordinate");
}
