// Protocol version negotiation (tag 5C): the device lists the versions it
// speaks in its SELECT answer, the vehicle names one of them in AUTH0. The
// vehicle picks the highest version both sides support, whatever order the
// device lists them in; the device accepts in AUTH0 every version it offered.
import { toHex } from "./bytes.js";

/** Splits a 5C value into its 2-byte versions (the codec has checked the even length). */
export function versionList(versions: Uint8Array): Uint8Array[] {
  const list: Uint8Array[] = [];
  for (let i = 0; i + 2 <= versions.length; i += 2) list.push(versions.slice(i, i + 2));
  return list;
}

export function offersVersion(versions: Uint8Array, version: Uint8Array): boolean {
  const wanted = toHex(version);
  return versionList(versions).some((v) => toHex(v) === wanted);
}

/** The highest version in both lists, or undefined when they share none. */
export function highestCommonVersion(offered: Uint8Array, supported: Uint8Array): Uint8Array | undefined {
  const value = (v: Uint8Array) => (v[0]! << 8) | v[1]!;
  return versionList(offered)
    .filter((v) => offersVersion(supported, v))
    .sort((a, b) => value(b) - value(a))[0];
}

/** `02000100` → `0200, 0100`, for log lines. */
export function describeVersions(versions: Uint8Array): string {
  return versionList(versions)
    .map((v) => toHex(v))
    .join(", ");
}
