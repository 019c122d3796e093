// Owner pairing as the vehicle runs it (docs/protocol.md "Owner pairing"):
// SPAKE2+ with the verifier the automaker provisioned (w0, L — never the
// password), then, under secure messaging from the SPAKE2+ secret, the car
// sends its identifier, its certificate and its signature over both SPAKE2+
// shares (the proof that it holds the certificate's key), receives the new
// owner key's endpoint certificate and instance CA certificate, which it
// verifies to a Device OEM root it trusts, and answers with its signed
// pairing confirmation for that key, naming the automaker's pairing id.
// Nothing is stored here: the vehicle commits the returned endpoint once the
// device confirmed the end.
import type { CommandApdu } from "../../protocol/apdu.js";
import { swHex } from "../../protocol/apdu.js";
import { TlvMap } from "../../protocol/ber-tlv.js";
import { equalBytes, toHex } from "../../protocol/bytes.js";
import { verifyCertificateChain } from "../../protocol/certificate-verifier.js";
import { SUPPORTED_VERSIONS } from "../../protocol/constants.js";
import { deviceIdFromInstanceKey } from "../../protocol/device-identity.js";
import { ProtocolError } from "../../protocol/errors.js";
import { keyIdentifier, type RandomSource } from "../../protocol/p256.js";
import { encodePairingConfirmation, pairingConfirmationBody } from "../../protocol/pairing-confirmation.js";
import {
  frameworkSelectCommand,
  getDataCommand,
  PAIRING_TAG,
  PairingState,
  pairingContext,
  pairingSessionKeys,
  parseDeviceData,
  parseFrameworkSelectResponse,
  SPAKE2PLUS_VERSION,
  spake2RequestCommand,
  spake2VerifyCommand,
  vehicleDataPlaintext,
  writeConfirmationCommand,
  writeDataCommand,
} from "../../protocol/pairing-messages.js";
import type { PairingVerifier } from "../../protocol/pairing-password.js";
import { SecureMessagingSession } from "../../protocol/secure-messaging.js";
import { createVerifier, P256_SHA256_HKDF_SHA256_CMAC_AES128 } from "../../protocol/spake2plus.js";
import { describeStatus, SW } from "../../protocol/status-words.js";
import { endTransactionCommand } from "../../protocol/transaction-messages.js";
import { vehiclePairingProofBody } from "../../protocol/vehicle-pairing-proof.js";
import { type ApduChannel, transmit } from "./apdu-channel.js";
import { ChannelError, PairingRefusedError } from "./errors.js";
import type { EnrolledEndpoint } from "./vehicle-state.js";

export interface PairingContext {
  readonly vehicleIdentifier: Uint8Array;
  readonly vehicleCertificate: Uint8Array;
  readonly verifier: PairingVerifier;
  /** The automaker's id of the pairing material the verifier belongs to; named in the confirmation. */
  readonly pairingId: Uint8Array;
  /** ECDSA-P256-SHA256 (raw r‖s) with the vehicle's private key, the key of `vehicleCertificate`. */
  readonly signAsVehicle: (message: Uint8Array) => Uint8Array;
  readonly brand: Uint8Array;
  readonly deviceOemRoots: readonly string[];
  readonly now: Date;
  readonly random: RandomSource;
}

async function step(channel: ApduChannel, command: CommandApdu, name: string): Promise<Uint8Array> {
  let response: Awaited<ReturnType<typeof transmit>>;
  try {
    response = await transmit(channel, command, name);
  } catch (error) {
    if (error instanceof ChannelError) throw new PairingRefusedError(error.message);
    throw error;
  }
  // 6300 means "wrong password" only as the answer to VERIFY; at WRITE DATA it is the device
  // refusing the vehicle certificate, which is no password guess and must not use up an attempt.
  if (response.sw === SW.VERIFICATION_FAILED && name === "SPAKE2+ VERIFY") {
    throw new PairingRefusedError(
      `${name}: the device rejected the vehicle's evidence (wrong password)`,
      true,
    );
  }
  if (response.sw !== SW.OK) {
    throw new PairingRefusedError(
      `${name}: device answered ${swHex(response.sw)} (${describeStatus(response.sw)})`,
    );
  }
  return response.data;
}

/**
 * Once the vehicle has sent its evidence, the device can tell offline whether
 * the password it tried was right; a run that then ends without valid device
 * evidence — any status, a torn field — counts as a failed attempt, or an
 * attacker could test guesses without limit by never answering VERIFY.
 */
function countedAsAttempt(error: unknown): unknown {
  return error instanceof PairingRefusedError && !error.countsAsAttempt
    ? new PairingRefusedError(error.message, true)
    : error;
}

/** Runs the pairing and returns the owner endpoint to enroll; throws PairingRefusedError. */
export async function runOwnerPairing(channel: ApduChannel, ctx: PairingContext): Promise<EnrolledEndpoint> {
  try {
    return await pair(channel, ctx);
  } catch (error) {
    if (error instanceof PairingRefusedError) throw error;
    if (error instanceof ProtocolError)
      throw new PairingRefusedError(error.message, error.name === "VerificationError");
    throw error;
  }
}

async function pair(channel: ApduChannel, ctx: PairingContext): Promise<EnrolledEndpoint> {
  const selected = parseFrameworkSelectResponse(await step(channel, frameworkSelectCommand(), "SELECT"));
  if (selected.state !== PairingState.PASSWORD_ENTERED) {
    throw new PairingRefusedError("the device has not started pairing (no password entered)");
  }
  if (!equalBytes(selected.spakeVersions.subarray(0, 2), SPAKE2PLUS_VERSION)) {
    throw new PairingRefusedError("no common SPAKE2+ version");
  }
  const request = {
    chosenVersion: SPAKE2PLUS_VERSION,
    appletVersions: SUPPORTED_VERSIONS,
    scrypt: { salt: ctx.verifier.salt, N: ctx.verifier.N, r: ctx.verifier.r, p: ctx.verifier.p },
    brand: ctx.brand,
  };
  const shareP = TlvMap.parse(await step(channel, spake2RequestCommand(request), "SPAKE2+ REQUEST")).require(
    PAIRING_TAG.SHARE_P,
    "X",
    65,
  );
  const verifier = createVerifier({
    suite: P256_SHA256_HKDF_SHA256_CMAC_AES128,
    context: pairingContext(request.chosenVersion, request.appletVersions, request.brand),
    idProver: new Uint8Array(0),
    idVerifier: new Uint8Array(0),
    w0: ctx.verifier.w0,
    L: ctx.verifier.L,
    random: ctx.random,
  });
  let response: ReturnType<typeof verifier.respond>;
  try {
    response = verifier.respond(shareP);
  } catch (error) {
    throw new PairingRefusedError(
      `SPAKE2+ REQUEST: invalid share from the device (${(error as Error).message})`,
      true,
    );
  }
  let sharedKey: Uint8Array;
  try {
    const verified = TlvMap.parse(
      await step(channel, spake2VerifyCommand(response.shareV, response.confirmV), "SPAKE2+ VERIFY"),
    ).require(PAIRING_TAG.DEVICE_EVIDENCE, "device evidence", 16);
    try {
      sharedKey = verifier.finish(verified);
    } catch {
      throw new PairingRefusedError(
        "SPAKE2+ VERIFY: the device's evidence does not verify (wrong password)",
        true,
      );
    }
  } catch (error) {
    if (error instanceof ProtocolError)
      throw new PairingRefusedError(`SPAKE2+ VERIFY: ${error.message}`, true);
    throw countedAsAttempt(error);
  }

  const secure = new SecureMessagingSession(pairingSessionKeys(sharedKey));
  const proof = ctx.signAsVehicle(
    vehiclePairingProofBody({
      vehicleIdentifier: ctx.vehicleIdentifier,
      shareP,
      shareV: response.shareV,
    }),
  );
  secure.unprotectResponse(
    await step(
      channel,
      writeDataCommand(
        secure.protectCommand(vehicleDataPlaintext(ctx.vehicleIdentifier, ctx.vehicleCertificate, proof)),
      ),
      "WRITE DATA",
    ),
  );
  const device = parseDeviceData(
    secure.unprotectResponse(
      await step(channel, getDataCommand(secure.protectCommand(new Uint8Array(0))), "GET DATA"),
    ),
  );
  const chain = verifyCertificateChain({
    leaf: device.endpointCertificate,
    intermediates: [device.instanceCaCertificate],
    anchors: ctx.deviceOemRoots,
    expectedLeafProfile: "endpoint",
    at: ctx.now,
  });
  if (chain.keyRole !== "owner")
    throw new PairingRefusedError("GET DATA: the new key's certificate is not an owner key");
  if (!chain.vehicleIdentifier || !equalBytes(chain.vehicleIdentifier, ctx.vehicleIdentifier)) {
    throw new PairingRefusedError("GET DATA: the new key is bound to another vehicle");
  }
  const confirmationBody = pairingConfirmationBody({
    pairingId: ctx.pairingId,
    vehicleIdentifier: ctx.vehicleIdentifier,
    endpointPublicKey: chain.publicKey,
    confirmedAt: ctx.now.getTime(),
  });
  const confirmation = encodePairingConfirmation(confirmationBody, ctx.signAsVehicle(confirmationBody));
  secure.unprotectResponse(
    await step(
      channel,
      writeConfirmationCommand(secure.protectCommand(confirmation)),
      "WRITE DATA (pairing confirmation)",
    ),
  );
  await step(channel, endTransactionCommand(), "CONTROL FLOW");
  return {
    keyId: toHex(keyIdentifier(chain.publicKey)),
    endpointPublicKey: toHex(chain.publicKey),
    profile: { kind: "full" },
    role: "owner",
    enrolledAt: ctx.now.toISOString(),
    deviceId: toHex(deviceIdFromInstanceKey(chain.chain[1]!.subjectPublicKey)),
  };
}
