// The Lambda bundles' credential chain (src/adapters/lambda-credentials.ts): the
// environment's credentials, as the Lambda runtime sets them, and a clear
// refusal without them rather than a search of files and metadata services.
import { describe, expect, it } from "vitest";
import { defaultProvider } from "../../src/adapters/lambda-credentials.js";

const NAMES = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"] as const;

async function withEnvironment<T>(
  values: Partial<Record<(typeof NAMES)[number], string>>,
  run: () => Promise<T>,
) {
  const before = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
  for (const name of NAMES) {
    if (values[name] === undefined) delete process.env[name];
    else process.env[name] = values[name];
  }
  try {
    return await run();
  } finally {
    for (const name of NAMES) {
      if (before[name] === undefined) delete process.env[name];
      else process.env[name] = before[name];
    }
  }
}

describe("the Lambda bundles' credentials", () => {
  it("are the execution role's, from the environment the runtime sets", async () => {
    const credentials = await withEnvironment(
      { AWS_ACCESS_KEY_ID: "AKIDLAMBDA", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "token" },
      () => defaultProvider()(),
    );
    expect(credentials).toMatchObject({
      accessKeyId: "AKIDLAMBDA",
      secretAccessKey: "secret",
      sessionToken: "token",
    });
  });

  it("are refused when the environment has none, even with a profile named", async () => {
    await expect(withEnvironment({ AWS_PROFILE: "default" }, () => defaultProvider()())).rejects.toThrow(
      /environment variable credentials/,
    );
  });
});
