// Rate limits of the relay, which the TIGRESS draft leaves out
// (draft-vinokurov-tigress-http-00; docs/relay.md "Limits the draft leaves out"):
// one bucket per client address and one per device claim, each a token
// bucket stated as the generic cell rate algorithm (GCRA: one "theoretical
// arrival time" per bucket). A request reads its buckets together with
// what it is about (relay-store.ts readForRequest), decides here on what it
// read, and takes its tokens in the one conditional write it makes anyway,
// so the limit holds across Lambda containers at no extra round trip: the
// write's condition is the decision (TokenTake), so when another request
// moved a bucket in between, nothing is written and the request reads and
// decides again. A spent bucket answers 429 with Retry-After. Every request costs a token from its address's bucket,
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
import type { RatePolicy, TokenTake } from "./relay-store.js";

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

/** The decision on one bucket as read: the token to take, or how long until there is one. */
export function tokenTake(
  bucket: string,
  tat: number | undefined,
  nowMs: number,
  policy: RatePolicy,
):
  | { readonly allowed: true; readonly take: TokenTake }
  | { readonly allowed: false; readonly retryAfterMs: number } {
  const outcome = gcra(tat, nowMs, policy);
  if (!outcome.allowed) return outcome;
  return {
    allowed: true,
    take: {
      bucket,
      idle: tat === undefined || tat <= nowMs,
      nowMs,
      intervalMs: policy.intervalMs,
      limitMs: nowMs + (policy.burst - 1) * policy.intervalMs,
    },
  };
}

/**
 * What a request's buckets allow, decided on them as read: the tokens its
 * write takes, and a refusal when a bucket is spent. The address comes
 * first: when its bucket is spent nothing is taken; when only the claim's
 * is, the address token is still taken (every request costs one).
 */
export interface Admission {
  readonly takes: readonly TokenTake[];
  readonly refusal?: RateLimitedError;
}

export class RateLimiter {
  constructor(private readonly limits: RateLimits = DEFAULT_RATE_LIMITS) {}

  /** The bucket keys a request reads: its address's, and its claim's when it sent a valid one. */
  buckets(address: string, claimDigest?: string): string[] {
    return claimDigest === undefined
      ? [addressBucket(address)]
      : [addressBucket(address), claimBucket(claimDigest)];
  }

  /** Decides on the arrival times as read (`tats`, keyed as `buckets` names them). */
  admit(
    tats: ReadonlyMap<string, number | undefined>,
    address: string,
    claimDigest: string | undefined,
    now: Date,
  ): Admission {
    const nowMs = now.getTime();
    const addressKey = addressBucket(address);
    const byAddress = tokenTake(addressKey, tats.get(addressKey), nowMs, this.limits.perAddress);
    if (!byAddress.allowed) {
      return { takes: [], refusal: refusal(byAddress.retryAfterMs, "too many requests from this network") };
    }
    if (claimDigest === undefined) return { takes: [byAddress.take] };
    const claimKey = claimBucket(claimDigest);
    const byClaim = tokenTake(claimKey, tats.get(claimKey), nowMs, this.limits.perClaim);
    if (!byClaim.allowed) {
      return {
        takes: [byAddress.take],
        refusal: refusal(byClaim.retryAfterMs, "too many requests with this Mailbox-Device-Claim"),
      };
    }
    return { takes: [byAddress.take, byClaim.take] };
  }
}

/**
 * After this many reads whose write found a bucket moved, the request gives
 * up with 429: heavy contention on one bucket is itself a reason to slow down.
 */
export const TAKE_ATTEMPTS = 3;

/** The 429 for a request that lost the race for its buckets `TAKE_ATTEMPTS` times. */
export function contended(takes: readonly TokenTake[]): RateLimitedError {
  const intervalMs = Math.max(1000, ...takes.map((t) => t.intervalMs));
  return refusal(intervalMs, "too many requests at once on this rate limit");
}

function refusal(retryAfterMs: number, what: string): RateLimitedError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new RateLimitedError(`${what}: retry in ${seconds} s`, seconds);
}
