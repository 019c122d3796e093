// The framework applet of owner pairing (docs/protocol.md §9
// "Owner pairing"): SELECT, SPAKE2+ REQUEST and VERIFY with
// the password the owner entered on the device, then WRITE DATA / GET DATA
// under secure messaging keyed from the SPAKE2+ secret. SPAKE2+ proves only
// that the other side knows the password's verifier; in WRITE DATA the
// vehicle must also prove it holds the key of the certificate it presents
// (a signature over both shares of this session), or no owner key is made.
// The owner key it creates stays staged until the vehicle's signed pairing
// confirmation for it arrived and CONTROL FLOW ends the pairing, so a failed
// or torn pairing stores nothing. Like the Digital Key applet, it is a command
// table on the applet core, which also chains GET DATA's long answer.
import type { CommandApdu } from "../../protocol/apdu.js";
import { tlv } from "../../protocol/ber-tlv.js";
import { equalBytes } from "../../protocol/bytes.js";
import { certificatePublicKey, parseCertificate } from "../../protocol/certificate-verifier.js";
import {
  CLA_PROPRIETARY,
  CLA_SECURE,
  FRAMEWORK_AID,
  INS,
  SUPPORTED_VERSIONS,
} from "../../protocol/constants.js";
import {
  checkPairingConfirmationFor,
  verifyPairingConfirmation,
} from "../../protocol/pairing-confirmation.js";
import {
  checkChosenVersion,
  deviceDataPlaintext,
  frameworkSelectResponse,
  PAIRING_INS,
  PAIRING_TAG,
  PairingState,
  pairingContext,
  pairingSessionKeys,
  parseSpake2Request,
  parseSpake2Verify,
  parseVehicleData,
  WRITE_DATA_P1,
} from "../../protocol/pairing-messages.js";
import { derivePasswordScalars, validateScryptParams } from "../../protocol/pairing-password.js";
import { SecureMessagingSession } from "../../protocol/secure-messaging.js";
import {
  createProver,
  P256_SHA256_HKDF_SHA256_CMAC_AES128,
  type Spake2PlusProver,
} from "../../protocol/spake2plus.js";
import { SW } from "../../protocol/status-words.js";
import { verifyVehiclePairingProof } from "../../protocol/vehicle-pairing-proof.js";
import { ApduApplet, type AppletAnswer, type AppletDefinition, ok, refuse } from "./apdu-applet.js";

/** An owner key created during pairing, not yet stored. */
export interface StagedOwnerKey {
  readonly endpointPublicKey: Uint8Array;
  readonly endpointCertificate: Uint8Array;
  readonly instanceCaCertificate: Uint8Array;
}

export interface PairingHost {
  /** The password the owner entered in the wallet, if pairing was started on the device. */
  pairingPassword(): string | undefined;
  randomBytes(length: number): Uint8Array;
  /** Checks the vehicle's certificate, creates the owner key bound to it and certifies it; stores nothing yet. */
  stageOwnerKey(vehicleIdentifier: Uint8Array, vehicleCertificate: Uint8Array): Promise<StagedOwnerKey>;
  /** Stores the staged key with the vehicle's pairing confirmation for it (verified here). */
  commitOwnerKey(staged: StagedOwnerKey, pairingConfirmation: Uint8Array): void;
  discardOwnerKey(staged: StagedOwnerKey): void;
}

type Phase = "idle" | "selected" | "requested" | "secured" | "written" | "answered" | "confirmed";

export class FrameworkApplet extends ApduApplet {
  private phase: Phase = "idle";
  private prover?: Spake2PlusProver;
  private secure?: SecureMessagingSession;
  private shareV?: Uint8Array;
  /** The vehicle that proved itself in WRITE DATA: its identifier and certified public key. */
  private vehicle?: { identifier: Uint8Array; publicKey: Uint8Array };
  private staged?: StagedOwnerKey;
  private confirmation?: Uint8Array;
  // Every command not in the table answers 6D00, whatever its class; GET RESPONSE is the core's.
  protected readonly definition: AppletDefinition = {
    commands: [
      { cla: 0x00, ins: INS.SELECT, run: (c) => this.select(c) },
      { cla: CLA_PROPRIETARY, ins: PAIRING_INS.SPAKE2_REQUEST, run: (c) => this.request(c) },
      { cla: CLA_PROPRIETARY, ins: PAIRING_INS.SPAKE2_VERIFY, run: (c) => this.verify(c) },
      { cla: CLA_SECURE, ins: PAIRING_INS.WRITE_DATA, run: (c) => this.writeData(c) },
      { cla: CLA_SECURE, ins: PAIRING_INS.GET_DATA, run: (c) => this.getData(c) },
      { cla: CLA_PROPRIETARY, ins: INS.CONTROL_FLOW, run: (c) => this.controlFlow(c) },
    ],
    chainsResponses: true,
    resetSession: () => {
      if (this.staged) this.host.discardOwnerKey(this.staged);
      this.phase = "idle";
      this.prover = undefined;
      this.secure = undefined;
      this.shareV = undefined;
      this.vehicle = undefined;
      this.staged = undefined;
      this.confirmation = undefined;
    },
  };

  constructor(private readonly host: PairingHost) {
    super();
  }

  private select(c: CommandApdu): AppletAnswer {
    this.reset();
    if (!equalBytes(c.data, FRAMEWORK_AID)) return { sw: SW.APPLET_NOT_FOUND };
    this.phase = "selected";
    const state = this.host.pairingPassword() ? PairingState.PASSWORD_ENTERED : PairingState.UNPAIRED;
    return ok(frameworkSelectResponse(SUPPORTED_VERSIONS, state));
  }

  private request(c: CommandApdu): AppletAnswer {
    const password = this.host.pairingPassword();
    if (this.phase !== "selected" || !password) return refuse(SW.CONDITIONS_NOT_SATISFIED);
    const request = parseSpake2Request(c);
    checkChosenVersion(request.chosenVersion);
    // A hostile car could ask for an absurd scrypt cost to exhaust the phone: the limits refuse it.
    const scalars = derivePasswordScalars(password, validateScryptParams(request.scrypt));
    this.prover = createProver({
      suite: P256_SHA256_HKDF_SHA256_CMAC_AES128,
      context: pairingContext(request.chosenVersion, request.appletVersions, request.brand),
      idProver: new Uint8Array(0),
      idVerifier: new Uint8Array(0),
      w0: scalars.w0,
      w1: scalars.w1,
      random: (n) => this.host.randomBytes(n),
    });
    this.phase = "requested";
    return ok(tlv(PAIRING_TAG.SHARE_P, this.prover.shareP));
  }

  private verify(c: CommandApdu): AppletAnswer {
    if (this.phase !== "requested" || !this.prover) return refuse(SW.CONDITIONS_NOT_SATISFIED);
    const { shareV, vehicleEvidence } = parseSpake2Verify(c);
    const { confirmP, sharedKey } = this.prover.finish(shareV, vehicleEvidence);
    this.secure = new SecureMessagingSession(pairingSessionKeys(sharedKey));
    this.shareV = shareV;
    this.phase = "secured";
    return ok(tlv(PAIRING_TAG.DEVICE_EVIDENCE, confirmP));
  }

  private async writeData(c: CommandApdu): Promise<AppletAnswer> {
    if (c.p1 === WRITE_DATA_P1.PAIRING_CONFIRMATION && c.p2 === 0) return this.writeConfirmation(c);
    if (c.p1 !== WRITE_DATA_P1.VEHICLE_DATA || c.p2 !== 0) return refuse(SW.WRONG_P1P2);
    if (this.phase !== "secured" || !this.secure || !this.prover || !this.shareV)
      return refuse(SW.CONDITIONS_NOT_SATISFIED);
    const { vehicleIdentifier, vehicleCertificate, vehicleProof } = parseVehicleData(
      this.secure.unprotectCommand(c.data),
    );
    // Before any key exists: the car must sign this session with its certificate's key (6300 otherwise).
    // The certificate's chain to the Vehicle OEM root is the host's check, in stageOwnerKey.
    const vehiclePublicKey = certificatePublicKey(parseCertificate(vehicleCertificate));
    verifyVehiclePairingProof(
      vehicleProof,
      { vehicleIdentifier, shareP: this.prover.shareP, shareV: this.shareV },
      vehiclePublicKey,
    );
    this.staged = await this.host.stageOwnerKey(vehicleIdentifier, vehicleCertificate);
    this.vehicle = { identifier: vehicleIdentifier, publicKey: vehiclePublicKey };
    this.phase = "written";
    return ok(this.secure.protectResponse(new Uint8Array(0)));
  }

  /** The vehicle's signed pairing confirmation for the key it received in GET DATA. */
  private writeConfirmation(c: CommandApdu): AppletAnswer {
    if (this.phase !== "answered" || this.responsePending || !this.secure || !this.staged || !this.vehicle) {
      return refuse(SW.CONDITIONS_NOT_SATISFIED);
    }
    const confirmation = this.secure.unprotectCommand(c.data);
    const facts = verifyPairingConfirmation(confirmation, this.vehicle.publicKey);
    checkPairingConfirmationFor(facts, this.vehicle.identifier, this.staged.endpointPublicKey);
    this.confirmation = confirmation;
    this.phase = "confirmed";
    return ok(this.secure.protectResponse(new Uint8Array(0)));
  }

  private getData(c: CommandApdu): AppletAnswer {
    if (this.phase !== "written" || !this.secure || !this.staged) return refuse(SW.CONDITIONS_NOT_SATISFIED);
    this.secure.unprotectCommand(c.data);
    this.phase = "answered";
    // Longer than one short response: the core sends it in chunks, the vehicle fetches them with GET RESPONSE.
    return ok(
      this.secure.protectResponse(
        deviceDataPlaintext(this.staged.endpointCertificate, this.staged.instanceCaCertificate),
      ),
    );
  }

  private controlFlow(c: CommandApdu): AppletAnswer {
    if (c.p1 === 0x01 && c.p2 === 0x00 && this.phase === "confirmed" && this.staged && this.confirmation) {
      this.host.commitOwnerKey(this.staged, this.confirmation);
      this.staged = undefined;
      this.reset();
      return ok();
    }
    this.reset();
    return ok();
  }
}
