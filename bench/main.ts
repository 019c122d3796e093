// `npm run bench`: every figure beside the floor it should be read against.
// `npm run bench -- transactions` (or lambda-bundles, service) runs one part.
import "../src/cli/quiet-service-logs.js";
import "reflect-metadata";
import { benchLambdaBundles } from "./lambda-bundles.js";
import { benchService } from "./service.js";
import { benchTransactions } from "./transactions.js";

const parts: Record<string, () => Promise<void>> = {
  transactions: benchTransactions,
  service: benchService,
  "lambda-bundles": benchLambdaBundles,
};
const wanted = process.argv.slice(2);
console.log(`Car Keys bench — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(parts)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
