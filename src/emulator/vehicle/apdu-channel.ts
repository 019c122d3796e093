// The vehicle's view of a device in the field: send a command APDU, get the
// response APDU. In-memory taps, child processes speaking the hex line
// protocol and (one day) PC/SC readers all fit behind it. `transmit` adds
// ISO 7816-4 response chaining (src/protocol/response-chaining.ts): 61XX
// answers are completed with GET RESPONSE.
import { type CommandApdu, encodeCommand, parseResponse, type ResponseApdu } from "../../protocol/apdu.js";
import { ResponseChainingError } from "../../protocol/errors.js";
import { exchangeChained } from "../../protocol/response-chaining.js";
import { ChannelError } from "./errors.js";

export type ApduChannel = (command: Uint8Array) => Promise<Uint8Array>;

export async function transmit(
  channel: ApduChannel,
  command: CommandApdu,
  step: string,
): Promise<ResponseApdu> {
  const exchange = async (next: CommandApdu): Promise<ResponseApdu> => {
    let raw: Uint8Array;
    try {
      raw = await channel(encodeCommand(next));
    } catch (error) {
      throw new ChannelError(`${step}: device did not answer (${(error as Error).message})`);
    }
    try {
      return parseResponse(raw);
    } catch {
      throw new ChannelError(`${step}: malformed response APDU`);
    }
  };
  try {
    return await exchangeChained(exchange, command);
  } catch (error) {
    if (error instanceof ResponseChainingError) throw new ChannelError(`${step}: ${error.message}`);
    throw error;
  }
}
