// Fuzz stage, parsers: every parser of a wire format, fed arbitrary bytes,
// random TLV structures and mutations of real messages (taken from recorded
// transactions), with many more runs than the unit tests use. Each either
// returns or throws a typed ProtocolError: never a RangeError, TypeError or
// an exception of a library underneath.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAccessProfile } from "../../src/protocol/access-profile.js";
import { type CommandApdu, parseCommand, parseResponse } from "../../src/protocol/apdu.js";
import { parseTlvs, tlv } from "../../src/protocol/ber-tlv.js";
import { parseCertificate } from "../../src/protocol/certificate-verifier.js";
import { DEVICE_USAGE } from "../../src/protocol/constants.js";
import { derToRawSignature } from "../../src/protocol/ecdsa-der.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { verifyFactoryAttestation } from "../../src/protocol/factory-attestation.js";
import { parseKeyAttestation } from "../../src/protocol/key-attestation.js";
import { parseKeyTrackingReceipt } from "../../src/protocol/key-tracking-receipt.js";
import { verifyNotice } from "../../src/protocol/lifecycle-notice.js";
import { parseMailboxOperations, parseReadResults } from "../../src/protocol/mailbox-operations.js";
import { generateKeyPair } from "../../src/protocol/p256.js";
import { verifyPairingConfirmation } from "../../src/protocol/pairing-confirmation.js";
import {
  parseDeviceData,
  parseFrameworkSelectResponse,
  parseSpake2Request,
  parseSpake2Verify,
  parseVehicleData,
} from "../../src/protocol/pairing-messages.js";
import { parsePrivateMailbox } from "../../src/protocol/private-mailbox.js";
import { parseRevocation } from "../../src/protocol/revocation.js";
import { verifyRevocationList } from "../../src/protocol/revocation-list.js";
import { parseSignedStatement } from "../../src/protocol/signed-statement.js";
import { verifyTerminationAttestation } from "../../src/protocol/termination-attestation.js";
import {
  parseAuth0,
  parseAuth0Response,
  parseAuth1,
  parseAuth1ResponsePlaintext,
  parseSelectResponse,
} from "../../src/protocol/transaction-messages.js";
import {
  FUZZ_SEED,
  FUZZ_TIMEOUT,
  mutatedFrom,
  type RecordedTransactions,
  recordTransactions,
} from "./fuzz-support.js";

/** Runs per parser and input family; the unit tests use at most 2,000 per property. */
const RUNS = 4_000;

const someKey = generateKeyPair().publicKey;

/** A command APDU as a parser of one instruction sees it, whatever its bytes. */
const asCommand = (bytes: Uint8Array): CommandApdu => {
  try {
    return parseCommand(bytes);
  } catch {
    return {
      cla: bytes[0] ?? 0,
      ins: bytes[1] ?? 0,
      p1: bytes[2] ?? 0,
      p2: bytes[3] ?? 0,
      data: bytes.subarray(4),
    };
  }
};

const PARSERS: Array<[name: string, parse: (bytes: Uint8Array) => unknown]> = [
  ["parseCommand", parseCommand],
  ["parseResponse", parseResponse],
  ["parseTlvs", parseTlvs],
  ["parseAccessProfile", parseAccessProfile],
  ["parseSelectResponse", parseSelectResponse],
  ["parseAuth0", (b) => parseAuth0(asCommand(b))],
  ["parseAuth0Response", parseAuth0Response],
  ["parseAuth1", (b) => parseAuth1(asCommand(b))],
  ["parseAuth1ResponsePlaintext", parseAuth1ResponsePlaintext],
  ["parseFrameworkSelectResponse", parseFrameworkSelectResponse],
  ["parseSpake2Request", (b) => parseSpake2Request(asCommand(b))],
  ["parseSpake2Verify", (b) => parseSpake2Verify(asCommand(b))],
  ["parseVehicleData", parseVehicleData],
  ["parseDeviceData", parseDeviceData],
  ["parseMailboxOperations", parseMailboxOperations],
  ["parseReadResults", (b) => parseReadResults(b, (b[0] ?? 0) % 4)],
  ["parsePrivateMailbox", parsePrivateMailbox],
  ["parseKeyAttestation", parseKeyAttestation],
  ["parseKeyTrackingReceipt", parseKeyTrackingReceipt],
  ["parseRevocation", parseRevocation],
  ["parseSignedStatement", (b) => parseSignedStatement(b, DEVICE_USAGE, "statement")],
  ["verifyTerminationAttestation", (b) => verifyTerminationAttestation(b, someKey)],
  ["verifyNotice", (b) => verifyNotice(b, someKey)],
  ["verifyRevocationList", (b) => verifyRevocationList(b, someKey)],
  ["verifyFactoryAttestation", (b) => verifyFactoryAttestation(b, someKey)],
  ["verifyPairingConfirmation", (b) => verifyPairingConfirmation(b, someKey)],
  ["derToRawSignature", (b) => derToRawSignature(b)],
  ["parseCertificate", (b) => parseCertificate(b)],
];

/** TLV trees of plausible tags (those the formats use, and some they do not), nested up to three levels. */
const tlvTree: fc.Arbitrary<Uint8Array> = fc.letrec<{ node: Uint8Array }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc
      .record({
        tag: fc.constantFrom(
          0x4d,
          0x4e,
          0x5c,
          0x5e,
          0x7f49,
          0x86,
          0x87,
          0x8e,
          0x9e,
          0xa0,
          0xa1,
          0xc0,
          0xc3,
          0x30,
          0x04,
        ),
        value: fc.uint8Array({ maxLength: 80 }),
      })
      .map(({ tag, value }) => tlv(tag, value)),
    fc
      .record({
        tag: fc.constantFrom(0x7f49, 0xa0, 0xa1, 0x30, 0x70),
        children: fc.array(tie("node"), { maxLength: 4 }),
      })
      .map(({ tag, children }) => tlv(tag, Uint8Array.from(children.flatMap((c) => [...c])))),
  ),
})).node;

/** Whatever `parse` throws must be one of the protocol's typed errors. */
function typedOrValue(name: string, parse: (bytes: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    parse(bytes);
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw new Error(`${name} threw ${(error as Error)?.name}: ${(error as Error)?.message}`, {
        cause: error,
      });
    }
  }
}

let recorded: RecordedTransactions;
beforeAll(async () => {
  recorded = await recordTransactions();
});

describe("fuzz: parsers throw only typed errors", () => {
  it(
    `on arbitrary bytes, random TLV trees and mutated real APDUs (${PARSERS.length} parsers × 3 × ${RUNS} runs)`,
    () => {
      const samples = [...recorded.commands, ...recorded.responses].filter((s) => s.length > 0);
      // Bodies without the status word or header too: what the message parsers see.
      const bodies = [
        ...recorded.responses.map((r) => r.subarray(0, -2)),
        ...recorded.commands.map((c) => asCommand(c).data),
      ].filter((s) => s.length > 0);
      let cases = 0;
      for (const [index, [name, parse]] of PARSERS.entries()) {
        for (const [family, input] of [
          ["bytes", fc.uint8Array({ maxLength: 400 })],
          ["tlv", tlvTree],
          ["mutated", mutatedFrom([...samples, ...bodies])],
        ] as const) {
          fc.assert(
            fc.property(input, (bytes) => {
              cases++;
              typedOrValue(`${name} (${family})`, parse, bytes);
            }),
            { seed: FUZZ_SEED + index, numRuns: RUNS, endOnFailure: true },
          );
        }
      }
      expect(cases).toBe(PARSERS.length * 3 * RUNS);
      process.stdout.write(`fuzz parsers: ${cases} cases\n`);
    },
    FUZZ_TIMEOUT,
  );
});
