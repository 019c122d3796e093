// Remote revocation and termination (functions/revocation.ts).
import {
  OwnerRevocationRequestSchema,
  RevocationSchema,
  TerminationRequestSchema,
} from "../lifecycle-schemas.js";
import { defineRouteSet } from "../route-contract.js";
import { KeyIdParamsSchema } from "../schema-primitives.js";
import { DEVICE_WRITE_PROBLEMS, OEM_WRITE_PROBLEMS } from "./problem-groups.js";

const revocation = {
  status: 201,
  repeatStatus: 200,
  content: { mediaType: "application/json", schema: RevocationSchema },
} as const;

export const REVOCATION_ROUTES = defineRouteSet("revocation", {
  "POST /v1/revocations": {
    auth: "device",
    summary: "The owner's device revokes a friend key (RVKE statement, signed by the owner endpoint key)",
    description:
      "The owner's device revokes a friend key: the body is the RVKE statement its SE signed, and the request is " +
      "signed by the same owner endpoint key, which must be the vehicle's owner key on record (else 403). Records " +
      "the revocation, a terminate-key notice for the friend's SE and an entry in the vehicle's revocation list. " +
      "A repeat answers the revocation on record (200).",
    body: { schema: OwnerRevocationRequestSchema },
    response: revocation,
    problems: DEVICE_WRITE_PROBLEMS,
  },
  "POST /v1/keys/{keyId}/revocation": {
    auth: "oem",
    serverToServer: true,
    summary: "The OEM backend revokes a key",
    description:
      "The OEM backend revokes a key; the same records as an owner's revocation. A repeat answers 200.",
    params: KeyIdParamsSchema,
    response: revocation,
    problems: [...OEM_WRITE_PROBLEMS, "unavailable"],
  },
  "POST /v1/keys/{keyId}/termination": {
    auth: "device",
    summary: "The SE holding a revoked key confirms its deletion with the termination attestation",
    description:
      "The SE holding a revoked key posts its termination attestation (signed by the instance key of that SE); " +
      "verified with the endpoint key on record, the key becomes terminated: the revocation is confirmed. For an " +
      "active or expired key whose profile has ended by the attestation's time (the SE deleted it on expiry) the " +
      "key becomes expired, with the termination recorded, and frees its friend-key slot.",
    params: KeyIdParamsSchema,
    body: { schema: TerminationRequestSchema },
    response: revocation,
    problems: DEVICE_WRITE_PROBLEMS,
  },
});
