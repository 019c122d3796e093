#!/usr/bin/env node
// Entry point for `npx carkey`: loads the TypeScript CLI through tsx's ESM loader,
// so the CLI runs from source with no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
