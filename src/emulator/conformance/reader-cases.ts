// The conformance kit's device side: our emulated device answers someone
// else's reader, started once per case as a line-protocol initiator
// (src/emulator/line-initiator.ts), and the kit judges what the reader sent.
// The reader learns the case from `{case}` / `{intent}` in its command line
// (and CARKEY_CONFORMANCE_CASE / CARKEY_CONFORMANCE_INTENT in its
// environment). The device is an in-memory copy: its state file is never
// changed.
import { parseCommand, parseResponse } from "../../protocol/apdu.js";
import { TlvMap } from "../../protocol/ber-tlv.js";
import { concatBytes, fromHex } from "../../protocol/bytes.js";
import { INS, TAG } from "../../protocol/constants.js";
import { generateKeyPair } from "../../protocol/p256.js";
import { SW } from "../../protocol/status-words.js";
import { runInitiator } from "../line-initiator.js";
import { SecureElement } from "../secure-element/secure-element.js";
import type { CaseResult } from "./device-cases.js";

type Intent = "unlock" | "lock" | "start";

interface Exchange {
  ins: number;
  p1: number;
  p2: number;
  sw: number;
  /** The AUTH0 answer carried a fast cryptogram. */
  cryptogram?: boolean;
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");
const NOT_SUPPORTED = Uint8Array.of(SW.INS_NOT_SUPPORTED >> 8, SW.INS_NOT_SUPPORTED & 0xff);

/** Removes TLV 9D from an AUTH0 answer: the device then looks as if it held no Kpersistent (forces standard). */
function withoutCryptogram(answer: Uint8Array): Uint8Array {
  const response = parseResponse(answer);
  if (response.sw !== SW.OK) return answer;
  const m = TlvMap.parse(response.data, "AUTH0 response");
  const point = m.require(TAG.ENDPOINT_EPHEMERAL, "endpoint ephemeral public key", 65);
  return concatBytes(Uint8Array.of(0x86, 0x41), point, Uint8Array.of(0x90, 0x00));
}

export async function runReaderConformance(
  device: SecureElement,
  keyId: string,
  readerCommand: string,
  options: { onCase?: (result: CaseResult) => void; timeoutMs?: number } = {},
): Promise<CaseResult[]> {
  const key = device.key(keyId);
  const results: CaseResult[] = [];
  const report = (result: CaseResult) => {
    results.push(result);
    options.onCase?.(result);
  };

  const drive = async (
    name: string,
    intent: Intent,
    card: SecureElement,
    filter: { standard?: boolean; noMailbox?: boolean } = {},
  ) => {
    const exchanges: Exchange[] = [];
    const transceive = async (bytes: Uint8Array): Promise<Uint8Array> => {
      let ins = -1;
      let p1 = -1;
      let p2 = -1;
      try {
        ({ ins, p1, p2 } = parseCommand(bytes));
      } catch {
        // Unparseable: the card answers it like any other.
      }
      let answer: Uint8Array;
      if (filter.noMailbox && ins === INS.EXCHANGE) answer = NOT_SUPPORTED;
      else answer = await card.transceive(bytes);
      let cryptogram = false;
      if (ins === INS.AUTH0 && answer.length > 2) {
        cryptogram = hasCryptogram(answer);
        if (filter.standard) {
          answer = withoutCryptogram(answer);
          cryptogram = false;
        }
      }
      const sw = (answer[answer.length - 2]! << 8) | answer[answer.length - 1]!;
      exchanges.push({ ins, p1, p2, sw, ...(ins === INS.AUTH0 ? { cryptogram } : {}) });
      return answer;
    };
    const line = readerCommand.replaceAll("{intent}", intent).replaceAll("{case}", name);
    const run = await runInitiator(line, transceive, {
      env: { CARKEY_CONFORMANCE_CASE: name, CARKEY_CONFORMANCE_INTENT: intent },
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    card.fieldLost();
    const sent = exchanges
      .map(
        (e) =>
          `${insName(e.ins)}${e.ins === INS.CONTROL_FLOW || e.ins === INS.AUTH0 ? ` ${hex2(e.p1)} ${hex2(e.p2)}` : ""}→${e.sw.toString(16).padStart(4, "0")}`,
      )
      .join(", ");
    const detail = `${sent || "no command"}${run.problem ? `; ${run.problem}` : ""}; reader exited ${run.code}${run.stderr ? `: ${run.stderr.split("\n").pop()}` : ""}`;
    return { exchanges, run, detail };
  };

  const sawOk = (x: Exchange[], ins: number) => x.some((e) => e.ins === ins && e.sw === SW.OK);
  const committed = (x: Exchange[]) =>
    x.some((e) => e.ins === INS.CONTROL_FLOW && e.p1 === 0x01 && e.sw === SW.OK);
  const endings: string[] = [];
  const noteEndings = (name: string, x: Exchange[]) => {
    for (const e of x.filter((y) => y.ins === INS.CONTROL_FLOW)) {
      endings.push(`${name}: ${hex2(e.p1)} ${hex2(e.p2)}→${e.sw.toString(16).padStart(4, "0")}`);
    }
  };

  // 1. Standard at the door: SELECT, AUTH0, AUTH1 all 9000, ended by a committing CONTROL FLOW 01 xx.
  const standard = await drive("standard-door-unlock", "unlock", device, { standard: true });
  noteEndings("standard-door-unlock", standard.exchanges);
  report({
    case: "standard-door-unlock",
    ok:
      standard.run.problem === undefined &&
      sawOk(standard.exchanges, INS.SELECT) &&
      sawOk(standard.exchanges, INS.AUTH1) &&
      committed(standard.exchanges),
    detail: standard.detail,
  });

  // 2. Fast at the door: the reader asks for fast, matches the cryptogram and goes on without AUTH1.
  const fast = await drive("fast-door-lock", "lock", device);
  noteEndings("fast-door-lock", fast.exchanges);
  const auth0 = fast.exchanges.find((e) => e.ins === INS.AUTH0);
  report({
    case: "fast-door-lock",
    ok:
      fast.run.problem === undefined &&
      auth0?.p1 === 0x01 &&
      auth0.cryptogram === true &&
      !fast.exchanges.some((e) => e.ins === INS.AUTH1) &&
      committed(fast.exchanges),
    detail: fast.detail,
  });

  // 3. Engine start: a standard transaction with transaction code 03, completed.
  const start = await drive("engine-start", "start", device);
  noteEndings("engine-start", start.exchanges);
  const startAuth0 = start.exchanges.find((e) => e.ins === INS.AUTH0);
  report({
    case: "engine-start",
    ok:
      start.run.problem === undefined &&
      startAuth0?.p2 === 0x03 &&
      sawOk(start.exchanges, INS.AUTH1) &&
      committed(start.exchanges),
    detail: start.detail,
  });

  // 4. Wrong reader key: a device that holds another public key for this vehicle refuses AUTH1; the reader
  //    must then stop (no EXCHANGE, no committing CONTROL FLOW in that session).
  const { se: stranger } = SecureElement.create();
  stranger.provisionKey({
    vehicleIdentifier: fromHex(key.vehicleIdentifier),
    vehiclePublicKey: generateKeyPair().publicKey,
  });
  const wrong = await drive("wrong-reader-key", "unlock", stranger);
  const refusedAt = wrong.exchanges.findIndex((e) => e.ins === INS.AUTH1 && e.sw !== SW.OK);
  const afterRefusal = refusedAt < 0 ? [] : wrong.exchanges.slice(refusedAt + 1);
  report({
    case: "wrong-reader-key",
    ok:
      refusedAt >= 0 &&
      !afterRefusal.some(
        (e) => e.ins === INS.EXCHANGE || (e.ins === INS.CONTROL_FLOW && e.p1 === 0x01 && e.sw === SW.OK),
      ),
    detail: `${wrong.detail}${refusedAt < 0 ? "; the reader never sent AUTH1" : ""}`,
  });

  // 5. No mailbox support: EXCHANGE answered 6D00; the reader must still complete the transaction.
  const bare = await drive("no-mailbox-support", "unlock", device, { standard: true, noMailbox: true });
  noteEndings("no-mailbox-support", bare.exchanges);
  report({
    case: "no-mailbox-support",
    ok: bare.run.problem === undefined && sawOk(bare.exchanges, INS.AUTH1) && committed(bare.exchanges),
    detail: bare.detail,
  });

  // 6. CONTROL FLOW: every completed case ended with P1 = 01, which our device answered 9000.
  const completed = [standard, fast, start, bare];
  report({
    case: "control-flow",
    ok: completed.every((c) => committed(c.exchanges)),
    detail: endings.join(", ") || "the reader never sent CONTROL FLOW",
  });
  return results;
}

function hasCryptogram(answer: Uint8Array): boolean {
  try {
    const response = parseResponse(answer);
    return response.sw === SW.OK && TlvMap.parse(response.data, "AUTH0 response").has(TAG.CRYPTOGRAM);
  } catch {
    return false;
  }
}

function insName(ins: number): string {
  switch (ins) {
    case INS.SELECT:
      return "SELECT";
    case INS.AUTH0:
      return "AUTH0";
    case INS.AUTH1:
      return "AUTH1";
    case INS.EXCHANGE:
      return "EXCHANGE";
    case INS.CONTROL_FLOW:
      return "CONTROL FLOW";
    default:
      return ins < 0 ? "(unparseable)" : `INS ${hex2(ins)}`;
  }
}
