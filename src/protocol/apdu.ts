// ISO/IEC 7816-4 command and response APDUs (§5.1): cases 1–4, short and
// extended length. Every command is accepted with or without a trailing Le, as
// docs/transaction.md requires. Parsing is total: malformed bytes end in an ApduError.
import { concatBytes, toHex } from "./bytes.js";
import { ApduError, ProtocolInputError } from "./errors.js";

export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Expected response length; undefined when absent (0 means "up to 256"/"up to 65536"). */
  readonly le?: number | undefined;
}

export interface ResponseApdu {
  readonly data: Uint8Array;
  readonly sw: number;
}

/** Largest data field an extended APDU can carry. */
export const MAX_APDU_DATA = 0xffff;

function checkByte(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff)
    throw new ProtocolInputError(`${name} must be a byte`);
}

export function encodeCommand(command: CommandApdu): Uint8Array {
  checkByte(command.cla, "cla");
  checkByte(command.ins, "ins");
  checkByte(command.p1, "p1");
  checkByte(command.p2, "p2");
  const { data, le } = command;
  if (data.length > MAX_APDU_DATA)
    throw new ProtocolInputError(`data of ${data.length} bytes exceeds ${MAX_APDU_DATA}`);
  const header = Uint8Array.of(command.cla, command.ins, command.p1, command.p2);
  const extended = data.length > 0xff || (le !== undefined && le > 0x100);
  if (le !== undefined && (!Number.isInteger(le) || le < 0 || le > 0x10000)) {
    throw new ProtocolInputError("le out of range");
  }
  if (!extended) {
    const lc = data.length > 0 ? concatBytes(Uint8Array.of(data.length), data) : new Uint8Array(0);
    const leBytes = le === undefined ? new Uint8Array(0) : Uint8Array.of(le & 0xff);
    return concatBytes(header, lc, leBytes);
  }
  // Extended: a 00 marker, then two-byte Lc (if data) and two-byte Le (if expected); the
  // marker appears once, before whichever field comes first.
  const lc =
    data.length > 0 ? concatBytes(Uint8Array.of(0, data.length >> 8, data.length & 0xff), data) : undefined;
  const leField = le === undefined ? undefined : Uint8Array.of((le >> 8) & 0xff, le & 0xff);
  if (lc === undefined) return concatBytes(header, Uint8Array.of(0), leField ?? new Uint8Array(0));
  return concatBytes(header, lc, leField ?? new Uint8Array(0));
}

export function parseCommand(bytes: Uint8Array): CommandApdu {
  if (bytes.length < 4)
    throw new ApduError(`command APDU of ${bytes.length} bytes is shorter than its 4-byte header`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const body = bytes.subarray(4);
  const empty = new Uint8Array(0);
  if (body.length === 0) return { cla, ins, p1, p2, data: empty };
  if (body.length === 1) return { cla, ins, p1, p2, data: empty, le: body[0]! };
  if (body[0] !== 0) {
    const lc = body[0]!;
    if (body.length === 1 + lc) return { cla, ins, p1, p2, data: body.subarray(1) };
    if (body.length === 2 + lc)
      return { cla, ins, p1, p2, data: body.subarray(1, 1 + lc), le: body[1 + lc]! };
    throw new ApduError(`Lc ${lc} disagrees with the ${body.length - 1} bytes that follow it`);
  }
  // Extended length: 00 then two bytes.
  if (body.length === 3) return { cla, ins, p1, p2, data: empty, le: (body[1]! << 8) | body[2]! };
  if (body.length < 3) throw new ApduError("truncated extended length");
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw new ApduError("extended Lc of zero");
  if (body.length === 3 + lc) return { cla, ins, p1, p2, data: body.subarray(3) };
  if (body.length === 5 + lc) {
    return { cla, ins, p1, p2, data: body.subarray(3, 3 + lc), le: (body[3 + lc]! << 8) | body[4 + lc]! };
  }
  throw new ApduError(`extended Lc ${lc} disagrees with the ${body.length - 3} bytes that follow it`);
}

export function encodeResponse(response: ResponseApdu): Uint8Array {
  if (!Number.isInteger(response.sw) || response.sw < 0 || response.sw > 0xffff) {
    throw new ProtocolInputError("sw must be two bytes");
  }
  return concatBytes(response.data, Uint8Array.of(response.sw >> 8, response.sw & 0xff));
}

export function parseResponse(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) throw new ApduError(`response APDU of ${bytes.length} bytes has no status word`);
  return {
    data: bytes.subarray(0, bytes.length - 2),
    sw: (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]!,
  };
}

export function swHex(sw: number): string {
  return toHex(Uint8Array.of(sw >> 8, sw & 0xff)).toUpperCase();
}
