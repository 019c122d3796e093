// `npm run bench`: every figure beside the floor it should be read against.
import "reflect-metadata";
import { benchTransactions } from "./transactions.js";

console.log(`Car Keys bench — node ${process.version}, ${new Date().toISOString()}`);
await benchTransactions();
