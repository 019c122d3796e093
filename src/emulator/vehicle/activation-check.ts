// The car's side of activation codes (docs/protocol.md §26): a shared key
// whose attestation carries an activation check enrolls only with the code
// the owner was shown. Checked after the key proved possession of its
// endpoint key in AUTH1, so nobody without the friend's key can spend the
// share's attempts; a wrong code counts (persisted at once, whatever the
// transaction's end), and after MAX_ACTIVATION_ATTEMPTS the share is refused
// for good. A share whose code enrolled a key can never enroll again.
import {
  ACTIVATION_CODE_DIGITS,
  activationCodeMatches,
  activationKey,
  MAX_ACTIVATION_ATTEMPTS,
} from "../../protocol/activation-code.js";
import { fromHex } from "../../protocol/bytes.js";
import { ownerKeyById } from "./shared-key-policy.js";
import type { EnrolledEndpoint, VehicleState } from "./vehicle-state.js";

/** The share an activation code belongs to: the signing owner key and the attestation's serial. */
export function activationShare(endpoint: EnrolledEndpoint): string {
  return `${endpoint.attestedBy}:${endpoint.attestationSerial}`;
}

/**
 * Why the code of a key being enrolled is refused (counting a wrong one in
 * `state`), or undefined when it is right; then the transient check is
 * removed from the endpoint, which is marked activated.
 */
export function activationRefusal(state: VehicleState, endpoint: EnrolledEndpoint): string | undefined {
  const pending = endpoint.pendingActivation;
  if (!pending) return undefined;
  const share = activationShare(endpoint);
  if (state.activationsUsed?.includes(share)) {
    return "the activation code of this share was already used; the owner must share again";
  }
  const attempts = state.activationAttempts?.[share] ?? 0;
  if (attempts >= MAX_ACTIVATION_ATTEMPTS) {
    return `activation blocked after ${MAX_ACTIVATION_ATTEMPTS} wrong codes; the owner must share again`;
  }
  if (pending.code === null) {
    return `an activation code is required: enter the ${ACTIVATION_CODE_DIGITS}-digit code the owner was shown`;
  }
  const owner = ownerKeyById(state, endpoint.attestedBy!);
  const right =
    owner !== undefined &&
    activationCodeMatches(
      activationKey(
        fromHex(state.privateKey),
        owner,
        fromHex(state.vehicleIdentifier),
        fromHex(endpoint.attestedBy!),
      ),
      fromHex(pending.check),
      fromHex(endpoint.keyId),
      endpoint.attestationSerial!,
      pending.code,
    );
  if (!right) {
    state.activationAttempts = { ...state.activationAttempts, [share]: attempts + 1 };
    const left = MAX_ACTIVATION_ATTEMPTS - attempts - 1;
    return left > 0
      ? `wrong activation code (${left} attempt${left === 1 ? "" : "s"} left)`
      : `wrong activation code; activation blocked after ${MAX_ACTIVATION_ATTEMPTS} wrong codes`;
  }
  delete endpoint.pendingActivation;
  endpoint.activatedWithCode = true;
  return undefined;
}
