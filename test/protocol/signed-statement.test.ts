// signStatement: one signDigest call over SHA-256 of the body, the statement
// verified with the signer's key before it is returned; a signer that answers
// with anything else (another key's signature, the wrong length, a flipped
// bit) is refused with StatementSigningError instead of shipping a statement
// nobody can verify. A statement it returns verifies with node:crypto too.
import { createPublicKey, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { tlv } from "../../src/protocol/ber-tlv.js";
import { StatementSigningError } from "../../src/protocol/errors.js";
import { NOTICE_USAGE } from "../../src/protocol/lifecycle-notice.js";
import {
  parseSignedStatement,
  signStatement,
  statementBody,
  verifyStatementSignature,
} from "../../src/protocol/signed-statement.js";
import type { DigestSigner } from "../../src/protocol/signer.js";
import { softDigestSigner } from "../support/soft-digest-signer.js";

const body = statementBody(NOTICE_USAGE, [tlv(0xc1, Uint8Array.of(1, 2, 3))]);

/** The signer's public key as node:crypto reads it (an uncompressed point in a JWK). */
function nodeKey(point: Uint8Array) {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) },
    format: "jwk",
  });
}

describe("signStatement", () => {
  it("signs once and returns a statement that verifies, here and with node:crypto", async () => {
    const signer = softDigestSigner();
    const encoded = await signStatement(signer, body);
    expect(signer.calls).toBe(1);
    const statement = parseSignedStatement(encoded, NOTICE_USAGE, "notice");
    expect(statement.signedBytes).toEqual(body);
    verifyStatementSignature(statement, signer.publicKeyBytes, "notice");
    expect(
      verify(
        "sha256",
        body,
        { key: nodeKey(signer.publicKeyBytes), dsaEncoding: "ieee-p1363" },
        statement.signature,
      ),
    ).toBe(true);
  });

  it("uses the public key the caller knows instead of asking the signer", async () => {
    const inner = softDigestSigner();
    const signer: DigestSigner = {
      publicKey: () => Promise.reject(new Error("not asked")),
      signDigest: (digest) => inner.signDigest(digest),
    };
    await expect(signStatement(signer, body, inner.publicKeyBytes)).resolves.toBeInstanceOf(Uint8Array);
  });

  it("refuses a signature by another key, of the wrong length or altered", async () => {
    const right = softDigestSigner();
    const other = softDigestSigner();
    const answers: Array<(digest: Uint8Array) => Promise<Uint8Array>> = [
      (digest) => other.signDigest(digest),
      async (digest) => (await right.signDigest(digest)).subarray(0, 63),
      async (digest) => {
        const signature = await right.signDigest(digest);
        signature[10]! ^= 1;
        return signature;
      },
    ];
    for (const signDigest of answers) {
      await expect(signStatement({ publicKey: right.publicKey, signDigest }, body)).rejects.toBeInstanceOf(
        StatementSigningError,
      );
    }
  });
});
