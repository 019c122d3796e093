// Typed calls to the Car Keys service's issuance routes (src/api/routes.ts,
// shapes inferred from their entries), for the three callers that use them:
// a device's wallet (enroll its SE, register a car key — requests signed in
// the SE), an OEM backend (enroll a vehicle, new pairing material, read key
// records — OEM-authorized), and anyone (the trust anchors). The request and
// response types are inferred from the route entries (src/api/contract-types.ts),
// imported as types only, so the client loads no schema at run time and its
// types change with the contract.
// Responses are checked for the fields this code relies on; everything that
// matters cryptographically is verified again on the device (the SE checks
// its instance CA certificate, the vehicle its certificate, and
// verifyKeyReceipt the receipt against the Vehicle OEM root).

import type { RequestBody, ResponseBody } from "../api/contract-types.js";
import { equalBytes, fromHex, toHex } from "../protocol/bytes.js";
import { parseCertificate } from "../protocol/certificate-verifier.js";
import type { KeyTrackingReceiptFacts } from "../protocol/key-tracking-receipt.js";
import { verifyKeyTrackingReceipt } from "../protocol/key-tracking-receipt.js";
import { keyIdentifier } from "../protocol/p256.js";
import type { PairingVerifier } from "../protocol/pairing-password.js";
import type { RequestSigner } from "../protocol/request-signature.js";
import type { EnrollableSecureElement, KeyHoldingSecureElement } from "./device-ports.js";
import { ClientError, ServiceResponseError } from "./errors.js";
import type { OemAuth } from "./oem-auth.js";
import { deviceFetch, type FetchOptions, oemFetch, publicFetch } from "./signed-fetch.js";

// ---- the API's shapes, inferred from the contract (src/api; type-only, so no schema loads here) -----

export type TrustAnchorsResponse = ResponseBody<"GET /v1/trust-anchors">;
export type DeviceEnrollmentRequest = RequestBody<"POST /v1/devices">;
export type DeviceEnrollmentResponse = ResponseBody<"POST /v1/devices">;
export type PairingMaterial = VehicleEnrollmentResponse["pairing"];
export type VehicleEnrollmentRequest = RequestBody<"POST /v1/vehicles">;
export type VehicleEnrollmentResponse = ResponseBody<"POST /v1/vehicles">;
export type PairingResponse = ResponseBody<"POST /v1/vehicles/{vehicleId}/pairing">;
export type KeyRegistrationRequest = RequestBody<"POST /v1/keys">;
/** A key record as the service returns it (schema `Key`). */
export type RegisteredKey = ResponseBody<"GET /v1/keys/{keyId}">;
export type VehicleKeysResponse = ResponseBody<"GET /v1/vehicles/{vehicleId}/keys">;

/** A response that may be a repeat of an earlier identical request (the service answers 200 then, not 201). */
export interface Outcome<T> {
  readonly created: boolean;
  readonly response: T;
}

// ---- what the client needs of an SE and a vehicle ----------------------------------------------

// The SEs it enrolls and whose keys it registers: device-ports.ts (the emulator's SecureElement is one).
export type { EnrollableSecureElement, KeyHoldingSecureElement } from "./device-ports.js";

/** What an OEM's vehicle (or the emulated Vehicle) needs from an enrollment. */
export interface ProvisionableVehicle {
  installCertificates(certificates: {
    vehicleCertificate: string;
    vehicleOemRoot: string;
    deviceOemRoots: string[];
  }): void;
  /** The verifier with the id of its pairing material, which the car signs into its pairing confirmation. */
  provisionPairingVerifier(verifier: PairingVerifier, pairingId: string): void;
}

// ---- response checks ---------------------------------------------------------------------------

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ServiceResponseError(`${what}: the response is not a JSON object`);
  }
  return value as Json;
}

function requireStrings(value: Json, fields: readonly string[], what: string): void {
  for (const field of fields) {
    if (typeof value[field] !== "string" || value[field] === "") {
      throw new ServiceResponseError(`${what}: the response has no ${field}`);
    }
  }
}

function checkTrustAnchors(value: unknown, what: string): TrustAnchorsResponse {
  const anchors = object(value, what);
  requireStrings(anchors, ["deviceOemRoot", "vehicleOemRoot"], what);
  return anchors as unknown as TrustAnchorsResponse;
}

function checkPairing(value: unknown, what: string): PairingMaterial {
  const pairing = object(value, what);
  requireStrings(pairing, ["pairingId", "password", "expiresAt"], what);
  const verifier = object(pairing.verifier, `${what} verifier`);
  requireStrings(verifier, ["w0", "L", "salt"], `${what} verifier`);
  for (const field of ["N", "r", "p"]) {
    if (!Number.isSafeInteger(verifier[field])) {
      throw new ServiceResponseError(`${what}: the verifier's ${field} is not an integer`);
    }
  }
  return pairing as unknown as PairingMaterial;
}

function checkKey(value: unknown, what: string): RegisteredKey {
  const key = object(value, what);
  requireStrings(key, ["keyId", "vehicleId", "role", "endpointPublicKey", "registeredAt", "receipt"], what);
  return key as unknown as RegisteredKey;
}

function hexOf(value: Uint8Array | string): string {
  return typeof value === "string" ? value.toLowerCase() : toHex(value);
}

/** PEM text compared by the certificate it encodes (line endings and a trailing newline may differ). */
function sameCertificate(a: string, b: string): boolean {
  return equalBytes(parseCertificate(a).der, parseCertificate(b).der);
}

// ---- clients ------------------------------------------------------------------------------------

/** The device's (and anyone's) side: public and device-signed routes. */
export class CarKeysClient {
  constructor(
    readonly baseUrl: string,
    private readonly options: FetchOptions = {},
  ) {}

  /** GET /v1/trust-anchors: the Device OEM and Vehicle OEM roots (public). */
  async getTrustAnchors(): Promise<TrustAnchorsResponse> {
    const { body } = await publicFetch(this.baseUrl, "GET", "/v1/trust-anchors", this.options);
    return checkTrustAnchors(body, "GET /v1/trust-anchors");
  }

  /**
   * POST /v1/devices, signed by the SE's instance CA key (proof of
   * possession), with the manufacturer's factory attestation. The returned
   * instance CA certificate and the trust anchors are installed into the SE,
   * which checks that the certificate chains to the Device OEM root and
   * certifies its own key. The enrollment response carries only the Device
   * OEM root, so the Vehicle OEM root comes from GET /v1/trust-anchors, whose
   * Device OEM root must be the same certificate.
   */
  async enrollSecureElement(se: EnrollableSecureElement): Promise<Outcome<DeviceEnrollmentResponse>> {
    const factoryAttestation = se.factoryAttestation;
    if (!factoryAttestation) {
      throw new ClientError(`secure element ${se.seId} has no factory attestation to present`);
    }
    const request: DeviceEnrollmentRequest = {
      seId: se.seId,
      instanceCaPublicKey: toHex(se.instanceCaPublicKey),
      factoryAttestation: toHex(factoryAttestation),
    };
    const signer: RequestSigner = `instance:${se.seId}`;
    const { status, body } = await deviceFetch(
      this.baseUrl,
      se,
      signer,
      "POST",
      "/v1/devices",
      request,
      this.options,
    );
    const what = "POST /v1/devices";
    const response = object(body, what);
    requireStrings(response, ["seId", "instanceCaCertificate", "serialNumber", "deviceOemRoot"], what);
    const enrollment = response as unknown as DeviceEnrollmentResponse;
    if (enrollment.seId !== se.seId)
      throw new ServiceResponseError(`${what}: the response is for another SE`);
    const anchors = await this.getTrustAnchors();
    if (!sameCertificate(anchors.deviceOemRoot, enrollment.deviceOemRoot)) {
      throw new ServiceResponseError(
        `${what}: the issuing Device OEM root is not the published trust anchor`,
      );
    }
    se.installCertificates({
      instanceCaCertificate: enrollment.instanceCaCertificate,
      deviceOemRoot: enrollment.deviceOemRoot,
      vehicleOemRoot: anchors.vehicleOemRoot,
    });
    return { created: status === 201, response: enrollment };
  }

  /**
   * POST /v1/keys, signed by the key's own endpoint key: registers an owner
   * key (after pairing; the SE's copy of the car's pairing confirmation goes
   * along) or a friend key (with the owner's key attestation, hex or bytes)
   * and returns the record with its receipt. Check the receipt
   * with verifyKeyReceipt against a Vehicle OEM root you trust.
   */
  async registerKey(
    se: KeyHoldingSecureElement,
    keyId: string,
    attestation?: Uint8Array | string,
  ): Promise<Outcome<RegisteredKey>> {
    if (!/^[0-9a-f]{12}$/.test(keyId)) throw new ClientError("keyId must be 6 bytes of lower-case hex");
    const chain = se.certificateChain(keyId);
    const confirmation = se.pairingConfirmation(keyId);
    const request: KeyRegistrationRequest = {
      endpointCertificate: chain.endpointCertificate,
      instanceCaCertificate: chain.instanceCaCertificate,
      ...(attestation === undefined ? {} : { keyAttestation: hexOf(attestation) }),
      ...(confirmation ? { pairingConfirmation: toHex(confirmation) } : {}),
    };
    const { status, body } = await deviceFetch(
      this.baseUrl,
      se,
      `endpoint:${keyId}`,
      "POST",
      "/v1/keys",
      request,
      this.options,
    );
    const key = checkKey(body, "POST /v1/keys");
    if (key.keyId !== keyId) throw new ServiceResponseError("POST /v1/keys: the record is for another key");
    return { created: status === 201, response: key };
  }
}

/**
 * The OEM backend's side. `token`: the local server's OEM token
 * (`.data/oem-token`), or "" to sign with SigV4 and the AWS default
 * credentials, as API Gateway's IAM authorizer wants (oem-auth.ts).
 */
export class OemBackendClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | OemAuth,
    private readonly options: FetchOptions = {},
  ) {}

  /** POST /v1/vehicles: the vehicle certificate, the trust anchors it needs and owner-pairing material. */
  async enrollVehicle(request: {
    vehicleId: Uint8Array | string;
    vehiclePublicKey: Uint8Array | string;
    pairingValidityHours?: number;
  }): Promise<Outcome<VehicleEnrollmentResponse>> {
    const body: VehicleEnrollmentRequest = {
      vehicleId: hexOf(request.vehicleId),
      vehiclePublicKey: hexOf(request.vehiclePublicKey),
      ...(request.pairingValidityHours === undefined
        ? {}
        : { pairingValidityHours: request.pairingValidityHours }),
    };
    const what = "POST /v1/vehicles";
    const answer = await oemFetch(this.baseUrl, this.token, "POST", "/v1/vehicles", body, this.options);
    const response = object(answer.body, what);
    requireStrings(response, ["vehicleId", "vehicleCertificate", "serialNumber"], what);
    checkTrustAnchors(response.trustAnchors, `${what} trustAnchors`);
    checkPairing(response.pairing, `${what} pairing`);
    if (response.vehicleId !== body.vehicleId) {
      throw new ServiceResponseError(`${what}: the response is for another vehicle`);
    }
    return { created: answer.status === 201, response: response as unknown as VehicleEnrollmentResponse };
  }

  /** POST /v1/vehicles/{vehicleId}/pairing: new owner-pairing material (refused once an owner key exists). */
  async newPairing(vehicleId: string, pairingValidityHours?: number): Promise<PairingResponse> {
    const what = "POST /v1/vehicles/{vehicleId}/pairing";
    const { body } = await oemFetch(
      this.baseUrl,
      this.token,
      "POST",
      `/v1/vehicles/${encodeURIComponent(vehicleId)}/pairing`,
      pairingValidityHours === undefined ? {} : { pairingValidityHours },
      this.options,
    );
    const response = object(body, what);
    checkPairing(response.pairing, `${what} pairing`);
    return response as unknown as PairingResponse;
  }

  /** GET /v1/keys/{keyId}. */
  async getKey(keyId: string): Promise<RegisteredKey> {
    const { body } = await oemFetch(
      this.baseUrl,
      this.token,
      "GET",
      `/v1/keys/${encodeURIComponent(keyId)}`,
      undefined,
      this.options,
    );
    return checkKey(body, "GET /v1/keys/{keyId}");
  }

  /** GET /v1/vehicles/{vehicleId}/keys (eventually consistent). */
  async listVehicleKeys(vehicleId: string): Promise<VehicleKeysResponse> {
    const what = "GET /v1/vehicles/{vehicleId}/keys";
    const { body } = await oemFetch(
      this.baseUrl,
      this.token,
      "GET",
      `/v1/vehicles/${encodeURIComponent(vehicleId)}/keys`,
      undefined,
      this.options,
    );
    const response = object(body, what);
    if (!Array.isArray(response.keys)) throw new ServiceResponseError(`${what}: the response has no keys`);
    for (const [i, key] of response.keys.entries()) checkKey(key, `${what} keys[${i}]`);
    return response as unknown as VehicleKeysResponse;
  }
}

// ---- helpers for what the responses are used for -----------------------------------------------

/** The pairing verifier as the vehicle takes it: the API's hex fields as bytes. */
export function pairingVerifierFromJson(verifier: PairingMaterial["verifier"]): PairingVerifier {
  return {
    w0: fromHex(verifier.w0, "verifier.w0"),
    L: fromHex(verifier.L, "verifier.L"),
    salt: fromHex(verifier.salt, "verifier.salt"),
    N: verifier.N,
    r: verifier.r,
    p: verifier.p,
  };
}

/**
 * What the OEM's backend does with new pairing material (at enrollment, or
 * for a new phone): the car gets the verifier and the pairing id, never the password.
 */
export function provisionPairingMaterial(
  vehicle: Pick<ProvisionableVehicle, "provisionPairingVerifier">,
  pairing: PairingMaterial,
): void {
  vehicle.provisionPairingVerifier(pairingVerifierFromJson(pairing.verifier), pairing.pairingId);
}

/**
 * What the OEM's factory or backend does with an enrollment: installs the
 * vehicle certificate and the roots into the car and provisions the pairing
 * verifier. Returns the password, which goes to the owner and nowhere else.
 */
export function installVehicleEnrollment(
  vehicle: ProvisionableVehicle,
  enrollment: Pick<VehicleEnrollmentResponse, "vehicleCertificate" | "trustAnchors" | "pairing">,
): { password: string; pairingId: string; expiresAt: string } {
  vehicle.installCertificates({
    vehicleCertificate: enrollment.vehicleCertificate,
    vehicleOemRoot: enrollment.trustAnchors.vehicleOemRoot,
    // Every Device OEM the service trusts (a car opens for phones of each), else, from a service that
    // predates the list, its own.
    deviceOemRoots: enrollment.trustAnchors.deviceOemRoots?.map((root) => root.certificate) ?? [
      enrollment.trustAnchors.deviceOemRoot,
    ],
  });
  provisionPairingMaterial(vehicle, enrollment.pairing);
  const { password, pairingId, expiresAt } = enrollment.pairing;
  return { password, pairingId, expiresAt };
}

/**
 * Verifies a key record's receipt with the Vehicle OEM root (PEM) and checks
 * that it says what the record says: the same endpoint key, vehicle and role,
 * and for a friend key the attestation serial. Returns the signed facts.
 */
export function verifyKeyReceipt(key: RegisteredKey, vehicleOemRootPem: string): KeyTrackingReceiptFacts {
  const root = parseCertificate(vehicleOemRootPem);
  const facts = verifyKeyTrackingReceipt(fromHex(key.receipt, "receipt"), root.subjectPublicKey);
  const endpoint = fromHex(key.endpointPublicKey, "endpointPublicKey");
  const mismatch =
    !equalBytes(facts.endpointPublicKey, endpoint) ||
    toHex(keyIdentifier(facts.endpointPublicKey)) !== key.keyId ||
    toHex(facts.vehicleIdentifier) !== key.vehicleId ||
    facts.role !== key.role ||
    facts.attestationSerial !== key.attestationSerial;
  if (mismatch) throw new ServiceResponseError(`the receipt of key ${key.keyId} does not match its record`);
  return facts;
}
