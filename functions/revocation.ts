// Remote revocation (docs/protocol.md §12): the owner's device posts its SE's RVKE
// statement (device-signed by the owner endpoint key), the OEM backend
// revokes a key (oem), and the SE holding a revoked key confirms its deletion
// with the termination attestation (device-signed by its instance key). Each
// revocation signs a terminate-key notice with the Device OEM root.
import "reflect-metadata";
import { createHttpHandler } from "./lib/http-handler.js";

export const handler = createHttpHandler("revocation", {
  "POST /v1/revocations": async ({ body, raw, service }) => {
    const outcome = await service.revocations.revokeByOwner(body, raw);
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
  "POST /v1/keys/{keyId}/revocation": async ({ params, caller, service }) => {
    const outcome = await service.revocations.revokeByOem(params.keyId, caller ?? "unknown");
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
  "POST /v1/keys/{keyId}/termination": async ({ params, body, raw, service }) => {
    const outcome = await service.revocations.confirmTermination(params.keyId, body, raw);
    return { status: outcome.created ? 201 : 200, body: outcome.response };
  },
});
