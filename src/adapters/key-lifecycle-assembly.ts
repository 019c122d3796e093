// What the functions that act on registered keys need (notices, revocation,
// partner-events, expiry-sweep): the key lifecycle (src/service/key-lifecycle.ts)
// with the device pseudonym key and the events' notifier, signed by the roots'
// keys as statement signers (src/service/root-statement-keys.ts). Built
// without enrollment, key tracking or certificate issuance, so their bundles
// carry none of them; key-tracking-assembly.ts builds the same lifecycle on the
// roots' certificates (docs/toolchain.md "Lambda bundles"). Every one of these
// functions is granted the pseudonym key and the event bus (infra/lib/function-access.ts).

import { ExpirySweep } from "../service/expiry-sweep.js";
import { createKeyLifecycle, type KeyLifecycle } from "../service/key-lifecycle.js";
import { PartnerEvents } from "../service/partner-events.js";
import { type Store, systemClock } from "../service/ports.js";
import { RootStatementKeys, type StatementRoots } from "../service/root-statement-keys.js";
import { documentClientFor } from "./aws-client-settings.js";
import { DynamoDbStore } from "./dynamodb/dynamodb-store.js";
import { notifierFor } from "./events/notifier-for.js";
import type { ExpirySweepDependencies } from "./function-handlers/expiry-sweep.js";
import type { NoticesDependencies } from "./function-handlers/notices.js";
import type { PartnerEventsDependencies } from "./function-handlers/partner-events.js";
import type { RevocationDependencies } from "./function-handlers/revocation.js";
import { macKeyFromUri } from "./kms/mac-keys.js";
import type { RootSigners } from "./root-signers.js";
import { rootSigners } from "./root-signers.js";
import type { BaseServiceSettings } from "./service-settings.js";

/** What the lifecycle is built on: the table, the signers and the roots that sign its statements. */
export interface LifecycleAdapters extends RootSigners {
  readonly store: Store;
  readonly roots: StatementRoots;
}

/** The key lifecycle for `settings` on `adapters` (whose KMS client must cover the pseudonym key). */
export async function assembleKeyLifecycle(
  settings: BaseServiceSettings,
  adapters: LifecycleAdapters,
): Promise<KeyLifecycle> {
  return createKeyLifecycle({
    store: adapters.store,
    clock: systemClock,
    roots: adapters.roots,
    notifier: notifierFor(settings, adapters.webhookSigner),
    ...(settings.devicePseudonymKeyUri
      ? { devicePseudonymKey: await macKeyFromUri(settings.devicePseudonymKeyUri, adapters.kms) }
      : {}),
  });
}

/** The lifecycle signed by the roots' keys alone, and the table it is on. */
async function statementKeyLifecycle(
  settings: BaseServiceSettings,
): Promise<KeyLifecycle & { readonly store: Store }> {
  const signers = await rootSigners(settings, [settings.devicePseudonymKeyUri ?? ""]);
  const store = new DynamoDbStore({ tableName: settings.tableName, client: documentClientFor(settings.aws) });
  const roots = new RootStatementKeys({ store, signer: signers.signer });
  return { ...(await assembleKeyLifecycle(settings, { ...signers, store, roots })), store };
}

export async function assembleNoticesParts(settings: BaseServiceSettings): Promise<NoticesDependencies> {
  const { notices } = await statementKeyLifecycle(settings);
  return { service: { notices }, serverToServerMtls: settings.serverToServerMtls };
}

export async function assembleRevocationParts(
  settings: BaseServiceSettings,
): Promise<RevocationDependencies> {
  const { revocations } = await statementKeyLifecycle(settings);
  return { service: { revocations }, serverToServerMtls: settings.serverToServerMtls };
}

export async function assemblePartnerEventsParts(
  settings: BaseServiceSettings,
): Promise<PartnerEventsDependencies> {
  const { notices, revocations } = await statementKeyLifecycle(settings);
  return {
    service: { partnerEvents: new PartnerEvents({ clock: systemClock, notices, revocations }) },
    serverToServerMtls: settings.serverToServerMtls,
  };
}

export async function assembleExpirySweepParts(
  settings: BaseServiceSettings,
): Promise<ExpirySweepDependencies> {
  const { store, revocations } = await statementKeyLifecycle(settings);
  return { service: { expiry: new ExpirySweep({ store, clock: systemClock, revocations }) } };
}
