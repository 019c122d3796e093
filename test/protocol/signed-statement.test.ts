// signStatement: one sign call over the body, the statement
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
import type { MessageSigner } from "../../src/protocol/signer.js";
import { softMessageSigner } from "../support/soft-message-signer.js";

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
    const signer = softMessageSigner();
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
    const inner = softMessageSigner();
    const signer: MessageSigner = {
      publicKey: () => Promise.reject(new Error("not asked")),
      sign: (message) => inner.sign(message),
    };
    await expect(signStatement(signer, body, inner.publicKeyBytes)).resolves.toBeInstanceOf(Uint8Array);
  });

  it("refuses a signature by another key, of the wrong length or altered", async () => {
    const right = softMessageSigner();
    const other = softMessageSigner();
    const answers: Array<(message: Uint8Array) => Promise<Uint8Array>> = [
      (message) => other.sign(message),
      async (message) => (await right.sign(message)).subarray(0, 63),
      async (message) => {
        const signature = await right.sign(message);
        signature[10]! ^= 1;
        return signature;
      },
    ];
    for (const sign of answers) {
      await expect(signStatement({ publicKey: right.publicKey, sign }, body)).rejects.toBeInstanceOf(
        StatementSigningError,
      );
    }
  });
});
