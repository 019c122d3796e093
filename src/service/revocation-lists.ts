// A vehicle's revocation list (docs/protocol.md §12): the revocations filed
// against the vehicle's keys after the car's cursor, one page of them signed
// by the Vehicle OEM root as an RVLS statement (src/protocol/revocation-list.ts),
// which the OEM's telematics hands to the car. A read of the table and one
// Sign: on its own so that the function serving it builds nothing else
// (src/adapters/revocation-list-assembly.ts).
import { fromHex, toHex } from "../protocol/bytes.js";
import { keyIdentifier } from "../protocol/p256.js";
import { revocationListBody } from "../protocol/revocation-list.js";
import { ConflictError, NotFoundError } from "./errors.js";
import type { Clock, Store } from "./ports.js";
import type { StatementRoots } from "./root-statement-keys.js";

/** Entries per revocation list; the car fetches again from the last sequence. */
export const REVOCATION_PAGE_SIZE = 200;

export interface RevocationListView {
  readonly vehicleId: string;
  readonly after: number;
  readonly latestSequence: number;
  readonly entries: { sequence: number; keyId: string; attestationSerial?: number; revokedAt: string }[];
  /** The RVLS statement (hex); absent when there is nothing after the cursor (no Sign spent). */
  readonly list?: string;
}

export interface RevocationListsOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly roots: StatementRoots;
}

export class RevocationLists {
  private readonly options: RevocationListsOptions;

  constructor(options: RevocationListsOptions) {
    this.options = options;
  }

  /** GET /v1/vehicles/{vehicleId}/revocations?after=n: the car's list, through the OEM. */
  async revocationList(vehicleId: string, after: number): Promise<RevocationListView> {
    const { store, roots, clock } = this.options;
    const read = await store.readRecords({ vehicles: [vehicleId], vehicleSequences: [vehicleId] });
    if (!read.vehicles.has(vehicleId)) throw new NotFoundError(`vehicle ${vehicleId} is not enrolled`);
    const { revocations: latest } = read.vehicleSequences.get(vehicleId)!;
    if (after > latest) {
      throw new ConflictError(
        `stale revocation cursor: after=${after} is beyond the latest sequence ${latest}`,
      );
    }
    const entries = await store.listRevocationEntries(vehicleId, after, REVOCATION_PAGE_SIZE);
    const view = entries.map((e) => ({
      sequence: e.sequence,
      keyId: e.keyId,
      ...(e.attestationSerial === undefined ? {} : { attestationSerial: e.attestationSerial }),
      revokedAt: e.revokedAt,
    }));
    if (entries.length === 0) return { vehicleId, after, latestSequence: after, entries: [] };
    const rootKey = await roots.publicKey("vehicle-oem-root");
    const latestSequence = entries.at(-1)!.sequence;
    const body = revocationListBody({
      vehicleIdentifier: fromHex(vehicleId),
      after,
      latestSequence,
      issuedAt: clock.now().getTime(),
      signerKeyId: keyIdentifier(rootKey),
      entries: entries.map((e) => ({
        sequence: e.sequence,
        keyId: fromHex(e.keyId),
        ...(e.attestationSerial === undefined ? {} : { attestationSerial: e.attestationSerial }),
        revokedAt: Date.parse(e.revokedAt),
      })),
    });
    return {
      vehicleId,
      after,
      latestSequence,
      entries: view,
      list: toHex(await roots.signStatement("vehicle-oem-root", body)),
    };
  }
}
