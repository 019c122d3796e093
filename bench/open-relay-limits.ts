// The relay's rate limits opened wide, for the benches that drive the local
// server from one address (loopback): they measure the relay's work, not its
// refusals of one client address. Each request still takes its tokens (the same
// reads and conditional updates), so the relay does the work its floor counts.
//
// A second per request with a burst of a billion: the bucket's arrival time then
// runs ahead of the clock from the first request on and never reaches its limit,
// so each take is the same "busy" update whose condition concurrent takes cannot
// break (docs/relay.md "Rate limits"). With a millisecond per request it would
// fall back to "now" between requests, and concurrent requests reading it idle
// would keep finding it moved and read again.
import type { RateLimits } from "../src/service/relay/rate-limiter.js";

const open = { burst: 1_000_000_000, intervalMs: 1000 };

export const OPEN_RELAY_RATE_LIMITS: RateLimits = { perAddress: open, perClaim: open };
