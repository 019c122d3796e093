// The refusals the routes share, by kind of caller, so each route set lists
// them once (route-contract.ts adds authentication, payload-too-large and
// internal where they apply).
import type { ProblemKind } from "../problems.js";

/** A device-signed write: bad input, a bad or replayed signature, untrusted evidence, state, a root not there yet. */
export const DEVICE_WRITE_PROBLEMS = [
  "validation",
  "authentication",
  "replay",
  "forbidden",
  "not-found",
  "conflict",
  "unsupported-media-type",
  "unavailable",
  "storage-unavailable",
] as const satisfies readonly ProblemKind[];

/** An OEM-authorized write. */
export const OEM_WRITE_PROBLEMS = [
  "validation",
  "not-found",
  "conflict",
  "unsupported-media-type",
  "storage-unavailable",
] as const satisfies readonly ProblemKind[];

/** An OEM-authorized read by identifier. */
export const OEM_READ_PROBLEMS = [
  "validation",
  "not-found",
  "storage-unavailable",
] as const satisfies readonly ProblemKind[];
