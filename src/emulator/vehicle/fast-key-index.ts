// Which enrolled key sent a fast transaction's cryptogram. The AUTH0 answer
// does not name its key (docs/transaction.md "Fast key derivation": the cryptogram alone
// proves it), so the vehicle tries it against every key it shares a
// persistent key with. Each try is kept to one HMAC: what depends only on the
// key (HKDF-Extract of Kpersistent, the fixed head of infoFast) is computed
// once per key and remembered in memory beside the enrolled endpoint, and
// keys are tried most recently used first, so the phone that opened the car
// last is found at the first try. Only the matching key's session keys are
// derived in full.
import { equalBytes, fromHex } from "../../protocol/bytes.js";
import { xCoordinate } from "../../protocol/p256.js";
import {
  deriveFastKeys,
  type FastKeys,
  fastCryptogram,
  fastInfoPrefix,
  fastInfoSuffix,
  fastPseudorandomKey,
  type TransactionContext,
} from "../../protocol/transaction-keys.js";
import type { EnrolledEndpoint } from "./vehicle-state.js";

interface PreparedKey {
  /** What the entry was computed from; any change (a new Kpersistent) recomputes it. */
  readonly persistentKey: string;
  readonly vehicleIdentifier: string;
  readonly vehiclePublicKey: string;
  readonly prk: Uint8Array;
  readonly infoPrefix: Uint8Array;
  lastMatched: number;
}

/** Keyed by the endpoint record itself: an entry lives exactly as long as the car holds that record. */
const prepared = new WeakMap<EnrolledEndpoint, PreparedKey>();
let matches = 0;

interface ReaderKeys {
  vehicleIdentifier: Uint8Array;
  publicKey: Uint8Array;
}

function prepare(
  endpoint: EnrolledEndpoint,
  persistentKey: string,
  reader: ReaderKeys,
  ids: [string, string],
) {
  const [vehicleIdentifier, vehiclePublicKey] = ids;
  const known = prepared.get(endpoint);
  if (
    known &&
    known.persistentKey === persistentKey &&
    known.vehicleIdentifier === vehicleIdentifier &&
    known.vehiclePublicKey === vehiclePublicKey
  ) {
    return known;
  }
  const entry: PreparedKey = {
    persistentKey,
    vehicleIdentifier,
    vehiclePublicKey,
    prk: fastPseudorandomKey(fromHex(persistentKey)),
    infoPrefix: fastInfoPrefix(
      reader.vehicleIdentifier,
      xCoordinate(reader.publicKey),
      xCoordinate(fromHex(endpoint.endpointPublicKey)),
    ),
    lastMatched: known?.lastMatched ?? 0,
  };
  prepared.set(endpoint, entry);
  return entry;
}

/** The endpoint whose persistent key produced `cryptogram` in this transaction, with its session keys. */
export function matchCryptogram(
  cryptogram: Uint8Array,
  context: TransactionContext,
  reader: ReaderKeys,
  endpoints: readonly EnrolledEndpoint[],
): { endpoint: EnrolledEndpoint; keys: FastKeys } | undefined {
  const ids: [string, string] = [
    Buffer.from(reader.vehicleIdentifier).toString("hex"),
    Buffer.from(reader.publicKey).toString("hex"),
  ];
  const candidates: { endpoint: EnrolledEndpoint; persistentKey: string; key: PreparedKey }[] = [];
  for (const endpoint of endpoints) {
    if (!endpoint.persistentKey) continue;
    const persistentKey = endpoint.persistentKey;
    candidates.push({ endpoint, persistentKey, key: prepare(endpoint, persistentKey, reader, ids) });
  }
  // Stable sort: keys never matched keep their enrollment order after the recently used ones.
  candidates.sort((a, b) => b.key.lastMatched - a.key.lastMatched);
  const suffix = fastInfoSuffix(context);
  for (const { endpoint, persistentKey, key } of candidates) {
    if (!equalBytes(fastCryptogram(key.prk, key.infoPrefix, suffix), cryptogram)) continue;
    key.lastMatched = ++matches;
    const keys = deriveFastKeys(
      fromHex(persistentKey),
      context,
      xCoordinate(reader.publicKey),
      xCoordinate(fromHex(endpoint.endpointPublicKey)),
    );
    return { endpoint, keys };
  }
  return undefined;
}
