// The local server for `npm run bench -- load`, in its own process so the load
// generator does not share its event loop: DynamoDB Local in memory, a fresh
// data folder, loopback only. It prints one JSON line (url, keys folder, OEM
// token) for the parent, which is the only reader of this pipe, and stops
// when its stdin closes. The relay's rate limits are opened wide here: the
// load test measures the relay's work, not its refusals of one client address.
import "../src/cli/quiet-service-logs.js";
import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalDeployment } from "../src/adapters/local-server/local-deployment.js";

const dataDir = await mkdtemp(join(tmpdir(), "carkeys-load-"));
// Every client of this run shares one address (loopback), so its bucket is opened wide: a second
// per request with a burst of a billion. The bucket's arrival time then runs ahead of the clock
// from the first request on and never reaches its limit, so each take is the same "busy" update
// whose condition concurrent takes cannot break (docs/relay.md "Rate limits"). With a millisecond
// per request it would fall back to "now" between requests, and concurrent requests reading it
// idle would keep finding it moved and read again.
const open = { burst: 1_000_000_000, intervalMs: 1000 };
const stack = await startLocalDeployment({
  port: 0,
  inMemory: true,
  dataDir,
  relayRateLimits: { perAddress: open, perClaim: open },
});
process.stdout.write(
  `${JSON.stringify({ url: stack.url, keysDir: stack.keysDir, oemToken: stack.oemToken })}\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
