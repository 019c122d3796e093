// The Digital Key applet (docs/transaction.md "The commands"): one instance serves every
// car key the device holds, as on a real SE. It is a strict state machine —
// SELECT → AUTH0 → (AUTH1 | fast) → EXCHANGE* → CONTROL FLOW — and keeps all
// transaction state in RAM: nothing reaches the vault until CONTROL FLOW ends
// the transaction, so a field dropped half-way leaves stored state unchanged.
// It never throws: every failure becomes a status word and ends the session.
import { type CommandApdu, parseCommand } from "../../protocol/apdu.js";
import { tlv } from "../../protocol/ber-tlv.js";
import { equalBytes } from "../../protocol/bytes.js";
import {
  CLA_PROPRIETARY,
  CLA_SECURE,
  DIGITAL_KEY_AID,
  INS,
  SUPPORTED_VERSIONS,
} from "../../protocol/constants.js";
import {
  encodeReadResults,
  type MailboxId,
  parseMailboxOperations,
} from "../../protocol/mailbox-operations.js";
import { ecdhX, generateKeyPair, verifyRaw, xCoordinate } from "../../protocol/p256.js";
import { offersVersion } from "../../protocol/protocol-versions.js";
import { SecureMessagingSession } from "../../protocol/secure-messaging.js";
import { SW } from "../../protocol/status-words.js";
import {
  authenticationPayload,
  deriveFastKeys,
  deriveKdh,
  deriveStandardKeys,
  type TransactionContext,
} from "../../protocol/transaction-keys.js";
import {
  auth0Response,
  auth1ResponsePlaintext,
  parseAuth0,
  parseAuth1,
} from "../../protocol/transaction-messages.js";
import { reply, statusForError } from "./applet-status.js";
import type { AnswerRefusal, KeyVault, KeyView } from "./key-vault.js";

type Phase = "idle" | "selected" | "auth0" | "secured";

interface Session {
  phase: Phase;
  key?: KeyView;
  context?: TransactionContext;
  ephemeralPrivate?: Uint8Array;
  vehicleEphemeral?: Uint8Array;
  /** Fast keys computed at AUTH0, used if the vehicle goes on without AUTH1. */
  fastKeys?: ReturnType<typeof deriveFastKeys>;
  secure?: SecureMessagingSession;
  /** Kpersistent of a standard transaction, kept once CONTROL FLOW confirms it. */
  pendingPersistent?: Uint8Array;
  /** Mailbox images written during this transaction. */
  stagedMailboxes: Map<MailboxId, Uint8Array>;
}

const REFUSAL_STATUS: Record<AnswerRefusal, number> = {
  locked: SW.APPLET_LOCKED,
  "user-auth-required": SW.USER_AUTH_REQUIRED,
  "power-reserve": SW.CONDITIONS_NOT_SATISFIED,
};

export class DigitalKeyApplet {
  private session: Session = { phase: "idle", stagedMailboxes: new Map() };

  constructor(
    private readonly vault: KeyVault,
    /** Called after a transaction committed, so the host can persist its state. */
    private readonly onCommit: () => void = () => {},
  ) {}

  /** The RF field dropped: everything transient is gone. */
  reset(): void {
    this.session = { phase: "idle", stagedMailboxes: new Map() };
  }

  process(commandBytes: Uint8Array): Uint8Array {
    let command: CommandApdu;
    try {
      command = parseCommand(commandBytes);
    } catch {
      this.reset();
      return reply(SW.WRONG_LENGTH);
    }
    try {
      return this.dispatch(command);
    } catch (error) {
      this.reset();
      return reply(statusForError(error));
    }
  }

  private dispatch(c: CommandApdu): Uint8Array {
    if (c.cla === 0x00 && c.ins === INS.SELECT) return this.select(c);
    if (c.cla === CLA_PROPRIETARY && c.ins === INS.AUTH0) return this.auth0(c);
    if (c.cla === CLA_PROPRIETARY && c.ins === INS.AUTH1) return this.auth1(c);
    if (c.cla === CLA_SECURE && c.ins === INS.EXCHANGE) return this.exchange(c);
    if (c.cla === CLA_PROPRIETARY && c.ins === INS.CONTROL_FLOW) return this.controlFlow(c);
    if (c.cla !== 0x00 && c.cla !== CLA_PROPRIETARY && c.cla !== CLA_SECURE)
      return reply(SW.CLA_NOT_SUPPORTED);
    return reply(SW.INS_NOT_SUPPORTED);
  }

  private select(c: CommandApdu): Uint8Array {
    this.reset();
    if (c.p1 !== 0x04 || c.p2 !== 0x00) return reply(SW.WRONG_P1P2);
    if (!equalBytes(c.data, DIGITAL_KEY_AID)) return reply(SW.APPLET_NOT_FOUND);
    this.session.phase = "selected";
    return reply(SW.OK, tlv(0x5c, SUPPORTED_VERSIONS));
  }

  private auth0(c: CommandApdu): Uint8Array {
    if (this.session.phase !== "selected") return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    const a = parseAuth0(c);
    // Every version offered in SELECT is accepted; anything else is a malformed AUTH0.
    if (!offersVersion(SUPPORTED_VERSIONS, a.version)) return this.refuse(SW.WRONG_DATA);
    const key = this.vault.findKeyForVehicle(a.vehicleIdentifier);
    if (!key) return this.refuse(SW.KEY_NOT_FOUND);
    const refusal = this.vault.refusalFor(key);
    if (refusal) return this.refuse(REFUSAL_STATUS[refusal]);

    const ephemeral = generateKeyPair((n) => this.vault.randomBytes(n));
    const context: TransactionContext = {
      vehicleIdentifier: a.vehicleIdentifier,
      vehicleEphemeralX: xCoordinate(a.vehicleEphemeralPublic),
      endpointEphemeralX: xCoordinate(ephemeral.publicKey),
      transactionId: a.transactionId,
      flags: Uint8Array.of(c.p1, c.p2),
      version: a.version,
      versions: SUPPORTED_VERSIONS,
    };
    const persistent = a.fast ? this.vault.persistentKey(key.keyId) : undefined;
    const fastKeys = persistent
      ? deriveFastKeys(
          persistent,
          context,
          xCoordinate(key.vehiclePublicKey),
          xCoordinate(key.endpointPublicKey),
        )
      : undefined;
    this.session = {
      phase: "auth0",
      key,
      context,
      ephemeralPrivate: ephemeral.privateKey,
      stagedMailboxes: new Map(),
      vehicleEphemeral: a.vehicleEphemeralPublic,
      ...(fastKeys ? { fastKeys } : {}),
    };
    return reply(
      SW.OK,
      auth0Response({ endpointEphemeralPublic: ephemeral.publicKey, cryptogram: fastKeys?.cryptogram }),
    );
  }

  private auth1(c: CommandApdu): Uint8Array {
    const s = this.session;
    if (s.phase !== "auth0" || !s.key || !s.context || !s.ephemeralPrivate || !s.vehicleEphemeral) {
      return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    }
    const { vehicleSignature } = parseAuth1(c);
    if (!verifyRaw(vehicleSignature, authenticationPayload(s.context, "vehicle"), s.key.vehiclePublicKey)) {
      return this.refuse(SW.VERIFICATION_FAILED);
    }
    const sharedX = ecdhX(s.ephemeralPrivate, s.vehicleEphemeral);
    const keys = deriveStandardKeys(deriveKdh(sharedX, s.context.transactionId), s.context);
    const signature = this.vault.signWithEndpoint(s.key.keyId, authenticationPayload(s.context, "device"));
    const secure = new SecureMessagingSession(keys);
    const answer = secure.protectResponse(
      auth1ResponsePlaintext({ keyIdentifier: s.key.keyId, endpointSignature: signature }),
    );
    s.phase = "secured";
    s.secure = secure;
    s.pendingPersistent = keys.persistent;
    delete s.fastKeys;
    delete s.ephemeralPrivate;
    return reply(SW.OK, answer);
  }

  private exchange(c: CommandApdu): Uint8Array {
    const s = this.session;
    if (s.phase === "auth0" && s.fastKeys) {
      // The vehicle matched our cryptogram and went on without AUTH1: the fast keys protect the session.
      s.secure = new SecureMessagingSession(s.fastKeys);
      s.phase = "secured";
      delete s.fastKeys;
      delete s.ephemeralPrivate;
    }
    if (s.phase !== "secured" || !s.secure || !s.key) return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    const plaintext = s.secure.unprotectCommand(c.data);
    const operations = parseMailboxOperations(plaintext);
    const reads: Uint8Array[] = [];
    for (const op of operations) {
      const image = this.mailboxImage(s.key, op.mailbox);
      if (op.kind === "read") {
        reads.push(image.slice(op.offset, op.offset + op.length));
      } else {
        image.set(op.data, op.offset);
      }
    }
    return reply(SW.OK, s.secure.protectResponse(encodeReadResults(reads)));
  }

  /**
   * CONTROL FLOW ends the transaction. P1 = 01: the vehicle reports success;
   * P2 carries its code (CCC: vehicle error codes, domain-specific codes or
   * timing information), which is recorded but never turns a success into a
   * failure, so the device commits exactly when the vehicle does. P1 = 00
   * (failure) or any other P1 commits nothing and answers an error status, so
   * the vehicle can never read "committed" from a discarded transaction.
   */
  private controlFlow(c: CommandApdu): Uint8Array {
    const s = this.session;
    if (c.p1 === 0x00) return this.refuse(SW.NOTHING_COMMITTED);
    if (c.p1 !== 0x01) return this.refuse(SW.WRONG_P1P2);
    const authenticated = s.phase === "secured" || (s.phase === "auth0" && !!s.fastKeys);
    if (!authenticated || !s.key) return this.refuse(SW.CONDITIONS_NOT_SATISFIED);
    // A fast transaction without EXCHANGE never proved to us that the reader matched the cryptogram:
    // it has nothing to commit, and we record nothing for a reader we cannot tell from any other.
    const proven = s.phase === "secured";
    if (proven) {
      this.vault.commitTransaction(s.key.keyId, {
        mailboxes: s.stagedMailboxes,
        ...(s.pendingPersistent ? { persistent: s.pendingPersistent } : {}),
        ending: { flow: s.pendingPersistent ? "standard" : "fast", controlFlowP2: c.p2 },
      });
    }
    this.reset();
    if (proven) this.onCommit();
    return reply(SW.OK);
  }

  /** The working copy of a mailbox for this transaction, staged until commit. */
  private mailboxImage(key: KeyView, mailbox: MailboxId): Uint8Array {
    let image = this.session.stagedMailboxes.get(mailbox);
    if (!image) {
      image = new Uint8Array(this.vault.readMailbox(key.keyId, mailbox));
      this.session.stagedMailboxes.set(mailbox, image);
    }
    return image;
  }

  private refuse(sw: number): Uint8Array {
    this.reset();
    return reply(sw);
  }
}
