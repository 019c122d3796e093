// One transaction as the vehicle's reader runs it (docs/transaction.md "The
// commands", "Fast key derivation"): SELECT, AUTH0, then either a matching fast cryptogram
// or AUTH1 with mutual signatures, EXCHANGE for the project's mailbox work,
// and CONTROL FLOW. It computes what the car *would* change and hands it
// back; the vehicle applies it only when the device confirmed the end of the
// transaction, so a hostile or torn transaction keeps nothing.
//
// The authentication alone decides: mailbox work (immobilizer token, the
// owner's orders) is the project's own extension, so a device that answers
// EXCHANGE with an error (no mailbox support: 6D00/6E00/6A81, or anything
// else) still opens the door; the work is listed as skipped, with why, and
// retried at the next standard transaction (docs/protocol.md §4).
import { type CommandApdu, encodeCommand, type ResponseApdu, swHex } from "../../protocol/apdu.js";
import { concatBytes, equalBytes, fromHex, toHex } from "../../protocol/bytes.js";
import {
  FLAG_FAST,
  FLAG_STANDARD,
  INS,
  SUPPORTED_VERSIONS,
  TransactionCode,
} from "../../protocol/constants.js";
import {
  encodeMailboxOperations,
  MAILBOX_SIZE,
  Mailbox,
  type MailboxOperation,
  parseReadResults,
} from "../../protocol/mailbox-operations.js";
import {
  ecdhX,
  generateKeyPair,
  signRaw,
  systemRandom,
  verifyRaw,
  xCoordinate,
} from "../../protocol/p256.js";
import {
  encodePrivateMailbox,
  type PrivateMailboxContent,
  parsePrivateMailbox,
  privateMailboxContentLength,
} from "../../protocol/private-mailbox.js";
import { describeVersions, highestCommonVersion } from "../../protocol/protocol-versions.js";
import type { RevocationFacts } from "../../protocol/revocation.js";
import { SecureMessagingSession } from "../../protocol/secure-messaging.js";
import { describeStatus, SW } from "../../protocol/status-words.js";
import {
  authenticationPayload,
  deriveKdh,
  deriveStandardKeys,
  type TransactionContext,
} from "../../protocol/transaction-keys.js";
import {
  auth0Command,
  auth1Command,
  exchangeCommand,
  parseAuth0Response,
  parseAuth1ResponsePlaintext,
  parseSelectResponse,
  selectCommand,
} from "../../protocol/transaction-messages.js";
import { type ApduChannel, transmit } from "./apdu-channel.js";
import { ChannelError, TransactionRefusedError } from "./errors.js";
import { matchCryptogram } from "./fast-key-index.js";
import type { Flow, RefusalEvidence } from "./tap-result.js";
import type { EnrolledEndpoint } from "./vehicle-state.js";

export const IMMOBILIZER_TOKEN_LENGTH = 16;
const IMMOBILIZER_OFFSET = 0;

/** The versions this vehicle speaks; it picks the highest one the device also offers. */
export const VEHICLE_VERSIONS = SUPPORTED_VERSIONS;

/** Answers that say "this device has no such command": the device has no mailbox support. */
const NOT_SUPPORTED = new Set<number>([
  SW.INS_NOT_SUPPORTED,
  SW.CLA_NOT_SUPPORTED,
  SW.FUNCTION_NOT_SUPPORTED,
]);

export type Intent = "unlock" | "lock" | "start";

export interface ReaderIdentity {
  vehicleIdentifier: Uint8Array;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** What the car decides about mailbox contents; the vehicle implements it. */
export interface TransactionPolicy {
  /**
   * A key the car has never seen authenticated with AUTH1: enroll it from the
   * enrollment package in its private mailbox (a shared key's first tap), or
   * throw TransactionRefusedError saying why not. Nothing is stored yet.
   */
  enrollFromMailbox(keyId: string, mailbox: PrivateMailboxContent): EnrolledEndpoint;
  /** Whether this key's private mailbox may carry orders for the car (owner keys). */
  readsMailboxOf(endpoint: EnrolledEndpoint): boolean;
  /** Validates the orders (revocations) found there; the car applies them only if the transaction completes. */
  ownerMail(endpoint: EnrolledEndpoint, mailbox: PrivateMailboxContent): OwnerMail;
}

export interface OwnerMail {
  readonly revocations: readonly RevocationFacts[];
  /** Entries that did not verify (another vehicle, another signer, tampered): dropped, never applied. */
  readonly rejected: number;
}

/** The outcome of the cryptographic part: who authenticated, how, and what to store if the car says yes. */
export interface AuthenticatedTransaction {
  endpoint: EnrolledEndpoint;
  /** True when this transaction enrolled the key (a shared key's first tap). */
  enrolled?: boolean;
  /** Revocations from the owner's mailbox, to apply once the transaction completes. */
  ownerMail?: OwnerMail;
  flow: Flow;
  /** The protocol version both sides used. */
  version: string;
  /** New Kpersistent (standard flow only). */
  persistentKey?: Uint8Array;
  /** Token provisioned in this transaction, if it was the key's first standard one. */
  provisionedToken?: Uint8Array;
  /** For engine start: whether the confidential mailbox held the expected token. */
  immobilizerValid?: boolean;
  /** For engine start without a valid token: why (names a missing token and its cause). */
  immobilizerProblem?: string;
  /** Mailbox work not done in this transaction, each with why. */
  skipped: string[];
}

/** One command and its answer, with the step of the transaction it belonged to. */
export interface TraceEntry {
  step: string;
  command: string;
  answer: string;
}

/**
 * The reader's end of one field session: sends APDUs through the channel,
 * reports each raw exchange to `trace`, and remembers the last one so a
 * refusal can show the bytes that caused it.
 */
export class ReaderLink {
  private step = "";
  private lastCommand: Uint8Array | undefined;
  private lastAnswer: Uint8Array | undefined;

  constructor(
    private readonly channel: ApduChannel,
    private readonly trace?: (entry: TraceEntry) => void,
  ) {}

  private readonly traced: ApduChannel = async (command) => {
    this.lastCommand = command;
    this.lastAnswer = undefined;
    let answer: Uint8Array;
    try {
      answer = await this.channel(command);
    } catch (error) {
      this.trace?.({ step: this.step, command: toHex(command), answer: "" });
      throw error;
    }
    this.lastAnswer = answer;
    this.trace?.({ step: this.step, command: toHex(command), answer: toHex(answer) });
    return answer;
  };

  async send(command: CommandApdu, step: string): Promise<ResponseApdu> {
    this.step = step;
    this.lastCommand = encodeCommand(command);
    this.lastAnswer = undefined;
    try {
      return await transmit(this.traced, command, step);
    } catch (error) {
      if (error instanceof ChannelError) {
        throw new TransactionRefusedError(
          error.message,
          null,
          null,
          this.evidence("a well-formed response APDU"),
        );
      }
      throw error;
    }
  }

  /** The last exchange of the current step, and what the car expected of it. */
  evidence(expected: string): RefusalEvidence {
    return {
      step: this.step,
      command: this.lastCommand ? toHex(this.lastCommand) : "",
      answer: this.lastAnswer ? toHex(this.lastAnswer) : "",
      expected,
    };
  }

  /** A refusal about the last answer of the current step. */
  refuse(reason: string, expected: string, sw?: number): TransactionRefusedError {
    return new TransactionRefusedError(`${this.step}: ${reason}`, null, null, this.evidence(expected), sw);
  }

  expectOk(response: ResponseApdu, expected = "status 9000"): Uint8Array {
    if (response.sw !== SW.OK) {
      throw this.refuse(
        `device answered ${swHex(response.sw)} (${describeStatus(response.sw)})`,
        expected,
        response.sw,
      );
    }
    return response.data;
  }
}

/**
 * Runs the cryptographic transaction and, for engine start, the immobilizer
 * check. `endpoints` are the keys the car trusts; `intent` sets AUTH0's
 * transaction code and whether a fast transaction may be tried.
 */
export async function runReaderTransaction(
  link: ReaderLink,
  reader: ReaderIdentity,
  endpoints: readonly EnrolledEndpoint[],
  policy: TransactionPolicy,
  intent: Intent,
  random = systemRandom,
): Promise<AuthenticatedTransaction> {
  // Once the key is known, every refusal names it and the flow (the transaction log needs both).
  let known: { keyId: string; flow: Flow } | undefined;
  try {
    return await authenticateAndExchange(link, reader, endpoints, policy, intent, random, (k) => {
      known = k;
    });
  } catch (error) {
    if (error instanceof TransactionRefusedError && known) {
      error.keyId ??= known.keyId;
      error.flow ??= known.flow;
    }
    throw error;
  }
}

async function authenticateAndExchange(
  link: ReaderLink,
  reader: ReaderIdentity,
  endpoints: readonly EnrolledEndpoint[],
  policy: TransactionPolicy,
  intent: Intent,
  random: (n: number) => Uint8Array,
  identified: (known: { keyId: string; flow: Flow }) => void,
): Promise<AuthenticatedTransaction> {
  const select = await link.send(selectCommand(), "SELECT");
  let offered: Uint8Array;
  try {
    offered = parseSelectResponse(link.expectOk(select, "status 9000 and TLV(5C, versions)")).versions;
  } catch (error) {
    if (error instanceof TransactionRefusedError) throw error;
    throw link.refuse((error as Error).message, "TLV(5C, versions), an even number of bytes");
  }
  const version = highestCommonVersion(offered, VEHICLE_VERSIONS);
  if (!version) {
    throw link.refuse(
      `no common protocol version (device offers ${describeVersions(offered)}; this vehicle speaks ${describeVersions(VEHICLE_VERSIONS)})`,
      `a 5C list naming one of ${describeVersions(VEHICLE_VERSIONS)}`,
    );
  }

  // Engine start always runs a standard transaction; the doors try fast when any key could answer it.
  const tryFast = intent !== "start" && endpoints.some((e) => e.persistentKey);
  const code =
    intent === "start"
      ? TransactionCode.ENGINE_START
      : intent === "lock"
        ? TransactionCode.LOCK
        : TransactionCode.UNLOCK;
  const ephemeral = generateKeyPair(random);
  const transactionId = random(16);
  const auth0 = auth0Command({
    fast: tryFast,
    transactionCode: code,
    version,
    vehicleEphemeralPublic: ephemeral.publicKey,
    transactionId,
    vehicleIdentifier: reader.vehicleIdentifier,
  });
  const auth0Expected = "status 9000 and TLV(86, endpoint ephemeral key) [‖ TLV(9D, cryptogram)]";
  const auth0Data = link.expectOk(await link.send(auth0, "AUTH0"), auth0Expected);
  let answer: ReturnType<typeof parseAuth0Response>;
  try {
    answer = parseAuth0Response(auth0Data);
  } catch (error) {
    throw link.refuse((error as Error).message, auth0Expected);
  }
  const context: TransactionContext = {
    vehicleIdentifier: reader.vehicleIdentifier,
    vehicleEphemeralX: xCoordinate(ephemeral.publicKey),
    endpointEphemeralX: xCoordinate(answer.endpointEphemeralPublic),
    transactionId,
    flags: Uint8Array.of(tryFast ? FLAG_FAST : FLAG_STANDARD, code),
    version,
    versions: offered,
  };

  const fast = answer.cryptogram ? matchCryptogram(answer.cryptogram, context, reader, endpoints) : undefined;
  let auth: AuthenticatedTransaction;
  let secure: SecureMessagingSession;
  if (fast) {
    auth = { endpoint: fast.endpoint, flow: "fast", version: toHex(version), skipped: [] };
    identified({ keyId: fast.endpoint.keyId, flow: "fast" });
    secure = new SecureMessagingSession(fast.keys);
  } else {
    // No cryptogram, or none matched (an unknown key, a stale persistent key): fall back to AUTH1.
    const sharedX = ecdhX(ephemeral.privateKey, answer.endpointEphemeralPublic);
    const keys = deriveStandardKeys(deriveKdh(sharedX, transactionId), context);
    const signature = signRaw(reader.privateKey, authenticationPayload(context, "vehicle"));
    const auth1Expected = "status 9000 and a protected TLV(4E, key id) ‖ TLV(9E, endpoint signature)";
    const auth1Data = link.expectOk(await link.send(auth1Command(signature), "AUTH1"), auth1Expected);
    secure = new SecureMessagingSession(keys);
    let plaintext: ReturnType<typeof parseAuth1ResponsePlaintext>;
    try {
      plaintext = parseAuth1ResponsePlaintext(secure.unprotectResponse(auth1Data));
    } catch (error) {
      throw link.refuse((error as Error).message, auth1Expected);
    }
    const keyId = toHex(plaintext.keyIdentifier);
    identified({ keyId, flow: "standard" });
    let endpoint = endpoints.find((e) => e.keyId === keyId);
    let enrolled = false;
    if (!endpoint) {
      // Maybe a shared key at its first tap: its private mailbox carries the owner's attestation.
      // Without it the car does not know this key, so here a mailbox failure is a refusal.
      const mailbox = await readPrivateMailbox(link, secure);
      endpoint = policy.enrollFromMailbox(keyId, mailbox);
      enrolled = true;
    }
    if (
      !verifyRaw(
        plaintext.endpointSignature,
        authenticationPayload(context, "device"),
        fromHex(endpoint.endpointPublicKey),
      )
    ) {
      throw new TransactionRefusedError(
        "AUTH1: endpoint signature does not verify",
        keyId,
        "standard",
        link.evidence("an endpoint signature by the enrolled key over the AUTH1 payload"),
      );
    }
    auth = {
      endpoint,
      enrolled,
      flow: "standard",
      version: toHex(version),
      persistentKey: keys.persistent,
      skipped: [],
    };
  }

  // Authenticated. From here on the mailbox is best effort: after its first failure the rest is skipped.
  let mailboxFailure: string | undefined;
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    if (!mailboxFailure) {
      try {
        return await work();
      } catch (error) {
        mailboxFailure = describeMailboxFailure(error);
      }
    }
    auth.skipped.push(`${what} skipped: ${mailboxFailure}`);
    return undefined;
  };

  if (policy.readsMailboxOf(auth.endpoint)) {
    const mailbox = await attempt("owner mailbox read", () => readPrivateMailbox(link, secure));
    const mail = mailbox ? policy.ownerMail(auth.endpoint, mailbox) : undefined;
    if (mailbox && mail && mail.revocations.length + mail.rejected > 0) {
      // Verified orders apply even if clearing fails; the owner's device then offers them again.
      auth.ownerMail = mail;
      // Consumed (or worthless) orders are cleared, so the owner's device knows the car has them.
      const cleared = encodePrivateMailbox({ ...mailbox, revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE]);
      await attempt("owner mailbox clearing", () =>
        exchange(link, secure, [{ kind: "write", mailbox: Mailbox.PRIVATE, offset: 0, data: cleared }], 0),
      );
    }
  }
  await immobilizer(link, secure, auth, intent, random, attempt, () => mailboxFailure);
  return auth;
}

/** Why mailbox work failed, in words an integrator can act on. */
function describeMailboxFailure(error: unknown): string {
  if (error instanceof TransactionRefusedError && error.sw !== undefined && NOT_SUPPORTED.has(error.sw)) {
    return `the device has no mailbox support (EXCHANGE answered ${swHex(error.sw)}, ${describeStatus(error.sw)})`;
  }
  const message = (error as Error).message;
  return `EXCHANGE failed (${message.startsWith("EXCHANGE") ? message.slice("EXCHANGE: ".length) : message})`;
}

/** One EXCHANGE round trip: the operations out, the READ results back. */
async function exchange(
  link: ReaderLink,
  secure: SecureMessagingSession,
  operations: MailboxOperation[],
  reads: number,
): Promise<Uint8Array[]> {
  const command = exchangeCommand(secure.protectCommand(encodeMailboxOperations(operations)));
  const expected = `status 9000 and a protected answer with ${reads} READ result(s)`;
  const data = link.expectOk(await link.send(command, "EXCHANGE"), expected);
  try {
    return parseReadResults(secure.unprotectResponse(data), reads);
  } catch (error) {
    throw link.refuse((error as Error).message, expected);
  }
}

/** Reads a private mailbox: its first chunk (with the length header), then the rest of the content if any. */
async function readPrivateMailbox(
  link: ReaderLink,
  secure: SecureMessagingSession,
): Promise<PrivateMailboxContent> {
  const first = 256;
  const [head] = await exchange(
    link,
    secure,
    [{ kind: "read", mailbox: Mailbox.PRIVATE, offset: 0, length: first }],
    1,
  );
  const total = 2 + privateMailboxContentLength(head!);
  if (total > MAILBOX_SIZE[Mailbox.PRIVATE])
    throw link.refuse("private mailbox length out of range", "a content length that fits the mailbox");
  if (total <= first) return parsePrivateMailbox(head!);
  const [rest] = await exchange(
    link,
    secure,
    [{ kind: "read", mailbox: Mailbox.PRIVATE, offset: first, length: total - first }],
    1,
  );
  return parsePrivateMailbox(concatBytes(head!, rest!));
}

/** How the car ends a transaction: CONTROL FLOW P1 (01 success, 00 failure) and P2 (its code). */
export interface TransactionEnding {
  p1: number;
  p2: number;
}

export const SUCCESS_ENDING: TransactionEnding = { p1: 0x01, p2: 0x00 };

/** Sends CONTROL FLOW; the caller decides what its answer means (only `9000` to P1 = 01 confirms a commit). */
export async function endTransaction(
  link: ReaderLink,
  ending: TransactionEnding = SUCCESS_ENDING,
): Promise<ResponseApdu> {
  const command: CommandApdu = {
    cla: 0x80,
    ins: INS.CONTROL_FLOW,
    p1: ending.p1,
    p2: ending.p2,
    data: new Uint8Array(0),
  };
  return link.send(command, "CONTROL FLOW");
}

/**
 * Immobilizer: the first standard transaction of a key provisions a fresh
 * token into its confidential mailbox; engine start reads it back and the
 * car compares it with its own copy. A device without mailbox support gets
 * no token, so it can open the doors but never start the engine.
 */
async function immobilizer(
  link: ReaderLink,
  secure: SecureMessagingSession,
  auth: AuthenticatedTransaction,
  intent: Intent,
  random: (n: number) => Uint8Array,
  attempt: <T>(what: string, work: () => Promise<T>) => Promise<T | undefined>,
  failure: () => string | undefined,
): Promise<void> {
  const operations: MailboxOperation[] = [];
  const stored = auth.endpoint.immobilizerToken ? fromHex(auth.endpoint.immobilizerToken) : undefined;
  const fresh = !stored && auth.flow === "standard" ? random(IMMOBILIZER_TOKEN_LENGTH) : undefined;
  if (fresh) {
    operations.push({
      kind: "write",
      mailbox: Mailbox.CONFIDENTIAL,
      offset: IMMOBILIZER_OFFSET,
      data: fresh,
    });
  }
  const readsToken = intent === "start";
  if (readsToken) {
    operations.push({
      kind: "read",
      mailbox: Mailbox.CONFIDENTIAL,
      offset: IMMOBILIZER_OFFSET,
      length: IMMOBILIZER_TOKEN_LENGTH,
    });
  }
  if (operations.length === 0) return;
  const what = fresh ? "immobilizer token provisioning" : "immobilizer token check";
  const results = await attempt(what, () => exchange(link, secure, operations, readsToken ? 1 : 0));
  if (!results) {
    if (readsToken) {
      auth.immobilizerValid = false;
      auth.immobilizerProblem = fresh
        ? `no immobilizer token: provisioning failed, ${failure()}`
        : `no immobilizer token: reading it back failed, ${failure()}`;
    }
    return;
  }
  if (fresh) auth.provisionedToken = fresh;
  if (readsToken) {
    const expected = fresh ?? stored;
    auth.immobilizerValid = expected !== undefined && equalBytes(results[0]!, expected);
    if (!auth.immobilizerValid) {
      auth.immobilizerProblem =
        "immobilizer token missing or wrong: the confidential mailbox does not hold this car's token";
    }
  }
}
