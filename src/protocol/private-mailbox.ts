// Layout of a key's private mailbox (docs/protocol.md "Private mailbox"):
// `length(2) ‖ TLV*`, zero-filled after the content. The device's wallet
// writes it outside transactions; the vehicle reads it over secure messaging
// (EXCHANGE READ) and may clear entries it consumed. Two entries exist:
//   7F71  enrollment package of a shared key: key attestation ‖ endpoint
//         certificate ‖ instance CA certificate (each its own TLV inside),
//         and for a key a co-owner shared, the attestations from the owner
//         down to that co-owner (E3)
//   7F72  revocations the owner's device wants the car to apply

import { ACTIVATION_CODE_DIGITS, checkActivationCode } from "./activation-code.js";
import { parseTlvs, TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, readUint, u16, utf8 } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

export const TAG_ENROLLMENT = 0x7f71;
export const TAG_REVOCATIONS = 0x7f72;
const TAG_ATTESTATION = 0xe1;
const TAG_ENDPOINT_CERT = 0xdc;
const TAG_INSTANCE_CERT = 0xdd;
const TAG_REVOCATION = 0xe2;
/** The activation code the friend typed (ASCII digits), when the owner required one. */
const TAG_ACTIVATION_CODE = 0xde;
const TAG_UPSTREAM = 0xe3;

export interface EnrollmentPackage {
  readonly attestation: Uint8Array;
  readonly endpointCertificate: Uint8Array;
  readonly instanceCaCertificate: Uint8Array;
  /** The one-time code the owner passed on out of band (src/protocol/activation-code.ts). */
  readonly activationCode?: string | undefined;
  /**
   * Re-sharing: the attestations that made the signer of `attestation` a co-owner, the owner's
   * first. Empty or absent when the owner signed `attestation` itself.
   */
  readonly upstream?: readonly Uint8Array[] | undefined;
}

export interface PrivateMailboxContent {
  readonly enrollment?: EnrollmentPackage | undefined;
  readonly revocations: readonly Uint8Array[];
}

export function encodePrivateMailbox(content: PrivateMailboxContent, size: number): Uint8Array {
  const parts: Uint8Array[] = [];
  if (content.enrollment) {
    const e = content.enrollment;
    parts.push(
      tlv(
        TAG_ENROLLMENT,
        concatBytes(
          tlv(TAG_ATTESTATION, e.attestation),
          tlv(TAG_ENDPOINT_CERT, e.endpointCertificate),
          tlv(TAG_INSTANCE_CERT, e.instanceCaCertificate),
          e.activationCode !== undefined
            ? tlv(TAG_ACTIVATION_CODE, utf8(checkActivationCode(e.activationCode)))
            : new Uint8Array(0),
          e.upstream?.length
            ? tlv(TAG_UPSTREAM, concatBytes(...e.upstream.map((a) => tlv(TAG_ATTESTATION, a))))
            : new Uint8Array(0),
        ),
      ),
    );
  }
  if (content.revocations.length > 0) {
    parts.push(tlv(TAG_REVOCATIONS, concatBytes(...content.revocations.map((r) => tlv(TAG_REVOCATION, r)))));
  }
  const body = concatBytes(...parts);
  if (body.length + 2 > size)
    throw new ProtocolInputError(`private mailbox content of ${body.length} bytes does not fit`);
  const out = new Uint8Array(size);
  out.set(u16(body.length));
  out.set(body, 2);
  return out;
}

/** Bytes of content announced by the header (the vehicle reads this much after the first 2 bytes). */
export function privateMailboxContentLength(header: Uint8Array): number {
  if (header.length < 2) throw new TlvError("private mailbox header is 2 bytes");
  return readUint(header.subarray(0, 2));
}

export function parsePrivateMailbox(image: Uint8Array): PrivateMailboxContent {
  const length = privateMailboxContentLength(image);
  if (length + 2 > image.length) throw new TlvError("private mailbox content runs past its end");
  const m = new TlvMap(parseTlvs(image.subarray(2, 2 + length)), "private mailbox");
  const enrollmentValue = m.optional(TAG_ENROLLMENT);
  let enrollment: EnrollmentPackage | undefined;
  if (enrollmentValue) {
    const e = TlvMap.parse(enrollmentValue, "enrollment package");
    const upstreamValue = e.optional(TAG_UPSTREAM);
    const upstream = upstreamValue
      ? parseTlvs(upstreamValue).map((t) => {
          if (t.tag !== TAG_ATTESTATION) throw new TlvError("upstream attestations hold an unknown entry");
          if (t.value.length < 1 || t.value.length > 1024) throw new TlvError("upstream attestation length");
          return t.value;
        })
      : [];
    enrollment = {
      attestation: e.require(TAG_ATTESTATION, "key attestation", [1, 1024]),
      endpointCertificate: e.require(TAG_ENDPOINT_CERT, "endpoint certificate", [1, 4096]),
      instanceCaCertificate: e.require(TAG_INSTANCE_CERT, "instance CA certificate", [1, 4096]),
      ...(upstream.length ? { upstream } : {}),
    };
    const code = e.optional(TAG_ACTIVATION_CODE);
    if (code) {
      const text = new TextDecoder().decode(
        e.require(TAG_ACTIVATION_CODE, "activation code", ACTIVATION_CODE_DIGITS),
      );
      if (!/^[0-9]+$/.test(text)) throw new TlvError("activation code must be decimal digits");
      enrollment = { ...enrollment, activationCode: text };
    }
  }
  const revocationsValue = m.optional(TAG_REVOCATIONS);
  const revocations = revocationsValue
    ? parseTlvs(revocationsValue).map((t) => {
        if (t.tag !== TAG_REVOCATION) throw new TlvError("revocation list holds an unknown entry");
        return t.value;
      })
    : [];
  return { enrollment, revocations };
}
