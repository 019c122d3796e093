// The car's own key list, as the dashboard shows it: every key it trusts with
// its role, profile, limits, validity and last use. It is read from the car's
// state and printed locally (`carkey emulator vehicle keys`); nothing here is
// ever sent to the automaker's cloud, which learns of keys only from the
// devices that register them.
import type { AccessProfile } from "../../protocol/access-profile.js";
import { expiresAt } from "../../protocol/profile-expiry.js";
import type { EnrolledEndpoint } from "./vehicle-state.js";

export interface VehicleKeyEntry {
  keyId: string;
  role: EnrolledEndpoint["role"];
  /** `shared`: enrolled from an owner's key attestation (counts against the friend slots). */
  origin: "paired" | "shared" | "owner-device" | "workshop";
  profile: AccessProfile["kind"];
  /** Whatever the profile limits beside its kind and validity (e.g. speedLimitKmh). */
  limits: Record<string, unknown>;
  validFrom: string | null;
  expiresAt: string | null;
  enrolledAt: string;
  lastUsedAt: string | null;
  suspended: boolean;
}

export function keyListEntry(endpoint: EnrolledEndpoint, paired: boolean): VehicleKeyEntry {
  const { kind, validFrom, validUntil: _validUntil, ...limits } = endpoint.profile;
  return {
    keyId: endpoint.keyId,
    role: endpoint.role,
    origin: endpoint.ownerDeviceOf
      ? "owner-device"
      : endpoint.attestedBy
        ? "shared"
        : paired
          ? "paired"
          : "workshop",
    profile: kind,
    limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    validFrom: validFrom === undefined ? null : new Date(validFrom * 1000).toISOString(),
    expiresAt: expiresAt(endpoint.profile),
    enrolledAt: endpoint.enrolledAt,
    lastUsedAt: endpoint.lastUsedAt ?? null,
    suspended: endpoint.suspended === true,
  };
}
