// The Digital Key applet (docs/transaction.md "The commands"): one instance serves every
// car key the device holds, as on a real SE. It is a strict state machine —
// SELECT → AUTH0 → (AUTH1 | fast) → EXCHANGE* → CONTROL FLOW — and keeps all
// transaction state in RAM: nothing reaches the vault until CONTROL FLOW ends
// the transaction, so a field dropped half-way leaves stored state unchanged.
// It never throws: every failure becomes a status word and ends the session
// (parsing, the command table and the status of an error are the applet core's).
import type { CommandApdu } from "../../protocol/apdu.js";
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
import { ApduApplet, type AppletAnswer, type AppletDefinition, ok, refuse } from "./apdu-applet.js";
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

export class DigitalKeyApplet extends ApduApplet {
  private session: Session = { phase: "idle", stagedMailboxes: new Map() };
  protected readonly definition: AppletDefinition = {
    commands: [
      { cla: 0x00, ins: INS.SELECT, run: (c) => this.select(c) },
      { cla: CLA_PROPRIETARY, ins: INS.AUTH0, run: (c) => this.auth0(c) },
      { cla: CLA_PROPRIETARY, ins: INS.AUTH1, run: (c) => this.auth1(c) },
      { cla: CLA_SECURE, ins: INS.EXCHANGE, run: (c) => this.exchange(c) },
      { cla: CLA_PROPRIETARY, ins: INS.CONTROL_FLOW, run: (c) => this.controlFlow(c) },
    ],
    classes: [0x00, CLA_PROPRIETARY, CLA_SECURE],
    resetSession: () => {
      this.session = { phase: "idle", stagedMailboxes: new Map() };
    },
  };

  constructor(
    private readonly vault: KeyVault,
    /** Called after a transaction committed, so the host can persist its state. */
    private readonly onCommit: () => void = () => {},
  ) {
    super();
  }

  private select(c: CommandApdu): AppletAnswer {
    this.reset();
    if (c.p1 !== 0x04 || c.p2 !== 0x00) return { sw: SW.WRONG_P1P2 };
    if (!equalBytes(c.data, DIGITAL_KEY_AID)) return { sw: SW.APPLET_NOT_FOUND };
    this.session.phase = "selected";
    return ok(tlv(0x5c, SUPPORTED_VERSIONS));
  }

  private auth0(c: CommandApdu): AppletAnswer {
    if (this.session.phase !== "selected") return refuse(SW.CONDITIONS_NOT_SATISFIED);
    const a = parseAuth0(c);
    // Every version offered in SELECT is accepted; anything else is a malformed AUTH0.
    if (!offersVersion(SUPPORTED_VERSIONS, a.version)) return refuse(SW.WRONG_DATA);
    const key = this.vault.findKeyForVehicle(a.vehicleIdentifier);
    if (!key) return refuse(SW.KEY_NOT_FOUND);
    const refusal = this.vault.refusalFor(key);
    if (refusal) return refuse(REFUSAL_STATUS[refusal]);

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
    return ok(
      auth0Response({ endpointEphemeralPublic: ephemeral.publicKey, cryptogram: fastKeys?.cryptogram }),
    );
  }

  private auth1(c: CommandApdu): AppletAnswer {
    const s = this.session;
    if (s.phase !== "auth0" || !s.key || !s.context || !s.ephemeralPrivate || !s.vehicleEphemeral) {
      return refuse(SW.CONDITIONS_NOT_SATISFIED);
    }
    const { vehicleSignature } = parseAuth1(c);
    if (!verifyRaw(vehicleSignature, authenticationPayload(s.context, "vehicle"), s.key.vehiclePublicKey)) {
      return refuse(SW.VERIFICATION_FAILED);
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
    return ok(answer);
  }

  private exchange(c: CommandApdu): AppletAnswer {
    const s = this.session;
    if (s.phase === "auth0" && s.fastKeys) {
      // The vehicle matched our cryptogram and went on without AUTH1: the fast keys protect the session.
      s.secure = new SecureMessagingSession(s.fastKeys);
      s.phase = "secured";
      delete s.fastKeys;
      delete s.ephemeralPrivate;
    }
    if (s.phase !== "secured" || !s.secure || !s.key) return refuse(SW.CONDITIONS_NOT_SATISFIED);
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
    return ok(s.secure.protectResponse(encodeReadResults(reads)));
  }

  /**
   * CONTROL FLOW ends the transaction. P1 = 01: the vehicle reports success;
   * P2 carries its code (CCC: vehicle error codes, domain-specific codes or
   * timing information), which is recorded but never turns a success into a
   * failure, so the device commits exactly when the vehicle does. P1 = 00
   * (failure) or any other P1 commits nothing and answers an error status, so
   * the vehicle can never read "committed" from a discarded transaction.
   */
  private controlFlow(c: CommandApdu): AppletAnswer {
    const s = this.session;
    if (c.p1 === 0x00) return refuse(SW.NOTHING_COMMITTED);
    if (c.p1 !== 0x01) return refuse(SW.WRONG_P1P2);
    const authenticated = s.phase === "secured" || (s.phase === "auth0" && !!s.fastKeys);
    if (!authenticated || !s.key) return refuse(SW.CONDITIONS_NOT_SATISFIED);
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
    return ok();
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
}
