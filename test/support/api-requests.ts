// API Gateway events for the service's requests, signed as a device signs
// them (over the exact body bytes the event carries), for the handler tests.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { toHex } from "../../src/protocol/bytes.js";
import type { KeyPair } from "../../src/protocol/p256.js";
import { apiEvent, bodyBytes, type EventOptions } from "./lambda-harness.js";
import { confirmPairing, type SignOptions, type TestDevice, type TestEndpoint } from "./test-device.js";

type Signer = (options: SignOptions) => Record<string, string>;

/** A device-signed event: the signature covers method, rawPath?query and the body bytes sent. */
export function signedEvent(
  routeKey: string,
  body: unknown,
  sign: Signer,
  options: Omit<EventOptions, "body"> & { sign?: Partial<SignOptions> } = {},
): APIGatewayProxyEventV2 {
  const [method, template] = routeKey.split(" ") as [string, string];
  const path =
    template.replace(/\{(\w+)\}/g, (_, name: string) => options.params?.[name] ?? "") +
    (options.query ? `?${options.query}` : "");
  const headers = sign({ method, path, body: bodyBytes(body), ...options.sign });
  return apiEvent(routeKey, { ...options, body, headers: { ...options.headers, ...headers } });
}

export function deviceEnrollmentEvent(
  device: TestDevice,
  body: unknown = device.enrollmentBody(),
  options: Parameters<typeof signedEvent>[3] = {},
): APIGatewayProxyEventV2 {
  return signedEvent("POST /v1/devices", body, (o) => device.signAsInstance(o), options);
}

export function keyRegistrationBody(
  device: TestDevice,
  endpoint: TestEndpoint,
  keyAttestation?: Uint8Array,
  pairingConfirmation?: Uint8Array,
) {
  return {
    endpointCertificate: endpoint.certificatePem,
    instanceCaCertificate: device.instanceCaCertificatePem!,
    ...(keyAttestation ? { keyAttestation: toHex(keyAttestation) } : {}),
    ...(pairingConfirmation ? { pairingConfirmation: toHex(pairingConfirmation) } : {}),
  };
}

/** POST /v1/keys; an owner key passes the car's `pairingConfirmation` (confirmPairing) in the options. */
export function keyRegistrationEvent(
  device: TestDevice,
  endpoint: TestEndpoint,
  keyAttestation?: Uint8Array,
  options: Parameters<typeof signedEvent>[3] & { pairingConfirmation?: Uint8Array } = {},
): APIGatewayProxyEventV2 {
  const { pairingConfirmation, ...eventOptions } = options;
  return signedEvent(
    "POST /v1/keys",
    keyRegistrationBody(device, endpoint, keyAttestation, pairingConfirmation),
    (o) => endpoint.sign(o),
    eventOptions,
  );
}

/**
 * POST /v1/keys for an owner key as a device sends it after pairing: with the
 * car's pairing confirmation, signed by `vehicle`'s key under `pairingId`
 * (from the vehicle's enrollment or new pairing material).
 */
export function ownerRegistrationEvent(
  device: TestDevice,
  owner: TestEndpoint,
  vehicle: { id: Uint8Array; keyPair: KeyPair },
  pairingId: string,
  options: Parameters<typeof signedEvent>[3] = {},
): APIGatewayProxyEventV2 {
  const pairingConfirmation = confirmPairing(vehicle.keyPair, {
    pairingId,
    vehicleId: vehicle.id,
    endpoint: owner,
  });
  return keyRegistrationEvent(device, owner, undefined, { ...options, pairingConfirmation });
}

export function vehicleEnrollmentEvent(
  vehicle: { idHex: string; keyPair: KeyPair },
  extra: Record<string, unknown> = {},
): APIGatewayProxyEventV2 {
  return apiEvent("POST /v1/vehicles", {
    iam: true,
    body: { vehicleId: vehicle.idHex, vehiclePublicKey: toHex(vehicle.keyPair.publicKey), ...extra },
  });
}
