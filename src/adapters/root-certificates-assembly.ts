// The OEM roots' certificates as a deployment's settings configure them, on
// the table and the root signers: what every function that reads or issues a
// certificate is built on (trust-anchors, root-bootstrap, device-enrollment,
// vehicle-enrollment, key-tracking), with the same wiring as the whole
// service (rootCertificatesFor in src/service/root-certificates.ts). Each of
// those functions adds only the part its routes call (docs/toolchain.md
// "Lambda bundles").
import { systemClock } from "../service/ports.js";
import { type RootCertificates, rootCertificatesFor } from "../service/root-certificates.js";
import { documentClientFor } from "./aws-client-settings.js";
import { DynamoDbStore } from "./dynamodb/dynamodb-store.js";
import type { RootBootstrapDependencies } from "./function-handlers/root-bootstrap.js";
import { type RootSigners, rootSigners } from "./root-signers.js";
import type { ServiceSettings } from "./service-settings.js";

export interface RootCertificatesAssembly extends RootSigners {
  readonly store: DynamoDbStore;
  readonly roots: RootCertificates;
}

/** `otherKeyUris`: further keys the caller opens with the signers' KMS client (rootSigners). */
export async function assembleRootCertificates(
  settings: ServiceSettings,
  otherKeyUris: readonly string[] = [],
): Promise<RootCertificatesAssembly> {
  const signers = await rootSigners(settings, otherKeyUris);
  const store = new DynamoDbStore({ tableName: settings.tableName, client: documentClientFor(settings.aws) });
  return {
    ...signers,
    store,
    roots: rootCertificatesFor({ ...settings, store, signer: signers.signer, clock: systemClock }),
  };
}

/** The deploy-time bootstrap's dependencies: the roots alone. */
export async function assembleRootBootstrapParts(
  settings: ServiceSettings,
): Promise<RootBootstrapDependencies> {
  return { service: { roots: (await assembleRootCertificates(settings)).roots } };
}
