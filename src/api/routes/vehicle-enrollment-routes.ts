// Vehicle enrollment and owner-pairing material (functions/vehicle-enrollment.ts).
import {
  PairingRequestSchema,
  PairingResponseSchema,
  VehicleEnrollmentRequestSchema,
  VehicleEnrollmentResponseSchema,
} from "../issuance-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { VehicleIdParamsSchema } from "../schema-primitives.js";
import { OEM_WRITE_PROBLEMS } from "./problem-groups.js";

export const VEHICLE_ENROLLMENT_ROUTES = defineRouteSet("vehicle-enrollment", {
  "POST /v1/vehicles": {
    auth: "oem",
    summary: "Enroll a vehicle: certificate, trust anchors, owner-pairing material",
    description:
      "Enrolls a vehicle: its certificate from the Vehicle OEM root, the trust anchors it needs, and " +
      "owner-pairing material (the password, to give to the owner; the verifier, to provision into the car). " +
      "A repeat with the same key returns the same certificate and new pairing material (200).",
    body: { schema: VehicleEnrollmentRequestSchema },
    response: {
      status: 201,
      repeatStatus: 200,
      content: { mediaType: "application/json", schema: VehicleEnrollmentResponseSchema },
    },
    problems: [...OEM_WRITE_PROBLEMS, "unavailable"],
  },
  "POST /v1/vehicles/{vehicleId}/pairing": {
    auth: "oem",
    summary: "New owner-pairing material for an enrolled vehicle",
    description:
      "New owner-pairing material for an enrolled vehicle; the previous password stops being accepted for " +
      "registration. With an owner key on record it is a new phone's: registering its owner key replaces the " +
      "old one (revoked as migrated, its SE told to terminate it); friend keys stay valid.",
    params: VehicleIdParamsSchema,
    body: { schema: PairingRequestSchema },
    response: { status: 201, content: { mediaType: "application/json", schema: PairingResponseSchema } },
    problems: OEM_WRITE_PROBLEMS,
  },
});
