// Bench of the Lambda bundles (docs/toolchain.md "Lambda bundles"): each functions/<name>.ts bundled by
// esbuild with the stack's own options (infra/lib/bundling-options.ts), its
// minified and gzipped size, and its module load time, the part of a cold
// start the code controls. Load time is the median of fresh `node
// --input-type=module` child processes that each import the bundle once,
// timed inside the child so Node's own start-up is left out, printed beside
// two floors: an empty ES module imported the same way, and a module that
// imports only the Node built-ins the bundle imports as it loads (node:crypto
// alone costs several empty modules; any code doing the function's work loads
// them). It is measured with and without --enable-source-maps, because the
// stack turns that on and it parses the source map at load.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import {
  BUNDLE_FILE,
  BUNDLE_NODE_TARGET,
  esbuildBuildOptions,
  LAMBDA_NODE_MAJOR,
  PROJECT_ROOT,
} from "../infra/lib/bundling-options.js";
import { functionNames } from "../src/api/routes.js";
import { emitRecord, formatMs, percentile, printTable } from "./measure.js";

export interface LambdaBundle {
  /** The bundle, `<outdir>/index.mjs`; its source map is beside it. */
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  /**
   * The Node built-in modules the bundle imports as it loads (its static
   * `import` statements, the banner's node:module included): what any code
   * doing the same work loads, so their load time is the floor below which
   * the bundle's own code cannot take its load.
   */
  readonly builtins: readonly string[];
}

/** The banner's import (bundling-options.ts): every bundle loads node:module first. */
const BANNER_BUILTINS = ["node:module"];

/** Bundles one handler exactly as the stack's NodejsFunction does (same options, same working directory). */
export async function bundleLambda(entry: string, outdir: string): Promise<LambdaBundle> {
  const result = await build({ ...esbuildBuildOptions(entry, outdir), metafile: true });
  const file = join(outdir, BUNDLE_FILE);
  const code = readFileSync(file);
  const output = Object.values(result.metafile.outputs).find(
    (candidate) => candidate.entryPoint !== undefined,
  );
  const loaded = (output?.imports ?? [])
    .filter((i) => i.external && i.kind === "import-statement" && i.path.startsWith("node:"))
    .map((i) => i.path);
  return {
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    mapBytes: statSync(`${file}.map`).size,
    builtins: [...new Set([...BANNER_BUILTINS, ...loaded])].sort(),
  };
}

/**
 * What the stack sets, with placeholder values, in case a handler reads its
 * configuration when it loads. The SE manufacturer key is the P-256 base
 * point, so it parses as a real point.
 */
const LAMBDA_LIKE_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: "eu-central-1",
  AWS_LAMBDA_FUNCTION_NAME: "carkeys-bench",
  TABLE_NAME: "carkeys-bench",
  DEVICE_OEM_SIGNER_URI:
    "awskms:arn:aws:kms:eu-central-1:111122223333:key/00000000-0000-0000-0000-000000000001",
  VEHICLE_OEM_SIGNER_URI:
    "awskms:arn:aws:kms:eu-central-1:111122223333:key/00000000-0000-0000-0000-000000000002",
  SE_MANUFACTURER_PUBLIC_KEY:
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
  LOG_LEVEL: "ERROR",
};

/**
 * Imports the module at BENCH_MODULE_URL once and prints how long that took,
 * in ms. Like the Lambda runtime, it has node:http loaded before the
 * function's module: the Node runtime interface client (npm package
 * aws-lambda-ric, src/RAPIDClient.js) requires it for its Runtime API client
 * before it imports the handler, so a function never pays for it. (On Node
 * 24 that import also loads undici, about 30 ms on this machine.) It is
 * loaded as the runtime loads it, through the CommonJS side
 * (getBuiltinModule), so the ES module loader, which the runtime first starts
 * for the handler's import, is still cold when the clock starts.
 */
const LOAD_PROBE =
  'process.getBuiltinModule("node:http"); const t = performance.now(); await import(process.env.BENCH_MODULE_URL); ' +
  'process.stdout.write("\\n" + String(performance.now() - t));';

export interface LoadTime {
  readonly medianMs: number;
  readonly p99Ms: number;
  /** Set when the module failed to load (it threw, or needs something the bench does not provide). */
  readonly error?: string;
}

/** The Lambda runtime's Node when it is installed, else the Node running the bench. */
export function lambdaLikeNode(): string {
  const lambdaNode = join(PROJECT_ROOT, ".tools", `node-${LAMBDA_NODE_MAJOR}`, "bin", "node");
  return existsSync(lambdaNode) ? lambdaNode : process.execPath;
}

/** Median time to import `file` in a fresh process of `node`, over `runs` processes (after one warm-up for the file cache). */
export function measureModuleLoad(
  file: string,
  runs: number,
  nodeFlags: readonly string[] = [],
  node: string = lambdaLikeNode(),
): LoadTime {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  const env = { ...inherited, ...LAMBDA_LIKE_ENV, BENCH_MODULE_URL: pathToFileURL(file).href };
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const child = spawnSync(node, [...nodeFlags, "--input-type=module", "-e", LOAD_PROBE], {
      env,
      encoding: "utf8",
      cwd: tmpdir(),
    });
    // The probe prints last, on its own line; a handler may log while it loads.
    const ms = Number(child.stdout.trim().split("\n").at(-1));
    if (child.status !== 0 || !Number.isFinite(ms)) {
      const reason =
        child.stderr
          .trim()
          .split("\n")
          .find((line) => /Error/.test(line)) ?? `exit ${child.status}`;
      return { medianMs: Number.NaN, p99Ms: Number.NaN, error: reason.slice(0, 160) };
    }
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { medianMs: percentile(times, 50), p99Ms: percentile(times, 99) };
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

export async function benchLambdaBundles(runs = 11): Promise<void> {
  const workdir = mkdtempSync(join(tmpdir(), "carkeys-bench-bundles-"));
  const nodeVersion = spawnSync(lambdaLikeNode(), ["--version"], { encoding: "utf8" }).stdout.trim();
  try {
    const empty = join(workdir, "empty.mjs");
    writeFileSync(empty, "export {};\n");
    const floor = measureModuleLoad(empty, runs);
    const floorWithMaps = measureModuleLoad(empty, runs, ["--enable-source-maps"]);
    mkdirSync(join(workdir, "bare-dynamodb-function"));
    const bareSdk = await bundleLambda(
      join(PROJECT_ROOT, "bench", "fixtures", "bare-dynamodb-function.ts"),
      join(workdir, "bare-dynamodb-function"),
    );
    const sdkFloor = measureModuleLoad(bareSdk.file, runs);
    const sdkFloorWithMaps = measureModuleLoad(bareSdk.file, runs, ["--enable-source-maps"]);
    const rows: Array<Record<string, string | number>> = [
      {
        function: "(floor: empty ES module)",
        "min KB": "-",
        "gzip KB": "-",
        "map KB": "-",
        "load ms": formatMs(floor.medianMs),
        "load ms, source maps": formatMs(floorWithMaps.medianMs),
        "× floor": "1.0",
        "× SDK floor": "-",
      },
      {
        function: "(floor: bare DynamoDB client)",
        "min KB": kb(bareSdk.bytes),
        "gzip KB": kb(bareSdk.gzipBytes),
        "map KB": kb(bareSdk.mapBytes),
        "load ms": formatMs(sdkFloor.medianMs),
        "load ms, source maps": formatMs(sdkFloorWithMaps.medianMs),
        "× floor": (sdkFloor.medianMs / floor.medianMs).toFixed(1),
        "× SDK floor": "1.0",
      },
    ];
    emitRecord({
      name: "lambda-floor-bare-dynamodb-client",
      size_kb: Number(kb(bareSdk.bytes)),
      load_ms: Number(sdkFloor.medianMs.toFixed(2)),
      floor_ms: Number(floor.medianMs.toFixed(2)),
      ratio: Number((sdkFloor.medianMs / floor.medianMs).toFixed(2)),
      node: nodeVersion,
    });
    for (const name of functionNames()) {
      const entry = join(PROJECT_ROOT, "functions", `${name}.ts`);
      if (!existsSync(entry)) {
        rows.push({ function: name, "min KB": `missing: functions/${name}.ts` });
        continue;
      }
      const outdir = join(workdir, name);
      mkdirSync(outdir);
      const bundle = await bundleLambda(entry, outdir);
      const load = measureModuleLoad(bundle.file, runs);
      const builtinsOnly = join(outdir, "builtins-only.mjs");
      writeFileSync(builtinsOnly, bundle.builtins.map((name) => `import "${name}";\n`).join(""));
      const builtinsFloor = measureModuleLoad(builtinsOnly, runs);
      const loadWithMaps = measureModuleLoad(bundle.file, runs, ["--enable-source-maps"]);
      rows.push({
        function: name,
        "min KB": kb(bundle.bytes),
        "gzip KB": kb(bundle.gzipBytes),
        "map KB": kb(bundle.mapBytes),
        "load ms": load.error ? `failed: ${load.error}` : formatMs(load.medianMs),
        "load ms, source maps": loadWithMaps.error ? "failed" : formatMs(loadWithMaps.medianMs),
        "× floor": load.error ? "-" : (load.medianMs / floor.medianMs).toFixed(1),
        "× SDK floor": load.error ? "-" : (load.medianMs / sdkFloor.medianMs).toFixed(1),
        "built-ins ms": formatMs(builtinsFloor.medianMs),
        "× built-ins": load.error ? "-" : (load.medianMs / builtinsFloor.medianMs).toFixed(1),
      });
      // The figures a dashboard reads: size and load beside the empty-module floor (and the SDK's), one line per function.
      emitRecord({
        name: `lambda-${name}`,
        size_kb: Number(kb(bundle.bytes)),
        gzip_kb: Number(kb(bundle.gzipBytes)),
        load_ms: Number(load.medianMs.toFixed(2)),
        floor_ms: Number(floor.medianMs.toFixed(2)),
        ratio: Number((load.medianMs / floor.medianMs).toFixed(2)),
        sdk_floor_ms: Number(sdkFloor.medianMs.toFixed(2)),
        sdk_ratio: Number((load.medianMs / sdkFloor.medianMs).toFixed(2)),
        builtins_floor_ms: Number(builtinsFloor.medianMs.toFixed(2)),
        builtins_ratio: Number((load.medianMs / builtinsFloor.medianMs).toFixed(2)),
        builtins: bundle.builtins.length,
        node: nodeVersion,
        ...(load.error ? { error: load.error } : {}),
      });
    }
    printTable(
      `Lambda bundles: esbuild as the stack runs it (ESM, minified, node${BUNDLE_NODE_TARGET}); module load = median of ${runs} fresh processes of Node ${nodeVersion}`,
      rows,
    );
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}
