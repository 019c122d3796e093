// The local server for `npm run bench -- load`, in its own process so the load
// generator does not share its event loop: DynamoDB Local in memory, a fresh
// data folder, loopback only. It prints one JSON line (url, keys folder, OEM
// token) for the parent, which is the only reader of this pipe, and stops
// when its stdin closes. The relay's rate limits are opened wide
// (open-relay-limits.ts): every client of this run shares one address.
import "../src/cli/quiet-service-logs.js";
import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalDeployment } from "../src/adapters/local-server/local-deployment.js";
import { OPEN_RELAY_RATE_LIMITS } from "./open-relay-limits.js";

const dataDir = await mkdtemp(join(tmpdir(), "carkeys-load-"));
const stack = await startLocalDeployment({
  port: 0,
  inMemory: true,
  dataDir,
  relayRateLimits: OPEN_RELAY_RATE_LIMITS,
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
