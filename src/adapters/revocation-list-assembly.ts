// What the revocation-list function needs and nothing more: the table and the
// Vehicle OEM root's key, as statement signer (src/service/root-statement-keys.ts).
// Built without the rest of the service, so its bundle carries no enrollment,
// key tracking, notices, EventBridge client or X.509 code (docs/toolchain.md
// "Lambda bundles"), as trust-anchors-assembly.ts does for the roots.

import { systemClock } from "../service/ports.js";
import { RevocationLists } from "../service/revocation-lists.js";
import { RootStatementKeys } from "../service/root-statement-keys.js";
import { documentClientFor } from "./aws-client-settings.js";
import { DynamoDbStore } from "./dynamodb/dynamodb-store.js";
import { rootSigners } from "./root-signers.js";
import type { BaseServiceSettings } from "./service-settings.js";

export interface RevocationListParts {
  readonly service: { readonly revocations: RevocationLists };
  readonly serverToServerMtls?: boolean;
}

/** The vehicles' revocation lists for `settings`, signed by the root the whole service signs them with. */
export async function assembleRevocationListParts(
  settings: BaseServiceSettings,
): Promise<RevocationListParts> {
  const { signer } = await rootSigners(settings);
  const store = new DynamoDbStore({ tableName: settings.tableName, client: documentClientFor(settings.aws) });
  return {
    service: {
      revocations: new RevocationLists({
        store,
        clock: systemClock,
        roots: new RootStatementKeys({ store, signer }),
      }),
    },
    serverToServerMtls: settings.serverToServerMtls,
  };
}
