// A MessageSigner over a software P-256 key, for tests of anything that signs
// through src/protocol/signer.ts. It counts sign calls (issuance must make
// exactly one per certificate) and can force high-S signatures, the form KMS
// and OpenSSL return about half the time, so verifiers are tested against it.
import { p256 } from "@noble/curves/nist.js";
import type { MessageSigner } from "../../src/protocol/signer.js";

export interface SoftMessageSigner extends MessageSigner {
  readonly privateKey: Uint8Array;
  readonly publicKeyBytes: Uint8Array;
  /** How many times sign ran. */
  readonly calls: number;
}

const N = p256.Point.CURVE().n;

function toHighS(compact: Uint8Array): Uint8Array {
  const sig = p256.Signature.fromBytes(compact, "compact");
  if (sig.s > N >> 1n) return compact;
  const out = new Uint8Array(64);
  out.set(compact.subarray(0, 32), 0);
  out.set(Buffer.from((N - sig.s).toString(16).padStart(64, "0"), "hex"), 32);
  return out;
}

export function softMessageSigner(
  options: { privateKey?: Uint8Array; highS?: boolean } = {},
): SoftMessageSigner {
  const privateKey = options.privateKey ?? p256.utils.randomSecretKey();
  const publicKeyBytes = p256.getPublicKey(privateKey, false);
  let calls = 0;
  return {
    privateKey,
    publicKeyBytes,
    get calls() {
      return calls;
    },
    async publicKey() {
      return publicKeyBytes.slice();
    },
    async sign(message: Uint8Array) {
      if (!(message instanceof Uint8Array)) throw new Error("message must be bytes");
      calls++;
      // noble hashes the message with SHA-256 (prehash); lowS off so the raw signature is kept as made.
      const compact = p256.sign(message, privateKey, { lowS: !options.highS });
      return options.highS ? toHighS(compact) : compact;
    },
  };
}
