// `npm run bench`: every figure beside the floor it should be read against.
// `npm run bench -- transactions` (or lambda-bundles, service, cli-startup, load) runs one part;
// `--json` prints one JSON object per line instead of the tables.
import "../src/cli/quiet-service-logs.js";
import "reflect-metadata";
import { cpus, loadavg } from "node:os";
import { benchCliStartup } from "./cli-startup.js";
import { benchLambdaBundles } from "./lambda-bundles.js";
import { benchLoad } from "./load.js";
import { jsonOutput } from "./measure.js";
import { benchService } from "./service.js";
import { benchTransactions } from "./transactions.js";

const parts: Record<string, () => Promise<void>> = {
  transactions: benchTransactions,
  service: benchService,
  "lambda-bundles": benchLambdaBundles,
  "cli-startup": benchCliStartup,
  load: benchLoad,
};
/** Parts a bare `npm run bench` leaves out: the load test saturates the machine for minutes. */
const onRequestOnly = new Set(["load"]);
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const header = `Car Keys bench — node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? "CPU"}, load ${loadavg()
  .map((l) => l.toFixed(2))
  .join(" ")}, ${new Date().toISOString()}`;
if (jsonOutput) console.log(JSON.stringify({ name: "bench", header }));
else console.log(header);
for (const [name, run] of Object.entries(parts)) {
  if (wanted.length === 0 ? !onRequestOnly.has(name) : wanted.includes(name)) await run();
}
