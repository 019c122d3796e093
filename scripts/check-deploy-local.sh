#!/usr/bin/env bash
# CI's test of what ships: deploys the synthesized stack to MiniStack (as
# `npm run deploy:local` does, on a free loopback port, in a temporary state
# directory) and runs the whole `carkey demo --url … --json` story against the
# emulated API Gateway, so the bundles, environment, IAM wiring, custom
# resource, table and keys are exercised together. Passes when every step of
# the story reports ok, then runs the deployed expiry-sweep function once with
# `carkey oem sweep-expired` (the Lambda Invoke API, SigV4) and passes when its
# report has failed == 0. The stack is synthesized to trust a second, emulated
# phone maker's Device OEM root (carkeys:trustedDeviceOemRoots), so
# share-cross-platform registers that maker's phone with the deployed service. MiniStack is stopped on every way out (success,
# failure, timeout, Ctrl-C), by its recorded pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

state="$(mktemp -d "${TMPDIR:-/tmp}/carkeys-deploy-check.XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

# Long steps run in the background and are waited for: bash runs a trap only
# between commands, and `wait` is one a signal interrupts.
child=""
bounded() {
  "$@" &
  child=$!
  wait "$child"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
  local pid=""
  [[ -f "$state/ministack.pid" ]] && pid="$(cat "$state/ministack.pid")"
  timeout 120 npx tsx scripts/deploy-local.ts --destroy --state-dir "$state" --port "$port" >&2 || true
  # Should the destroy itself have failed: MiniStack runs in its own process group.
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q ministack "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$state"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
bounded timeout 900 npx tsx scripts/deploy-local.ts --json --state-dir "$state" --port "$port" >"$state/result.json"
deployed=$SECONDS
url="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).url)' "$state/result.json")"
echo "deploy-check: deployed in $((deployed - started)) s; running the demo against $url"

demo_status=0
# MiniStack's credentials: the demo signs OEM requests with SigV4 as any AWS client would.
bounded env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-2 \
  timeout 300 node bin/carkey.js demo --url "$url" --data-dir "$state" --json >"$state/demo.jsonl" ||
  demo_status=$?
cat "$state/demo.jsonl"

# Every step the story has, each reported once and ok (a story cut short fails too).
npx tsx -e '
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { DEMO_STEPS } from "./src/cli/demo/demo-story.ts";
const lines = readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const ok = lines.filter((l) => l.ok === true).map((l) => l.step);
const missing = DEMO_STEPS.filter((s) => !ok.includes(s));
const passed = DEMO_STEPS.length - missing.length;
console.log(`deploy-check: ${passed} passed, ${missing.length} failed`);
if (missing.length > 0) {
  console.error(`deploy-check: steps not ok on MiniStack: ${missing.join(", ")}`);
  process.exit(1);
}
const cross = lines.find((l) => l.step === "share-cross-platform");
if (!/registered with the service/.test(cross?.detail ?? "")) {
  console.error("deploy-check: the key from the other phone maker was not registered with the deployed service");
  process.exit(1);
}
console.log("deploy-check: the deployed service registered a key from the configured second Device OEM");
' "$state/demo.jsonl"
if [[ $demo_status -ne 0 ]]; then
  echo "deploy-check: carkey demo exited $demo_status" >&2
  exit 1
fi
echo "deploy-check: the deployed stack ran the whole story in $((SECONDS - deployed)) s"

# The expiry sweep on demand, as an operator runs it: the function the stack's output names, invoked
# through MiniStack's Lambda Invoke API with SigV4 (no OEM token in the state directory).
fn="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).expirySweepFunction)' "$state/result.json")"
swept=$SECONDS
sweep_status=0
bounded env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL_LAMBDA AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=eu-west-2 timeout 360 node bin/carkey.js oem sweep-expired --function "$fn" \
  --endpoint "http://127.0.0.1:$port" --data-dir "$state" >"$state/sweep.json" || sweep_status=$?
echo "deploy-check: expiry sweep of $fn: $(tr -d '\n ' <"$state/sweep.json")"
if [[ $sweep_status -ne 0 ]]; then
  echo "deploy-check: carkey oem sweep-expired exited $sweep_status" >&2
  exit 1
fi
node -e '
const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (report.failed !== 0 || typeof report.complete !== "boolean") {
  console.error("deploy-check: the deployed expiry sweep did not report failed == 0");
  process.exit(1);
}
' "$state/sweep.json"
echo "deploy-check: the deployed expiry sweep ran on demand in $((SECONDS - swept)) s, failed 0"
