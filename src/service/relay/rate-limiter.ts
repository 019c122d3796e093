// Rate limits of the relay, which the TIGRESS draft leaves out
// (draft-vinokurov-tigress-http-00; docs/relay.md "Limits the draft leaves out"):
// one bucket per client address and one per device claim, each a token
// bucket stated as the generic cell rate algorithm (GCRA: one "theoretical
// arrival time" per bucket, so one conditional write takes a token
// atomically across Lambda containers). A spent bucket answers 429 with
// Retry-After. Every request costs a token from its address's bucket,
// refused ones included, which is what makes guessing claims or mailbox ids
// slow; claim-bearing requests also cost one from the claim's bucket.
//
// The address is kept only as a bucket key: SHA-256 of a fixed label and
// the address (IPv6 cut to its /64, which one subscriber usually holds),
// truncated to 128 bits, in an item that holds nothing else and disappears
// (TTL) once its bucket is full again, minutes later. It is pseudonymous,
// not anonymous: IPv4 is small enough to hash exhaustively, so such items
// must not live longer than a bucket needs, and they never name a mailbox.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { RateLimitedError } from "./relay-errors.js";
import type { RatePolicy, RelayStore, TokenOutcome } from "./relay-store.js";

export interface RateLimits {
  /** Per client address. Mobile carriers put many phones behind one address (CGNAT), hence generous. */
  readonly perAddress: RatePolicy;
  /** Per device claim: polling every second or two is fine, hammering is not. */
  readonly perClaim: RatePolicy;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  perAddress: { burst: 300, intervalMs: 200 },
  perClaim: { burst: 60, intervalMs: 1000 },
};

/** GCRA on a stored arrival time (epoch ms; undefined for a new bucket): the next one, or how long to wait. */
export function gcra(
  tat: number | undefined,
  nowMs: number,
  policy: RatePolicy,
):
  | { readonly allowed: true; readonly tat: number }
  | { readonly allowed: false; readonly retryAfterMs: number } {
  const limit = nowMs + (policy.burst - 1) * policy.intervalMs;
  if (tat === undefined || tat <= nowMs) return { allowed: true, tat: nowMs + policy.intervalMs };
  if (tat <= limit) return { allowed: true, tat: tat + policy.intervalMs };
  return { allowed: false, retryAfterMs: tat - limit };
}

/** The bucket key of a client address: never the address itself. */
export function addressBucket(address: string): string {
  let key = address.trim().toLowerCase();
  if (key.startsWith("::ffff:") && isIPv4(key.slice(7))) key = key.slice(7);
  else if (isIPv6(key)) key = ipv6Prefix64(key);
  const digest = createHash("sha256").update(`carkeys-relay-rate\u0000${key}`, "utf8").digest("hex");
  return `addr:${digest.slice(0, 32)}`;
}

export function claimBucket(claimDigest: string): string {
  return `claim:${claimDigest}`;
}

/** The first four groups of an IPv6 address, expanded. */
function ipv6Prefix64(address: string): string {
  const [head = "", tail = ""] = address.split("%")[0]!.split("::") as [string?, string?];
  const left = head === "" ? [] : head.split(":");
  const right = address.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array(Math.max(0, missing)).fill("0"), ...right];
  return groups
    .slice(0, 4)
    .map((g) => g.padStart(4, "0"))
    .join(":");
}

export class RateLimiter {
  constructor(
    private readonly store: RelayStore,
    private readonly limits: RateLimits = DEFAULT_RATE_LIMITS,
  ) {}

  /** Takes a token from the address's bucket; RateLimitedError when spent. */
  async admitAddress(address: string, now: Date): Promise<void> {
    refuseIfSpent(
      await this.store.takeToken(addressBucket(address), this.limits.perAddress, now),
      "too many requests from this network",
    );
  }

  /** Takes a token from the claim's bucket; RateLimitedError when spent. */
  async admitClaim(claimDigest: string, now: Date): Promise<void> {
    refuseIfSpent(
      await this.store.takeToken(claimBucket(claimDigest), this.limits.perClaim, now),
      "too many requests with this Mailbox-Device-Claim",
    );
  }
}

function refuseIfSpent(outcome: TokenOutcome, what: string): void {
  if (outcome.allowed) return;
  const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
  throw new RateLimitedError(`${what}: retry in ${seconds} s`, seconds);
}
