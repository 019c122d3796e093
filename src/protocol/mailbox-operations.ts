// The operations carried inside EXCHANGE (the project's design, as the
// transaction leaves them open; byte layout in docs/protocol.md §2). The plaintext
// is `00 ‖ op*`, each op a TLV:
//   READ   TLV(54, mailbox(1) ‖ offset(2) ‖ length(2))  → TLV(54, data) in the answer
//   WRITE  TLV(55, mailbox(1) ‖ offset(2) ‖ data)       → nothing in the answer
// Mailboxes are flat byte areas per key, as in CCC: 01 private (vehicle and
// owner app data), 02 confidential (immobilizer tokens; only ever reachable
// through secure messaging).
import { parseTlvs, tlv } from "./ber-tlv.js";
import { concatBytes, readUint, u16 } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

export const Mailbox = { PRIVATE: 0x01, CONFIDENTIAL: 0x02 } as const;
export type MailboxId = (typeof Mailbox)[keyof typeof Mailbox];

export const MAILBOX_SIZE: Record<MailboxId, number> = {
  [Mailbox.PRIVATE]: 2048,
  [Mailbox.CONFIDENTIAL]: 128,
};

export const TAG_READ = 0x54;
export const TAG_WRITE = 0x55;

export type MailboxOperation =
  | { readonly kind: "read"; readonly mailbox: MailboxId; readonly offset: number; readonly length: number }
  | {
      readonly kind: "write";
      readonly mailbox: MailboxId;
      readonly offset: number;
      readonly data: Uint8Array;
    };

function checkMailbox(id: number): MailboxId {
  if (id !== Mailbox.PRIVATE && id !== Mailbox.CONFIDENTIAL) throw new TlvError(`unknown mailbox ${id}`);
  return id;
}

function checkRange(mailbox: MailboxId, offset: number, length: number): void {
  // Offsets and lengths travel as two-byte fields: anything but a non-negative integer would wrap.
  for (const [name, value] of [
    ["offset", offset],
    ["length", length],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new ProtocolInputError(`mailbox ${mailbox} ${name} must be a non-negative integer`);
    }
  }
  if (offset + length > MAILBOX_SIZE[mailbox]) {
    throw new ProtocolInputError(
      `mailbox ${mailbox} range ${offset}+${length} exceeds ${MAILBOX_SIZE[mailbox]} bytes`,
    );
  }
}

export function encodeMailboxOperations(ops: readonly MailboxOperation[]): Uint8Array {
  const parts = ops.map((op) => {
    const length = op.kind === "read" ? op.length : op.data.length;
    checkRange(op.mailbox, op.offset, length);
    return op.kind === "read"
      ? tlv(TAG_READ, concatBytes(Uint8Array.of(op.mailbox), u16(op.offset), u16(op.length)))
      : tlv(TAG_WRITE, concatBytes(Uint8Array.of(op.mailbox), u16(op.offset), op.data));
  });
  return concatBytes(Uint8Array.of(0x00), ...parts);
}

export function parseMailboxOperations(plaintext: Uint8Array): MailboxOperation[] {
  if (plaintext.length < 1 || plaintext[0] !== 0x00)
    throw new TlvError("EXCHANGE plaintext must start with 00");
  return parseTlvs(plaintext.subarray(1)).map(({ tag, value }) => {
    if (value.length < 3) throw new TlvError(`mailbox operation ${tag.toString(16)} shorter than 3 bytes`);
    const mailbox = checkMailbox(value[0]!);
    const offset = readUint(value.subarray(1, 3));
    if (tag === TAG_READ) {
      if (value.length !== 5) throw new TlvError("READ must be mailbox(1) ‖ offset(2) ‖ length(2)");
      const length = readUint(value.subarray(3, 5));
      checkRange(mailbox, offset, length);
      return { kind: "read", mailbox, offset, length } as const;
    }
    if (tag === TAG_WRITE) {
      const data = value.subarray(3);
      checkRange(mailbox, offset, data.length);
      return { kind: "write", mailbox, offset, data } as const;
    }
    throw new TlvError(`unknown mailbox operation tag ${tag.toString(16)}`);
  });
}

/** The answer to a list of operations: one TLV(54, data) per READ, in order. */
export function encodeReadResults(results: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...results.map((data) => tlv(TAG_READ, data)));
}

export function parseReadResults(plaintext: Uint8Array, expected: number): Uint8Array[] {
  const tlvs = parseTlvs(plaintext);
  if (tlvs.length !== expected || tlvs.some((t) => t.tag !== TAG_READ)) {
    throw new TlvError(`EXCHANGE answer must hold ${expected} READ results`);
  }
  return tlvs.map((t) => t.value);
}
