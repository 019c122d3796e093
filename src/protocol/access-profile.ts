// Access profiles: what a key may do (full, unlock-only, drive with a speed
// limit), when (validity window), whether it may share further (its sharing
// role) and the driving limits the car applies (power, audio volume,
// stability control). The vehicle enforces them; key attestations carry them
// in the TLV form below (docs/protocol.md "Access profile"), so the car never
// relies on what a device says about itself.
import { TlvMap, tlv } from "./ber-tlv.js";
import { concatBytes, readUint, u16, uintBytes } from "./bytes.js";
import { ProtocolInputError, TlvError } from "./errors.js";

export const PROFILE_KINDS = ["full", "unlock-only", "drive"] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

/**
 * What a shared key may do beyond opening and driving: a guest may not share; a co-owner may share
 * further, within its own profile; a service key (a valet, a workshop) may not share and must expire.
 * The owner's own key is not shared and carries no role.
 */
export const SHARING_ROLES = ["guest", "co-owner", "service"] as const;
export type SharingRole = (typeof SHARING_ROLES)[number];

export interface AccessProfile {
  readonly kind: ProfileKind;
  /** Only for "drive": the speed the car limits itself to, km/h. */
  readonly speedLimitKmh?: number | undefined;
  /** Unix seconds; absent means no bound. */
  readonly validFrom?: number | undefined;
  readonly validUntil?: number | undefined;
  /** Absent means guest: what every profile meant before roles existed. */
  readonly role?: SharingRole | undefined;
  /** Acceleration and engine power, percent of full (10–100); absent means unrestricted. */
  readonly powerLimitPercent?: number | undefined;
  /** Highest audio volume, percent of full (0–100); absent means unrestricted. */
  readonly audioVolumeLimitPercent?: number | undefined;
  /** True: the driver may not switch stability control (ESC) off; absent or false: the car's default. */
  readonly stabilityControlLocked?: boolean | undefined;
}

const KIND_CODES: Record<ProfileKind, number> = { full: 0x01, "unlock-only": 0x02, drive: 0x03 };
const ROLE_CODES: Record<SharingRole, number> = { guest: 0x01, "co-owner": 0x02, service: 0x03 };

export const TAG_PROFILE = 0x7f40;
const TAG_KIND = 0x80;
const TAG_SPEED = 0x81;
const TAG_FROM = 0x82;
const TAG_UNTIL = 0x83;
const TAG_ROLE = 0x84;
const TAG_POWER = 0x85;
const TAG_VOLUME = 0x86;
const TAG_STABILITY = 0x87;

export const MIN_POWER_LIMIT_PERCENT = 10;

/**
 * How many attestations a chain from the owner to a shared key may hold: 1 for a key the owner
 * shared, 2 for a key a co-owner shared (owner → co-owner → friend). The car refuses anything
 * deeper, and so does the service: a co-owner a co-owner made opens the car but shares nothing.
 */
export const MAX_SHARE_DEPTH = 2;

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
  if (p.role !== undefined && !SHARING_ROLES.includes(p.role)) {
    throw new ProtocolInputError(`role must be one of ${SHARING_ROLES.join(", ")}`);
  }
  if (p.role === "service") {
    // A valet or workshop key: opens and drives within limits, and ends by itself.
    if (p.kind === "full") throw new ProtocolInputError("a service key is unlock-only or drive, never full");
    if (p.validUntil === undefined) throw new ProtocolInputError("a service key must expire (validUntil)");
  }
  const percent = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > 100)) {
      throw new ProtocolInputError(`${name} must be an integer percentage from ${min} to 100`);
    }
  };
  percent("powerLimitPercent", p.powerLimitPercent, MIN_POWER_LIMIT_PERCENT);
  percent("audioVolumeLimitPercent", p.audioVolumeLimitPercent, 0);
  if (p.stabilityControlLocked !== undefined && typeof p.stabilityControlLocked !== "boolean") {
    throw new ProtocolInputError("stabilityControlLocked must be true or false");
  }
  if (
    p.kind === "unlock-only" &&
    (p.powerLimitPercent !== undefined || p.stabilityControlLocked || p.audioVolumeLimitPercent !== undefined)
  ) {
    throw new ProtocolInputError("an unlock-only profile has no driving limits");
  }
  return p;
}

/** The profile in its canonical form: defaults (guest, no stability lock) left out, as the encoding does. */
export function canonicalProfile(p: AccessProfile): AccessProfile {
  const checked = checkAccessProfile(p);
  return {
    kind: checked.kind,
    ...(checked.speedLimitKmh !== undefined ? { speedLimitKmh: checked.speedLimitKmh } : {}),
    ...(checked.validFrom !== undefined ? { validFrom: checked.validFrom } : {}),
    ...(checked.validUntil !== undefined ? { validUntil: checked.validUntil } : {}),
    ...(checked.role !== undefined && checked.role !== "guest" ? { role: checked.role } : {}),
    ...(checked.powerLimitPercent !== undefined ? { powerLimitPercent: checked.powerLimitPercent } : {}),
    ...(checked.audioVolumeLimitPercent !== undefined
      ? { audioVolumeLimitPercent: checked.audioVolumeLimitPercent }
      : {}),
    ...(checked.stabilityControlLocked ? { stabilityControlLocked: true } : {}),
  };
}

/** The key's sharing role (guest when the profile names none). */
export function sharingRole(p: AccessProfile): SharingRole {
  return p.role ?? "guest";
}

const KIND_RANK: Record<ProfileKind, number> = { "unlock-only": 0, drive: 1, full: 2 };

/**
 * Why `child` grants more than `parent`, or undefined when it stays within it: what a co-owner
 * shares must be no more than it holds itself, field by field (docs/protocol.md "Access profile").
 */
export function profileBeyond(child: AccessProfile, parent: AccessProfile): string | undefined {
  if (KIND_RANK[child.kind] > KIND_RANK[parent.kind]) return `kind ${child.kind} exceeds ${parent.kind}`;
  if (parent.kind === "drive" && child.kind === "drive" && child.speedLimitKmh! > parent.speedLimitKmh!) {
    return `speed limit ${child.speedLimitKmh} km/h exceeds ${parent.speedLimitKmh} km/h`;
  }
  if (parent.validFrom !== undefined && (child.validFrom ?? -1) < parent.validFrom) {
    return "valid from is earlier than the sharer's";
  }
  if (parent.validUntil !== undefined && (child.validUntil ?? Number.POSITIVE_INFINITY) > parent.validUntil) {
    return "valid until is later than the sharer's";
  }
  const driving = child.kind !== "unlock-only";
  if (
    driving &&
    parent.powerLimitPercent !== undefined &&
    (child.powerLimitPercent ?? 101) > parent.powerLimitPercent
  ) {
    return `power limit ${child.powerLimitPercent ?? "none"} exceeds ${parent.powerLimitPercent}%`;
  }
  if (
    driving &&
    parent.audioVolumeLimitPercent !== undefined &&
    (child.audioVolumeLimitPercent ?? 101) > parent.audioVolumeLimitPercent
  ) {
    return `audio volume limit ${child.audioVolumeLimitPercent ?? "none"} exceeds ${parent.audioVolumeLimitPercent}%`;
  }
  if (driving && parent.stabilityControlLocked && !child.stabilityControlLocked) {
    return "stability control must stay locked";
  }
  return undefined;
}

/** The driving limits a started car applies, as the tap result reports them; undefined when none. */
export function drivingLimits(p: AccessProfile): DrivingLimits | undefined {
  const limits: DrivingLimits = {
    ...(p.speedLimitKmh !== undefined ? { speedLimitKmh: p.speedLimitKmh } : {}),
    ...(p.powerLimitPercent !== undefined ? { powerLimitPercent: p.powerLimitPercent } : {}),
    ...(p.audioVolumeLimitPercent !== undefined
      ? { audioVolumeLimitPercent: p.audioVolumeLimitPercent }
      : {}),
    ...(p.stabilityControlLocked ? { stabilityControlLocked: true } : {}),
  };
  return Object.keys(limits).length > 0 ? limits : undefined;
}

export interface DrivingLimits {
  readonly speedLimitKmh?: number;
  readonly powerLimitPercent?: number;
  readonly audioVolumeLimitPercent?: number;
  readonly stabilityControlLocked?: true;
}

/** The limits in words, for a decision's reason: "speed limited to 80 km/h, power limited to 60%". */
export function describeLimits(limits: DrivingLimits): string {
  return [
    limits.speedLimitKmh !== undefined ? `speed limited to ${limits.speedLimitKmh} km/h` : "",
    limits.powerLimitPercent !== undefined ? `power limited to ${limits.powerLimitPercent}%` : "",
    limits.audioVolumeLimitPercent !== undefined
      ? `audio volume limited to ${limits.audioVolumeLimitPercent}%`
      : "",
    limits.stabilityControlLocked ? "stability control locked on" : "",
  ]
    .filter(Boolean)
    .join(", ");
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
      // Defaults are left out, so a profile without the newer fields encodes as it always did.
      p.role !== undefined && p.role !== "guest"
        ? tlv(TAG_ROLE, Uint8Array.of(ROLE_CODES[p.role]))
        : new Uint8Array(0),
      p.powerLimitPercent !== undefined
        ? tlv(TAG_POWER, Uint8Array.of(p.powerLimitPercent))
        : new Uint8Array(0),
      p.audioVolumeLimitPercent !== undefined
        ? tlv(TAG_VOLUME, Uint8Array.of(p.audioVolumeLimitPercent))
        : new Uint8Array(0),
      p.stabilityControlLocked ? tlv(TAG_STABILITY, Uint8Array.of(0x01)) : new Uint8Array(0),
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
  const roleCode = m.optional(TAG_ROLE) ? m.require(TAG_ROLE, "role", 1)[0]! : undefined;
  const role = roleCode === undefined ? undefined : SHARING_ROLES.find((r) => ROLE_CODES[r] === roleCode);
  if (roleCode !== undefined && !role) throw new TlvError(`unknown sharing role ${roleCode}`);
  const stability = m.optional(TAG_STABILITY)
    ? m.require(TAG_STABILITY, "stability control", 1)[0]!
    : undefined;
  if (stability !== undefined && stability !== 0x01) {
    throw new TlvError("stability control lock must be 01 when present");
  }
  const profile: AccessProfile = {
    kind,
    speedLimitKmh: speed ? readUint(m.require(TAG_SPEED, "speed limit", 2)) : undefined,
    validFrom: from ? readUint(m.require(TAG_FROM, "valid from", 8)) : undefined,
    validUntil: until ? readUint(m.require(TAG_UNTIL, "valid until", 8)) : undefined,
    // Absent fields are left out rather than undefined, so parsed profiles compare equal to canonical ones.
    ...(role !== undefined && role !== "guest" ? { role } : {}),
    ...(m.optional(TAG_POWER) ? { powerLimitPercent: m.require(TAG_POWER, "power limit", 1)[0]! } : {}),
    ...(m.optional(TAG_VOLUME)
      ? { audioVolumeLimitPercent: m.require(TAG_VOLUME, "audio volume limit", 1)[0]! }
      : {}),
    ...(stability ? { stabilityControlLocked: true } : {}),
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
  /** The sharing role (guest, co-owner, service); `role` is left to callers that name owner or friend. */
  shareRole?: string | undefined;
  powerLimit?: string | number | undefined;
  volumeLimit?: string | number | undefined;
  stabilityControlLocked?: boolean | undefined;
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
    ...(options.shareRole !== undefined && options.shareRole !== "guest"
      ? { role: options.shareRole as SharingRole }
      : {}),
    ...(options.powerLimit !== undefined ? { powerLimitPercent: Number(options.powerLimit) } : {}),
    ...(options.volumeLimit !== undefined ? { audioVolumeLimitPercent: Number(options.volumeLimit) } : {}),
    ...(options.stabilityControlLocked ? { stabilityControlLocked: true } : {}),
  });
}
