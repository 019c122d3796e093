// The vehicle revocation list (src/protocol/revocation-list.ts, usage RVLS)
// and the terminate-key lifecycle notice (lifecycle-notice.ts action 03, tag
// 4E): round trips (fast-check), a fixed layout, malformed and out-of-order
// input, and signatures by the wrong root.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/protocol/bytes.js";
import { noticeBody, verifyNotice } from "../../src/protocol/lifecycle-notice.js";
import { generateKeyPair, keyIdentifier, signRaw } from "../../src/protocol/p256.js";
import {
  encodeRevocationList,
  type RevocationList,
  revocationListBody,
  verifyRevocationList,
} from "../../src/protocol/revocation-list.js";
import { encodeSignedStatement } from "../../src/protocol/signed-statement.js";

const root = generateKeyPair();
const sign = (list: RevocationList, key = root) => {
  const body = revocationListBody(list);
  return encodeRevocationList(body, signRaw(key.privateKey, body));
};
const base = (entries: RevocationList["entries"], after = 0): RevocationList => ({
  vehicleIdentifier: new Uint8Array(16).fill(7),
  after,
  latestSequence: entries.at(-1)?.sequence ?? after,
  issuedAt: 1_700_000_000_000,
  signerKeyId: keyIdentifier(root.publicKey),
  entries,
});

describe("revocation list (RVLS)", () => {
  it("starts with the RVLS usage and round-trips friend and owner entries", () => {
    const list = base(
      [
        { sequence: 3, keyId: new Uint8Array(6).fill(1), attestationSerial: 2, revokedAt: 1_700_000_000_001 },
        { sequence: 5, keyId: new Uint8Array(6).fill(2), revokedAt: 1_700_000_000_002 },
      ],
      2,
    );
    const encoded = sign(list);
    expect(toHex(encoded.subarray(0, 9))).toMatch(/^70(81..)?930452564c53/);
    expect(verifyRevocationList(encoded, root.publicKey)).toEqual(list);
  });

  it("round-trips any ordered list (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 50 }),
            serial: fc.option(fc.nat({ max: 2 ** 32 - 1 }), { nil: undefined }),
            at: fc.nat(),
          }),
          { maxLength: 8 },
        ),
        (after, raw) => {
          let sequence = after;
          const entries = raw.map((e, i) => {
            sequence += e.gap;
            return {
              sequence,
              keyId: new Uint8Array(6).fill(i),
              ...(e.serial === undefined ? {} : { attestationSerial: e.serial }),
              revokedAt: e.at,
            };
          });
          const list = base(entries, after);
          expect(verifyRevocationList(sign(list), root.publicKey)).toEqual(list);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("refuses out-of-order entries, a wrong latest sequence, another root and a tampered list", () => {
    const entry = (sequence: number) => ({ sequence, keyId: new Uint8Array(6), revokedAt: 1 });
    expect(() => revocationListBody(base([entry(2), entry(2)]))).toThrow("rise above");
    expect(() => revocationListBody({ ...base([entry(1)]), latestSequence: 4 })).toThrow("latest sequence");
    expect(() => revocationListBody(base([entry(1)], 1))).toThrow("rise above");
    const encoded = sign(base([entry(1)]));
    expect(() => verifyRevocationList(encoded, generateKeyPair().publicKey)).toThrow("another root key");
    const tampered = encoded.slice();
    tampered[tampered.length - 70]! ^= 1;
    expect(() => verifyRevocationList(tampered, root.publicKey)).toThrow();
    expect(() => verifyRevocationList(encoded.subarray(0, 20), root.publicKey)).toThrow();
  });
});

describe("terminate-key notice (NTCE action 03)", () => {
  const notice = (fields: Partial<Parameters<typeof noticeBody>[0]>) => {
    const body = noticeBody({
      deviceId: new Uint8Array(16).fill(9),
      action: "terminate-key",
      counter: 4,
      issuedAt: 5,
      ...fields,
    });
    return encodeSignedStatement(body, signRaw(root.privateKey, body));
  };

  it("carries the key id (tag 4E) and verifies", () => {
    const keyIdentifier = new Uint8Array(6).fill(3);
    const parsed = verifyNotice(notice({ keyIdentifier }), root.publicKey);
    expect(parsed).toMatchObject({ action: "terminate-key", counter: 4, keyIdentifier });
    expect(toHex(notice({ keyIdentifier }))).toContain("c60103");
  });

  it("refuses a terminate-key without a key id, a key id on suspend, and a vehicle-directed terminate-key", () => {
    expect(() => notice({})).toThrow("key identifier");
    expect(() => notice({ action: "suspend", keyIdentifier: new Uint8Array(6) })).toThrow("key identifier");
    expect(() => notice({ keyIdentifier: new Uint8Array(6), vehicleIdentifier: new Uint8Array(8) })).toThrow(
      "device-directed",
    );
  });

  it("keeps the suspend and resume encodings", () => {
    const body = noticeBody({ deviceId: new Uint8Array(16), action: "suspend", counter: 1, issuedAt: 2 });
    expect(toHex(body)).toContain("c60101");
    expect(toHex(body)).not.toContain("4e06");
  });
});
