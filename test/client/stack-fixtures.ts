// Fixtures for client tests against the real local stack (startLocalDeployment):
// a temporary data directory, DynamoDB Local in memory, and the stack's own
// emulated SE manufacturer as a synchronous factory attester, so an emulated
// SecureElement leaves the "factory" with an attestation the service trusts.
// The stack exposes its manufacturer as an async MessageSigner while
// SecureElement.create needs a synchronous attester, so this reads the
// manufacturer's key file (a JWK the stack wrote into its keys directory, a
// development fixture by design) instead.
import "../support/quiet-logs.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LocalDeployment,
  startLocalDeployment,
} from "../../src/adapters/local-server/local-deployment.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";
import { type FactoryAttester, SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { toHex } from "../../src/protocol/bytes.js";

// As `npm start` does: the SDK's notice about Node 22 says nothing about these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export interface TestStack {
  readonly stack: LocalDeployment;
  readonly manufacturer: FactoryAttester;
  /** Handler failures the local server reported (a 500 would hide them): a test should see none. */
  readonly handlerErrors: { routeKey: string; error: unknown }[];
  newSecureElement(): SecureElement;
  stop(): Promise<void>;
}

export async function startTestStack(): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "carkeys-client-"));
  const handlerErrors: TestStack["handlerErrors"] = [];
  let stack: LocalDeployment;
  try {
    stack = await startLocalDeployment({
      port: 0,
      inMemory: true,
      dataDir,
      onHandlerError: (error, routeKey) => handlerErrors.push({ routeKey, error }),
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const manufacturer = await manufacturerOf(stack);
  return {
    stack,
    manufacturer,
    handlerErrors,
    newSecureElement: () => SecureElement.create({ manufacturer }).se,
    stop: async () => {
      try {
        await stack.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

async function manufacturerOf(stack: LocalDeployment): Promise<FactoryAttester> {
  const { attester, publicKey } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
  if (publicKey !== toHex(stack.manufacturerPublicKey)) {
    throw new Error("se-manufacturer.json is not the key the stack trusts");
  }
  return attester;
}
