// The conformance kit's vehicle side: our vehicle runs a fixed list of
// transactions against someone else's device (a channel to it) and judges
// each one. The vehicle works on an in-memory copy of its state, so the
// state file is never changed; the device keeps what it commits (a new
// Kpersistent), and the car's next real tap falls back to standard and
// re-establishes it. Cases run in order, some build on the previous one.
import { toHex } from "../../protocol/bytes.js";
import { INS } from "../../protocol/constants.js";
import { generateKeyPair } from "../../protocol/p256.js";
import { SW } from "../../protocol/status-words.js";
import type { ApduChannel } from "../vehicle/apdu-channel.js";
import type { TraceEntry, TransactionEnding } from "../vehicle/reader-transaction.js";
import type { TapResult } from "../vehicle/tap-result.js";
import { Vehicle } from "../vehicle/vehicle.js";
import type { VehicleState } from "../vehicle/vehicle-state.js";

export interface CaseResult {
  case: string;
  ok: boolean;
  detail: string;
}

const NO_MAILBOX = "no mailbox support";

/**
 * A copy of the car that holds no Kpersistent, so its next transaction is a
 * standard one; with `token`, no immobilizer token either, so it provisions one.
 */
function forgetting(state: VehicleState, forget: { token?: boolean } = {}): Vehicle {
  return Vehicle.restore({
    ...state,
    endpoints: state.endpoints.map(({ persistentKey: _k, immobilizerToken, ...e }) =>
      forget.token || !immobilizerToken ? e : { ...e, immobilizerToken },
    ),
  });
}

function describe(result: TapResult): string {
  const parts = [`${result.decision}`, result.flow ?? "no flow", result.reason];
  if (result.failure) {
    const f = result.failure;
    parts.push(
      `failed at ${f.step}: sent ${f.command || "-"}, got ${f.answer || "nothing"}, expected ${f.expected}`,
    );
  }
  return parts.join("; ");
}

/** The device answers 6D00 to every EXCHANGE in its place: it never sees one (a device without mailboxes). */
function withoutMailboxes(channel: ApduChannel): ApduChannel {
  return async (command) =>
    command[1] === INS.EXCHANGE
      ? Uint8Array.of(SW.INS_NOT_SUPPORTED >> 8, SW.INS_NOT_SUPPORTED & 0xff)
      : channel(command);
}

export async function runDeviceConformance(
  state: VehicleState,
  channel: ApduChannel,
  options: {
    trace?: (entry: TraceEntry & { case: string }) => void;
    onCase?: (result: CaseResult) => void;
  } = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const report = (result: CaseResult) => {
    results.push(result);
    options.onCase?.(result);
  };
  const run = async (
    name: string,
    car: Vehicle,
    position: "door" | "dashboard",
    intent: "unlock" | "lock" | undefined,
    via: ApduChannel = channel,
    ending?: TransactionEnding,
  ): Promise<{ result: TapResult; controlFlowAnswer?: string }> => {
    let controlFlowAnswer: string | undefined;
    const trace = (entry: TraceEntry) => {
      if (entry.step === "CONTROL FLOW") controlFlowAnswer = entry.answer;
      options.trace?.({ case: name, ...entry });
    };
    const result = await car.tap(position, via, intent, { trace, ...(ending ? { ending } : {}) });
    return { result, ...(controlFlowAnswer !== undefined ? { controlFlowAnswer } : {}) };
  };

  // 1. A standard transaction at the door.
  const car = forgetting(state);
  const standard = (await run("standard-door-unlock", car, "door", "unlock")).result;
  const standardOk = standard.decision === "unlocked" && standard.flow === "standard";
  report({ case: "standard-door-unlock", ok: standardOk, detail: describe(standard) });
  const skipped = standard.skipped ?? [];
  const mailbox =
    skipped.length === 0
      ? "supported"
      : skipped.every((s) => s.includes(NO_MAILBOX))
        ? "unsupported"
        : "broken";

  // 2. A fast transaction at the door, with the Kpersistent the standard one established.
  const fast = (await run("fast-door-lock", car, "door", "lock")).result;
  report({
    case: "fast-door-lock",
    ok: fast.decision === "locked" && fast.flow === "fast",
    detail: describe(fast),
  });

  // 3. Engine start: needs the immobilizer token, so only a device with mailbox support can start.
  const start = (await run("engine-start", car, "dashboard", undefined)).result;
  const startOk =
    mailbox === "supported"
      ? start.decision === "started"
      : mailbox === "unsupported" &&
        start.decision === "refused" &&
        start.reason.startsWith("no immobilizer token");
  report({
    case: "engine-start",
    ok: startOk,
    detail: `${mailbox === "unsupported" ? "device without mailbox support: the car must refuse and say why; " : ""}${describe(start)}`,
  });

  // 4. A reader with another long-term key claiming this vehicle: the device must refuse its AUTH1 signature.
  const other = generateKeyPair();
  const impostor = Vehicle.restore({
    ...car.exportState(),
    publicKey: toHex(other.publicKey),
    privateKey: toHex(other.privateKey),
  });
  const wrong = (await run("wrong-reader-key", impostor, "door", "unlock")).result;
  report({
    case: "wrong-reader-key",
    ok:
      wrong.decision === "refused" &&
      wrong.failure?.step === "AUTH1" &&
      !wrong.failure.answer.endsWith("9000"),
    detail: describe(wrong),
  });

  // 5. No mailbox support: every EXCHANGE answered 6D00 in the device's place. The door must open and the
  //    device must commit on CONTROL FLOW alone (the next fast transaction matches).
  const bare = forgetting(car.exportState(), { token: true });
  const bareStandard = (await run("no-mailbox-support", bare, "door", "unlock", withoutMailboxes(channel)))
    .result;
  const bareFast = (await run("no-mailbox-support", bare, "door", "lock", withoutMailboxes(channel))).result;
  report({
    case: "no-mailbox-support",
    ok:
      bareStandard.decision === "unlocked" &&
      bareStandard.flow === "standard" &&
      !!bareStandard.skipped?.some((s) => s.includes(NO_MAILBOX)) &&
      bareFast.decision === "locked" &&
      bareFast.flow === "fast",
    detail: `standard: ${describe(bareStandard)} | then fast: ${describe(bareFast)}`,
  });

  // 6. CONTROL FLOW 01 xx: success with a code in P2. The device must commit (answer 9000; next fast matches).
  let latest = bare.exportState();
  for (const p2 of [0x00, 0x01, 0x80]) {
    const name = `control-flow-01-${p2.toString(16).padStart(2, "0")}`;
    const probe = forgetting(latest);
    const ended = await run(name, probe, "door", "unlock", channel, { p1: 0x01, p2 });
    const next = (await run(name, probe, "door", "lock")).result;
    report({
      case: name,
      ok: ended.controlFlowAnswer === "9000" && ended.result.decision === "unlocked" && next.flow === "fast",
      detail: `CONTROL FLOW answered ${ended.controlFlowAnswer ?? "nothing"}; next transaction ${next.flow ?? "refused"} (${next.decision})`,
    });
    latest = probe.exportState();
  }

  // 7. CONTROL FLOW 00 xx: the vehicle reports a failure. The device must answer an error status and keep
  //    nothing: the car that kept the previous Kpersistent still gets a matching fast cryptogram.
  const failing = forgetting(latest);
  const failed = await run("control-flow-00-05", failing, "door", "unlock", channel, { p1: 0x00, p2: 0x05 });
  const after = (await run("control-flow-00-05", Vehicle.restore(latest), "door", "unlock")).result;
  report({
    case: "control-flow-00-05",
    ok:
      failed.controlFlowAnswer !== undefined &&
      failed.controlFlowAnswer.length >= 4 &&
      !failed.controlFlowAnswer.endsWith("9000") &&
      after.flow === "fast",
    detail: `CONTROL FLOW 00 05 answered ${failed.controlFlowAnswer ?? "nothing"} (must not be 9000); the previous Kpersistent ${after.flow === "fast" ? "still matches" : "no longer matches"}`,
  });
  return results;
}
