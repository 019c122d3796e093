// Access profiles: what a key may do (full, unlock-only, drive with a speed
// limit) and when (validity window). The vehicle enforces them; key
// attestations carry them in the TLV form below (docs/protocol.md "Access
// profile"), so the car never relies on what a device says about itself.
import { TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, readUint, u16, uintBytes } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

export const PROFILE_KINDS = ["full", "unlock-only", "drive"] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

export interface AccessProfile {
  readonly kind: ProfileKind;
  /** Only for "drive": the speed the car limits itself to, km/h. */
  readonly speedLimitKmh?: number | undefined;
  /** Unix seconds; absent means no bound. */
  readonly validFrom?: number | undefined;
  readonly validUntil?: number | undefined;
}

const KIND_CODES: Record<ProfileKind, number> = { full: 0x01, "unlock-only": 0x02, drive: 0x03 };

export const TAG_PROFILE = 0x7f40;
const TAG_KIND = 0x80;
const TAG_SPEED = 0x81;
const TAG_FROM = 0x82;
const TAG_UNTIL = 0x83;

export function checkAccessProfile(p: AccessProfile): AccessProfile {
  if (!PROFILE_KINDS.includes(p.kind))
    throw new ProtocolInputError(`profile must be one of ${PROFILE_KINDS.join(", ")}`);
  if (p.kind === "drive") {
    if (
      p.speedLimitKmh === undefined ||
      !Number.isInteger(p.speedLimitKmh) ||
      p.speedLimitKmh < 5 ||
      p.speedLimitKmh > 400
    ) {
      throw new ProtocolInputError("a drive profile needs a speed limit of 5 to 400 km/h");
    }
  } else if (p.speedLimitKmh !== undefined) {
    throw new ProtocolInputError(`a ${p.kind} profile has no speed limit`);
  }
  for (const [name, value] of [
    ["validFrom", p.validFrom],
    ["validUntil", p.validUntil],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new ProtocolInputError(`${name} must be unix seconds`);
    }
  }
  if (p.validFrom !== undefined && p.validUntil !== undefined && p.validUntil <= p.validFrom) {
    throw new ProtocolInputError("validUntil must be after validFrom");
  }
  return p;
}

export function encodeAccessProfile(p: AccessProfile): Uint8Array {
  checkAccessProfile(p);
  return tlv(
    TAG_PROFILE,
    concatBytes(
      tlv(TAG_KIND, Uint8Array.of(KIND_CODES[p.kind])),
      p.speedLimitKmh !== undefined ? tlv(TAG_SPEED, u16(p.speedLimitKmh)) : new Uint8Array(0),
      p.validFrom !== undefined ? tlv(TAG_FROM, uintBytes(p.validFrom, 8)) : new Uint8Array(0),
      p.validUntil !== undefined ? tlv(TAG_UNTIL, uintBytes(p.validUntil, 8)) : new Uint8Array(0),
    ),
  );
}

/** Parses the value of a TAG_PROFILE TLV. */
export function parseAccessProfile(value: Uint8Array): AccessProfile {
  const m = TlvMap.parse(value, "access profile");
  const code = m.require(TAG_KIND, "profile kind", 1)[0]!;
  const kind = PROFILE_KINDS.find((k) => KIND_CODES[k] === code);
  if (!kind) throw new TlvError(`unknown profile kind ${code}`);
  const speed = m.optional(TAG_SPEED);
  const from = m.optional(TAG_FROM);
  const until = m.optional(TAG_UNTIL);
  const profile: AccessProfile = {
    kind,
    speedLimitKmh: speed ? readUint(m.require(TAG_SPEED, "speed limit", 2)) : undefined,
    validFrom: from ? readUint(m.require(TAG_FROM, "valid from", 8)) : undefined,
    validUntil: until ? readUint(m.require(TAG_UNTIL, "valid until", 8)) : undefined,
  };
  try {
    return checkAccessProfile(profile);
  } catch (error) {
    throw new TlvError(`access profile: ${(error as Error).message}`);
  }
}

/** Why a profile refuses an action at `nowSeconds`, or undefined when it allows it. */
export function profileRefusal(
  p: AccessProfile,
  action: "unlock" | "lock" | "start",
  nowSeconds: number,
): string | undefined {
  if (p.validFrom !== undefined && nowSeconds < p.validFrom) return "key not yet valid";
  if (p.validUntil !== undefined && nowSeconds >= p.validUntil) return "key expired";
  if (action === "start" && p.kind === "unlock-only") return "unlock-only key cannot start the engine";
  return undefined;
}

/** Parses the CLI/JSON form: a profile name with optional speed limit and ISO 8601 validity bounds. */
export function accessProfileFromOptions(options: {
  profile?: string | undefined;
  speedLimit?: string | number | undefined;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
}): AccessProfile {
  const kind = (options.profile ?? "full") as ProfileKind;
  const seconds = (iso: string | undefined, name: string): number | undefined => {
    if (iso === undefined) return undefined;
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) throw new ProtocolInputError(`${name} must be an ISO 8601 date-time`);
    return Math.floor(ms / 1000);
  };
  return checkAccessProfile({
    kind,
    speedLimitKmh: options.speedLimit === undefined ? undefined : Number(options.speedLimit),
    validFrom: seconds(options.validFrom, "valid-from"),
    validUntil: seconds(options.validUntil, "valid-until"),
  });
}
