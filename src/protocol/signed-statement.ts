// Signed statements: the one envelope for everything a key signs outside a
// transaction (termination attestations, key attestations, revocations,
// lost-mode notices). Layout (docs/protocol.md "Signed statements"):
//   TLV(70, TLV(93, usage 4 bytes) ‖ fields…) ‖ TLV(9E, r‖s)
// The signature is ECDSA-P256-SHA256 over the whole TLV(70, …) encoding. The
// usage constant comes first and is checked before anything else, so a
// statement of one kind can never be accepted as another.
import { parseTlvs, TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, equalBytes, expectLength, toHex } from "./bytes.js";
import { StatementSigningError, TlvError, VerificationError } from "./errors.js";
import { verifyRaw } from "./p256.js";
import type { MessageSigner } from "./signer.js";

export const TAG_STATEMENT_BODY = 0x70;
export const TAG_USAGE = 0x93;
export const TAG_SIGNATURE = 0x9e;

export interface SignedStatement {
  readonly usage: Uint8Array;
  readonly fields: TlvMap;
  /** The exact bytes that were signed: TLV(70, body). */
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** The whole encoded statement. */
  readonly encoded: Uint8Array;
}

/** The bytes to sign for a statement with these fields. */
export function statementBody(usage: Uint8Array, fields: readonly Uint8Array[]): Uint8Array {
  return tlv(TAG_STATEMENT_BODY, concatBytes(tlv(TAG_USAGE, expectLength(usage, 4, "usage")), ...fields));
}

export function encodeSignedStatement(signedBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return concatBytes(signedBytes, tlv(TAG_SIGNATURE, expectLength(signature, 64, "signature")));
}

/**
 * Signs `body` (a statementBody) with one sign call and returns the
 * encoded statement, after checking the signature with the signer's key
 * (`publicKey` when the caller knows it, else asked of the signer), so a
 * misconfigured KMS key or a faulty signer never hands out a statement
 * nobody can verify.
 */
export async function signStatement(
  signer: MessageSigner,
  body: Uint8Array,
  publicKey?: Uint8Array,
): Promise<Uint8Array> {
  const signature = await signer.sign(body);
  const key = publicKey ?? (await signer.publicKey());
  if (!(signature instanceof Uint8Array) || signature.length !== 64 || !verifyRaw(signature, body, key)) {
    throw new StatementSigningError("returned a signature that does not verify");
  }
  return encodeSignedStatement(body, signature);
}

/** Parses a statement and checks its usage; does not verify the signature (the caller knows the key). */
export function parseSignedStatement(encoded: Uint8Array, usage: Uint8Array, what: string): SignedStatement {
  const outer = parseTlvs(encoded);
  const [body, sig] = outer;
  if (outer.length !== 2 || body?.tag !== TAG_STATEMENT_BODY || sig?.tag !== TAG_SIGNATURE) {
    throw new TlvError(`${what} must be TLV(70, body) ‖ TLV(9E, signature)`);
  }
  if (sig.value.length !== 64) throw new TlvError(`${what} signature must be 64 bytes`);
  const fields = TlvMap.parse(body.value, what);
  const actualUsage = fields.require(TAG_USAGE, "usage", 4);
  if (!equalBytes(actualUsage, usage)) {
    throw new VerificationError(`${what}: usage ${toHex(actualUsage)} is not ${toHex(usage)}`);
  }
  const signedBytes = encoded.subarray(0, encoded.length - sig.value.length - 2);
  return { usage: actualUsage, fields, signedBytes, signature: sig.value, encoded };
}

export function verifyStatementSignature(
  statement: SignedStatement,
  publicKey: Uint8Array,
  what: string,
): void {
  if (!verifyRaw(statement.signature, statement.signedBytes, publicKey)) {
    throw new VerificationError(`${what}: signature does not verify`);
  }
}
