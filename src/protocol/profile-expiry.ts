// When a key's access profile has run out (docs/protocol.md §7: valid until
// is exclusive, in Unix seconds). The car decides by its own clock alone, so
// a time-boxed key stops at its end with no network; the secure element
// deletes its copy by the same rule.
import type { AccessProfile } from "./access-profile.js";

/** True once `nowMs` is at or past the profile's end. */
export function hasExpired(profile: AccessProfile, nowMs: number): boolean {
  return profile.validUntil !== undefined && nowMs >= profile.validUntil * 1000;
}

/** The profile's end as an ISO instant, or null when it has none. */
export function expiresAt(profile: AccessProfile): string | null {
  return profile.validUntil === undefined ? null : new Date(profile.validUntil * 1000).toISOString();
}
