// How both applets answer: a response APDU from data and a status word, and
// the status word for an error that ended a command. Applets never throw to
// the reader: a protocol error (bad TLV, bad point, bad MAC, a signature that
// does not verify) ends the session with its status; anything else is a bug
// that still must not crash the card.
import { encodeResponse } from "../../protocol/apdu.js";
import { ProtocolError, SecureMessagingError, VerificationError } from "../../protocol/errors.js";
import { SW } from "../../protocol/status-words.js";

export function reply(sw: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeResponse({ data, sw });
}

export function statusForError(error: unknown): number {
  if (error instanceof SecureMessagingError) return SW.SM_DATA_INCORRECT;
  if (error instanceof VerificationError) return SW.VERIFICATION_FAILED;
  if (error instanceof ProtocolError) return SW.WRONG_DATA;
  return SW.UNKNOWN;
}
