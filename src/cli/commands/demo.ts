// `carkey demo`: the whole story against a deployment — by default a local
// stack this command starts (DynamoDB Local in memory), or `--url` for one
// already running (`npm start`, `npm run deploy:local`, AWS). Against an API
// Gateway URL (`*.execute-api.*`) the OEM routes are signed with SigV4 using
// the AWS default credentials; against the local server with its OEM token.

import { join } from "node:path";
import type { Command } from "commander";
import type { DemoStep } from "../demo/demo-story.js";
import { CliError } from "../errors.js";
import { readLocalOemToken } from "../local-oem-token.js";
import { action } from "../output.js";

interface DemoOptions {
  url?: string;
  json?: boolean;
  oemToken?: string;
  manufacturerKey?: string;
  deviceMakerKeys?: string;
  dataDir: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run the whole story: pair, share through the relay, revoke, lost mode, new phone")
    .option("--url <url>", "a running deployment (default: start a local stack in memory)")
    .option("--json", "one JSON object per step: step, ok, decision, detail")
    .option(
      "--oem-token <token>",
      "OEM bearer token for --url (default: DATA_DIR/oem-token, except for an API Gateway URL; " +
        "without a token OEM routes are signed with SigV4 using the AWS default credentials)",
    )
    .option(
      "--manufacturer-key <file>",
      "SE manufacturer key the deployment trusts (default: DATA_DIR/keys/se-manufacturer.json)",
    )
    .option(
      "--device-maker-keys <dir>",
      "where the keys of the other phone maker the deployment trusts are (default: DATA_DIR/keys)",
    )
    .option("--data-dir <dir>", "the data directory of `npm start` (for --url against it)", ".data")
    .action(
      action(async (options: DemoOptions) => {
        const { factoryAttesterFromFile } = await import(
          "../../emulator/secure-element/factory-attester-file.js"
        );
        const { runDemoStory } = await import("../demo/demo-story.js");
        const { otherDeviceMakerIn } = await import("../demo/other-device-maker.js");
        const print = (step: DemoStep) => {
          if (options.json) process.stdout.write(`${JSON.stringify(step)}\n`);
          else
            process.stdout.write(
              `${step.ok ? "✓" : "✗"} ${step.step.padEnd(30)} ${step.decision.padEnd(9)} ${step.detail}\n`,
            );
        };
        let ok: boolean;
        if (options.url) {
          const token = options.oemToken ?? localOemToken(options.url, options.dataDir);
          const { attester } = factoryAttesterFromFile(
            options.manufacturerKey ?? join(options.dataDir, "keys", "se-manufacturer.json"),
          );
          const otherDeviceMaker = await otherDeviceMakerIn(
            options.deviceMakerKeys ?? join(options.dataDir, "keys"),
          );
          ok = await runDemoStory(
            {
              url: options.url,
              oemToken: token,
              manufacturer: attester,
              ...(otherDeviceMaker ? { otherDeviceMaker } : {}),
            },
            print,
          );
        } else {
          const { mkdtemp, rm } = await import("node:fs/promises");
          const { tmpdir } = await import("node:os");
          const dataDir = await mkdtemp(join(tmpdir(), "carkey-demo-"));
          const { startLocalDeployment } = await import("../../adapters/local-server/local-deployment.js");
          const stack = await startLocalDeployment({ port: 0, inMemory: true, dataDir });
          try {
            const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
            if (!options.json)
              process.stdout.write(`local stack at ${stack.url} (DynamoDB Local in memory)\n`);
            const otherDeviceMaker = await otherDeviceMakerIn(stack.keysDir);
            ok = await runDemoStory(
              {
                url: stack.url,
                oemToken: stack.oemToken,
                manufacturer: attester,
                ...(otherDeviceMaker ? { otherDeviceMaker } : {}),
              },
              print,
            );
          } finally {
            await stack.stop();
            await rm(dataDir, { recursive: true, force: true });
          }
        }
        if (!ok) process.exitCode = 1;
      }),
    );
}

/**
 * The local server's OEM token for `url`, or "" (sign with SigV4): an API
 * Gateway host, in AWS or on an emulator, authorizes OEM routes with IAM;
 * any other URL is taken to be `npm start` when DATA_DIR holds its token.
 */
function localOemToken(url: string, dataDir: string): string {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new CliError(`--url is not an absolute URL: ${url}`);
  }
  if (/\.execute-api\./i.test(host)) return "";
  return readLocalOemToken(dataDir);
}
