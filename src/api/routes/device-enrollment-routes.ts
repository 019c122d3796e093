// Secure element enrollment (functions/device-enrollment.ts).
import { DeviceEnrollmentRequestSchema, DeviceEnrollmentResponseSchema } from "../issuance-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { DEVICE_WRITE_PROBLEMS } from "./problem-groups.js";

export const DEVICE_ENROLLMENT_ROUTES = defineRouteSet("device-enrollment", {
  "POST /v1/devices": {
    auth: "device",
    summary: "Enroll a secure element: certify its instance CA",
    description:
      "Enrolls a secure element: checks the manufacturer's factory attestation and proof of possession of the " +
      "instance CA key (the request signature), then returns the Instance CA certificate from the Device OEM " +
      "root. A repeat returns the same certificate (200).",
    body: { schema: DeviceEnrollmentRequestSchema },
    response: {
      status: 201,
      repeatStatus: 200,
      content: { mediaType: "application/json", schema: DeviceEnrollmentResponseSchema },
    },
    problems: DEVICE_WRITE_PROBLEMS,
  },
});
