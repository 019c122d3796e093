// The framework applet of owner pairing (docs/protocol.md §9
// "Owner pairing"): SELECT, SPAKE2+ REQUEST and VERIFY with
// the password the owner entered on the device, then WRITE DATA / GET DATA
// under secure messaging keyed from the SPAKE2+ secret. SPAKE2+ proves only
// that the other side knows the password's verifier; in WRITE DATA the
// vehicle must also prove it holds the key of the certificate it presents
// (a signature over both shares of this session), or no owner key is made.
// The owner key it creates stays staged until the vehicle's signed pairing
// confirmation for it arrived and CONTROL FLOW ends the pairing, so a failed
// or torn pairing stores nothing. Like the Digital Key applet, it never throws.
import { type CommandApdu, parseCommand } from "../../protocol/apdu.js";
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
import { reply, statusForError } from "./applet-status.js";

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

/** Largest data field of one short response; longer answers continue with GET RESPONSE. */
const CHUNK = 256;

export class FrameworkApplet {
  private phase: Phase = "idle";
  private prover?: Spake2PlusProver;
  private secure?: SecureMessagingSession;
  private shareV?: Uint8Array;
  /** The vehicle that proved itself in WRITE DATA: its identifier and certified public key. */
  private vehicle?: { identifier: Uint8Array; publicKey: Uint8Array };
  private staged?: StagedOwnerKey;
  private confirmation?: Uint8Array;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly host: PairingHost) {}

  reset(): void {
    if (this.staged) this.host.discardOwnerKey(this.staged);
    this.phase = "idle";
    this.prover = undefined;
    this.secure = undefined;
    this.shareV = undefined;
    this.vehicle = undefined;
    this.staged = undefined;
    this.confirmation = undefined;
    this.pending = new Uint8Array(0);
  }

  async process(commandBytes: Uint8Array): Promise<Uint8Array> {
    let command: CommandApdu;
    try {
      command = parseCommand(commandBytes);
    } catch {
      this.reset();
      return reply(SW.WRONG_LENGTH);
    }
    try {
      return await this.dispatch(command);
    } catch (error) {
      this.reset();
      return reply(statusForError(error));
    }
  }

  private async dispatch(c: CommandApdu): Promise<Uint8Array> {
    if (c.cla === 0x00 && c.ins === INS.SELECT) return this.select(c);
    if (c.cla === 0x00 && c.ins === PAIRING_INS.GET_RESPONSE) return this.getResponse();
    if (c.cla === CLA_PROPRIETARY && c.ins === PAIRING_INS.SPAKE2_REQUEST) return this.request(c);
    if (c.cla === CLA_PROPRIETARY && c.ins === PAIRING_INS.SPAKE2_VERIFY) return this.verify(c);
    if (c.cla === CLA_SECURE && c.ins === PAIRING_INS.WRITE_DATA) return this.writeData(c);
    if (c.cla === CLA_SECURE && c.ins === PAIRING_INS.GET_DATA) return this.getData(c);
    if (c.cla === CLA_PROPRIETARY && c.ins === INS.CONTROL_FLOW) return this.controlFlow(c);
    return reply(SW.INS_NOT_SUPPORTED);
  }

  private select(c: CommandApdu): Uint8Array {
    this.reset();
    if (!equalBytes(c.data, FRAMEWORK_AID)) return reply(SW.APPLET_NOT_FOUND);
    this.phase = "selected";
    const state = this.host.pairingPassword() ? PairingState.PASSWORD_ENTERED : PairingState.UNPAIRED;
    return reply(SW.OK, frameworkSelectResponse(SUPPORTED_VERSIONS, state));
  }

  private request(c: CommandApdu): Uint8Array {
    const password = this.host.pairingPassword();
    if (this.phase !== "selected" || !password) return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
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
    return reply(SW.OK, tlv(PAIRING_TAG.SHARE_P, this.prover.shareP));
  }

  private verify(c: CommandApdu): Uint8Array {
    if (this.phase !== "requested" || !this.prover) return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    const { shareV, vehicleEvidence } = parseSpake2Verify(c);
    const { confirmP, sharedKey } = this.prover.finish(shareV, vehicleEvidence);
    this.secure = new SecureMessagingSession(pairingSessionKeys(sharedKey));
    this.shareV = shareV;
    this.phase = "secured";
    return reply(SW.OK, tlv(PAIRING_TAG.DEVICE_EVIDENCE, confirmP));
  }

  private async writeData(c: CommandApdu): Promise<Uint8Array> {
    if (c.p1 === WRITE_DATA_P1.PAIRING_CONFIRMATION && c.p2 === 0) return this.writeConfirmation(c);
    if (c.p1 !== WRITE_DATA_P1.VEHICLE_DATA || c.p2 !== 0) return this.refuse(SW.WRONG_P1P2);
    if (this.phase !== "secured" || !this.secure || !this.prover || !this.shareV)
      return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
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
    return reply(SW.OK, this.secure.protectResponse(new Uint8Array(0)));
  }

  /** The vehicle's signed pairing confirmation for the key it received in GET DATA. */
  private writeConfirmation(c: CommandApdu): Uint8Array {
    if (
      this.phase !== "answered" ||
      this.pending.length > 0 ||
      !this.secure ||
      !this.staged ||
      !this.vehicle
    ) {
      return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    }
    const confirmation = this.secure.unprotectCommand(c.data);
    const facts = verifyPairingConfirmation(confirmation, this.vehicle.publicKey);
    checkPairingConfirmationFor(facts, this.vehicle.identifier, this.staged.endpointPublicKey);
    this.confirmation = confirmation;
    this.phase = "confirmed";
    return reply(SW.OK, this.secure.protectResponse(new Uint8Array(0)));
  }

  private getData(c: CommandApdu): Uint8Array {
    if (this.phase !== "written" || !this.secure || !this.staged)
      return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    this.secure.unprotectCommand(c.data);
    const answer = this.secure.protectResponse(
      deviceDataPlaintext(this.staged.endpointCertificate, this.staged.instanceCaCertificate),
    );
    this.phase = "answered";
    this.pending = answer;
    return this.getResponse();
  }

  /** ISO 7816-4 GET RESPONSE: the next chunk of a long answer, 61XX while more remains. */
  private getResponse(): Uint8Array {
    const chunk = this.pending.subarray(0, CHUNK);
    this.pending = this.pending.subarray(chunk.length);
    if (this.pending.length === 0) return reply(SW.OK, chunk);
    // 61XX: XX more bytes wait (00: 256 or more).
    return reply(this.pending.length > 0xff ? 0x6100 : 0x6100 | this.pending.length, chunk);
  }

  private controlFlow(c: CommandApdu): Uint8Array {
    if (c.p1 === 0x01 && c.p2 === 0x00 && this.phase === "confirmed" && this.staged && this.confirmation) {
      this.host.commitOwnerKey(this.staged, this.confirmation);
      this.staged = undefined;
      this.reset();
      return reply(SW.OK);
    }
    this.reset();
    return reply(SW.OK);
  }

  private refuse(sw: number): Uint8Array {
    this.reset();
    return reply(sw);
  }
}
