#!/usr/bin/env node
// Entry point for `carkey`. In an installed package it runs the compiled CLI
// (dist/, `npm run build`); in a checkout, where the TypeScript sources are
// beside it, it runs those through tsx's loader, so a change to src/ is live
// without a build and never meets a stale dist/.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources.href);
} else {
  await import("../dist/src/cli/main.js");
}
