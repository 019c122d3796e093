// The vehicle's view of a device in the field: send a command APDU, get the
// response APDU. In-memory taps, child processes speaking the hex line
// protocol and (one day) PC/SC readers all fit behind it. `transmit` adds
// ISO 7816-4 response chaining: 61XX answers are completed with GET RESPONSE.
import { type CommandApdu, encodeCommand, parseResponse, type ResponseApdu } from "../../protocol/apdu.js";
import { concatBytes } from "../../protocol/bytes.js";

export type ApduChannel = (command: Uint8Array) => Promise<Uint8Array>;

/** A step of a transaction failed for a reason the log should carry. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** Bounds a hostile device that keeps answering 61XX. */
const MAX_CHAINED_RESPONSES = 64;

export async function transmit(
  channel: ApduChannel,
  command: CommandApdu,
  step: string,
): Promise<ResponseApdu> {
  const parts: Uint8Array[] = [];
  let next: CommandApdu = command;
  for (let i = 0; i < MAX_CHAINED_RESPONSES; i++) {
    let raw: Uint8Array;
    try {
      raw = await channel(encodeCommand(next));
    } catch (error) {
      throw new ChannelError(`${step}: device did not answer (${(error as Error).message})`);
    }
    let response: ResponseApdu;
    try {
      response = parseResponse(raw);
    } catch {
      throw new ChannelError(`${step}: malformed response APDU`);
    }
    parts.push(response.data);
    if (response.sw >> 8 !== 0x61) return { data: concatBytes(...parts), sw: response.sw };
    next = { cla: 0x00, ins: 0xc0, p1: 0, p2: 0, data: new Uint8Array(0), le: response.sw & 0xff };
  }
  throw new ChannelError(`${step}: response chaining did not end`);
}
