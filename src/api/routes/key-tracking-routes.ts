// Key registration and the OEM's reads of key records (functions/key-tracking.ts).
import { KeyRegistrationRequestSchema, KeySchema, VehicleKeysResponseSchema } from "../issuance-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { KeyIdParamsSchema, VehicleIdParamsSchema } from "../schema-primitives.js";
import { DEVICE_WRITE_PROBLEMS, OEM_READ_PROBLEMS } from "./problem-groups.js";

export const KEY_TRACKING_ROUTES = defineRouteSet("key-tracking", {
  "POST /v1/keys": {
    auth: "device",
    summary: "Register an owner or friend key; returns a signed receipt",
    description:
      "Registers an owner or friend key: the endpoint certificate chain must lead to the Device OEM root, the " +
      "request must be signed by the endpoint key, an owner key needs the vehicle's pairing confirmation for it " +
      "(signed by the vehicle key on record; it spends the pairing material it names, and replaces a previous " +
      "owner), and a friend key needs the owner's key attestation. Returns a receipt signed by the Vehicle OEM " +
      "root. A repeat returns the same record (200).",
    body: { schema: KeyRegistrationRequestSchema },
    response: {
      status: 201,
      repeatStatus: 200,
      content: { mediaType: "application/json", schema: KeySchema },
    },
    problems: DEVICE_WRITE_PROBLEMS,
  },
  "GET /v1/keys/{keyId}": {
    auth: "oem",
    serverToServer: true,
    summary: "One key's record",
    description: "One key's record.",
    params: KeyIdParamsSchema,
    response: { status: 200, content: { mediaType: "application/json", schema: KeySchema } },
    problems: OEM_READ_PROBLEMS,
  },
  "GET /v1/vehicles/{vehicleId}/keys": {
    auth: "oem",
    serverToServer: true,
    summary: "The keys registered for a vehicle",
    description: "The keys registered for a vehicle (eventually consistent).",
    params: VehicleIdParamsSchema,
    response: { status: 200, content: { mediaType: "application/json", schema: VehicleKeysResponseSchema } },
    problems: OEM_READ_PROBLEMS,
  },
});
