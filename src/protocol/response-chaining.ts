// ISO/IEC 7816-4 response chaining, both ends of it: an answer longer than
// one short response (256 bytes of data) goes out in chunks, each but the
// last with status 61XX ("XX more bytes wait", 00 for 256 or more), and the
// reader fetches the next chunk with GET RESPONSE (00 C0 00 00 XX). The
// framework applet chains its GET DATA answer (docs/protocol.md §9); the
// vehicle's reader completes any 61XX answer it gets.
import type { CommandApdu, ResponseApdu } from "./apdu.js";
import { concatBytes } from "./bytes.js";
import { ResponseChainingError } from "./errors.js";
import { SW } from "./status-words.js";

export const INS_GET_RESPONSE = 0xc0;
/** Largest data field of one short response. */
export const SHORT_RESPONSE_DATA = 256;
/** Bounds a hostile device that keeps answering 61XX. */
export const MAX_CHAINED_RESPONSES = 64;

export function getResponseCommand(length: number): CommandApdu {
  return { cla: 0x00, ins: INS_GET_RESPONSE, p1: 0, p2: 0, data: new Uint8Array(0), le: length & 0xff };
}

/** Whether `sw` says more of the answer waits for GET RESPONSE. */
export function moreDataWaits(sw: number): boolean {
  return sw >> 8 === 0x61;
}

/** The card's end: the rest of a long answer, handed out one chunk per GET RESPONSE. */
export class ResponseChain {
  #rest: Uint8Array = new Uint8Array(0);

  /** Whether part of the last long answer has not been fetched yet. */
  get pending(): boolean {
    return this.#rest.length > 0;
  }

  clear(): void {
    this.#rest = new Uint8Array(0);
  }

  /** The first chunk of a successful answer; what does not fit waits for GET RESPONSE. */
  start(data: Uint8Array): ResponseApdu {
    this.#rest = data;
    return this.next();
  }

  /** GET RESPONSE: the next chunk, 61XX while more remains, 9000 with the last (or with nothing). */
  next(): ResponseApdu {
    const chunk = this.#rest.subarray(0, SHORT_RESPONSE_DATA);
    this.#rest = this.#rest.subarray(chunk.length);
    if (this.#rest.length === 0) return { data: chunk, sw: SW.OK };
    return { data: chunk, sw: this.#rest.length > 0xff ? 0x6100 : 0x6100 | this.#rest.length };
  }
}

/**
 * The reader's end: sends `command` and, while the answer says 61XX, GET
 * RESPONSE for the rest; returns the whole data with the last status word.
 */
export async function exchangeChained(
  exchange: (command: CommandApdu) => Promise<ResponseApdu>,
  command: CommandApdu,
): Promise<ResponseApdu> {
  const parts: Uint8Array[] = [];
  let next = command;
  for (let i = 0; i < MAX_CHAINED_RESPONSES; i++) {
    const response = await exchange(next);
    parts.push(response.data);
    if (!moreDataWaits(response.sw)) return { data: concatBytes(...parts), sw: response.sw };
    next = getResponseCommand(response.sw & 0xff);
  }
  throw new ResponseChainingError("response chaining did not end");
}
