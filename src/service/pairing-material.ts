// Owner-pairing material (docs/protocol.md §9 "Owner pairing", provisioned
// at vehicle enrollment): a fresh one-time password for the owner and the
// SPAKE2+ verifier {w0, L, salt, N, r, p} the vehicle checks it with, valid
// until an expiry. The password and verifier go back to the OEM backend once,
// in the response; the service keeps only a PairingRecord (an id and the
// expiry), because w0 and L with the salt are enough to test all 10^8
// passwords offline, and a table read must not hand out an owner's car.
import { randomBytes } from "node:crypto";
import type { PairingMaterial } from "../api/issuance-schemas.js";
import { toHex } from "../protocol/bytes.js";
import {
  computePairingVerifierInBackground,
  createScryptParams,
  DEFAULT_SCRYPT_COST,
  generatePairingPassword,
  type ScryptCost,
} from "../protocol/pairing-password.js";
import type { PairingRecord } from "./ports.js";

export const DEFAULT_PAIRING_VALIDITY_HOURS = 168;

export interface PairingMaterialOptions {
  readonly vehicleId: string;
  readonly now: Date;
  readonly validityHours?: number;
  /** scrypt cost; the default is RFC 9383's suggestion. */
  readonly cost?: ScryptCost;
}

export async function createPairingMaterial(options: PairingMaterialOptions): Promise<{
  material: PairingMaterial;
  record: PairingRecord;
}> {
  const hours = options.validityHours ?? DEFAULT_PAIRING_VALIDITY_HOURS;
  const expiresAt = new Date(Math.floor(options.now.getTime() / 1000) * 1000 + hours * 3600 * 1000);
  const password = generatePairingPassword();
  const params = createScryptParams(options.cost ?? DEFAULT_SCRYPT_COST);
  // scrypt in the thread pool: about a tenth of a second the event loop keeps serving others.
  const verifier = await computePairingVerifierInBackground(password, params);
  const record: PairingRecord = {
    vehicleId: options.vehicleId,
    pairingId: toHex(randomBytes(8)),
    createdAt: options.now.toISOString(),
    expiresAt: expiresAt.toISOString(),
  };
  return {
    record,
    material: {
      pairingId: record.pairingId,
      password,
      expiresAt: record.expiresAt,
      verifier: {
        w0: toHex(verifier.w0),
        L: toHex(verifier.L),
        salt: toHex(verifier.salt),
        N: verifier.N,
        r: verifier.r,
        p: verifier.p,
      },
    },
  };
}
