// One transaction as the vehicle's reader runs it (PROTOCOL.md "Commands",
// "Fast transaction"): SELECT, AUTH0, then either a matching fast cryptogram
// or AUTH1 with mutual signatures, EXCHANGE for the immobilizer token, and
// CONTROL FLOW. It computes what the car *would* change and hands it back;
// the vehicle applies it only when the device confirmed the end of the
// transaction, so a hostile or torn transaction changes nothing.
import { type CommandApdu, type ResponseApdu, swHex } from "../../protocol/apdu.js";
import { concatBytes, equalBytes, fromHex, toHex } from "../../protocol/bytes.js";
import { FLAG_FAST, FLAG_STANDARD, PROTOCOL_VERSION, TransactionCode } from "../../protocol/constants.js";
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
import type { RevocationFacts } from "../../protocol/revocation.js";
import { SecureMessagingSession } from "../../protocol/secure-messaging.js";
import { describeStatus, SW } from "../../protocol/status-words.js";
import {
  authenticationPayload,
  deriveFastKeys,
  deriveKdh,
  deriveStandardKeys,
  type TransactionContext,
} from "../../protocol/transaction-keys.js";
import {
  auth0Command,
  auth1Command,
  endTransactionCommand,
  exchangeCommand,
  parseAuth0Response,
  parseAuth1ResponsePlaintext,
  parseSelectResponse,
  selectCommand,
} from "../../protocol/transaction-messages.js";
import { type ApduChannel, ChannelError, transmit } from "./apdu-channel.js";
import type { Flow } from "./tap-result.js";
import type { EnrolledEndpoint } from "./vehicle-state.js";

export const IMMOBILIZER_TOKEN_LENGTH = 16;
const IMMOBILIZER_OFFSET = 0;

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
   * throw TransactionRefused saying why not. Nothing is stored yet.
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
  /** New Kpersistent (standard flow only). */
  persistentKey?: Uint8Array;
  /** Token provisioned in this transaction, if it was the key's first standard one. */
  provisionedToken?: Uint8Array;
  /** For engine start: whether the confidential mailbox held the expected token. */
  immobilizerValid?: boolean;
}

/** A refusal with the reason the transaction log records. */
export class TransactionRefused extends Error {
  override name = "TransactionRefused";
  constructor(
    reason: string,
    readonly keyId: string | null = null,
    readonly flow: Flow | null = null,
  ) {
    super(reason);
  }
}

async function send(channel: ApduChannel, command: CommandApdu, step: string): Promise<ResponseApdu> {
  try {
    return await transmit(channel, command, step);
  } catch (error) {
    if (error instanceof ChannelError) throw new TransactionRefused(error.message);
    throw error;
  }
}

function expectOk(response: ResponseApdu, step: string): Uint8Array {
  if (response.sw !== SW.OK) {
    throw new TransactionRefused(
      `${step}: device answered ${swHex(response.sw)} (${describeStatus(response.sw)})`,
    );
  }
  return response.data;
}

/**
 * Runs the cryptographic transaction and, for engine start, the immobilizer
 * check. `endpoints` are the keys the car trusts; `intent` sets AUTH0's
 * transaction code and whether a fast transaction may be tried.
 */
export async function runReaderTransaction(
  channel: ApduChannel,
  reader: ReaderIdentity,
  endpoints: readonly EnrolledEndpoint[],
  policy: TransactionPolicy,
  intent: Intent,
  random = systemRandom,
): Promise<AuthenticatedTransaction> {
  const select = await send(channel, selectCommand(), "SELECT");
  let offered: Uint8Array;
  try {
    offered = parseSelectResponse(expectOk(select, "SELECT")).versions;
  } catch (error) {
    if (error instanceof TransactionRefused) throw error;
    throw new TransactionRefused(`SELECT: ${(error as Error).message}`);
  }
  if (!offersVersion(offered, PROTOCOL_VERSION))
    throw new TransactionRefused("SELECT: no common protocol version");

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
    version: PROTOCOL_VERSION,
    vehicleEphemeralPublic: ephemeral.publicKey,
    transactionId,
    vehicleIdentifier: reader.vehicleIdentifier,
  });
  const auth0Data = expectOk(await send(channel, auth0, "AUTH0"), "AUTH0");
  let answer: ReturnType<typeof parseAuth0Response>;
  try {
    answer = parseAuth0Response(auth0Data);
  } catch (error) {
    throw new TransactionRefused(`AUTH0: ${(error as Error).message}`);
  }
  const context: TransactionContext = {
    vehicleIdentifier: reader.vehicleIdentifier,
    vehicleEphemeralX: xCoordinate(ephemeral.publicKey),
    endpointEphemeralX: xCoordinate(answer.endpointEphemeralPublic),
    transactionId,
    flags: Uint8Array.of(tryFast ? FLAG_FAST : FLAG_STANDARD, code),
    version: PROTOCOL_VERSION,
    versions: offered,
  };

  const fast = answer.cryptogram ? matchCryptogram(answer.cryptogram, context, reader, endpoints) : undefined;
  let auth: AuthenticatedTransaction;
  let secure: SecureMessagingSession;
  if (fast) {
    auth = { endpoint: fast.endpoint, flow: "fast" };
    secure = new SecureMessagingSession(fast.keys);
  } else {
    // No cryptogram, or none matched (an unknown key, a stale persistent key): fall back to AUTH1.
    const sharedX = ecdhX(ephemeral.privateKey, answer.endpointEphemeralPublic);
    const keys = deriveStandardKeys(deriveKdh(sharedX, transactionId), context);
    const signature = signRaw(reader.privateKey, authenticationPayload(context, "vehicle"));
    const auth1Data = expectOk(await send(channel, auth1Command(signature), "AUTH1"), "AUTH1");
    secure = new SecureMessagingSession(keys);
    let plaintext: ReturnType<typeof parseAuth1ResponsePlaintext>;
    try {
      plaintext = parseAuth1ResponsePlaintext(secure.unprotectResponse(auth1Data));
    } catch (error) {
      throw new TransactionRefused(`AUTH1: ${(error as Error).message}`);
    }
    const keyId = toHex(plaintext.keyIdentifier);
    let endpoint = endpoints.find((e) => e.keyId === keyId);
    let enrolled = false;
    if (!endpoint) {
      // Maybe a shared key at its first tap: its private mailbox carries the owner's attestation.
      const mailbox = await guarded(readPrivateMailbox(channel, secure), keyId, "standard");
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
      throw new TransactionRefused("AUTH1: endpoint signature does not verify", keyId, "standard");
    }
    auth = { endpoint, enrolled, flow: "standard", persistentKey: keys.persistent };
  }

  const { keyId, flow } = { keyId: auth.endpoint.keyId, flow: auth.flow };
  if (policy.readsMailboxOf(auth.endpoint)) {
    const mailbox = await guarded(readPrivateMailbox(channel, secure), keyId, flow);
    const mail = policy.ownerMail(auth.endpoint, mailbox);
    if (mail.revocations.length + mail.rejected > 0) {
      // Consumed (or worthless) orders are cleared, so the owner's device knows the car has them.
      const cleared = encodePrivateMailbox({ ...mailbox, revocations: [] }, MAILBOX_SIZE[Mailbox.PRIVATE]);
      await guarded(
        exchange(channel, secure, [{ kind: "write", mailbox: Mailbox.PRIVATE, offset: 0, data: cleared }], 0),
        keyId,
        flow,
      );
      auth.ownerMail = mail;
    }
  }
  await guarded(immobilizerExchange(channel, secure, auth, intent, random), keyId, flow);
  return auth;
}

/** Turns protocol failures of an EXCHANGE step into a refusal that names the key and flow. */
async function guarded<T>(step: Promise<T>, keyId: string, flow: Flow): Promise<T> {
  try {
    return await step;
  } catch (error) {
    if (error instanceof TransactionRefused) throw error;
    throw new TransactionRefused(`EXCHANGE: ${(error as Error).message}`, keyId, flow);
  }
}

/** One EXCHANGE round trip: the operations out, the READ results back. */
async function exchange(
  channel: ApduChannel,
  secure: SecureMessagingSession,
  operations: MailboxOperation[],
  reads: number,
): Promise<Uint8Array[]> {
  const command = exchangeCommand(secure.protectCommand(encodeMailboxOperations(operations)));
  const data = expectOk(await send(channel, command, "EXCHANGE"), "EXCHANGE");
  return parseReadResults(secure.unprotectResponse(data), reads);
}

/** Reads a private mailbox: its first chunk (with the length header), then the rest of the content if any. */
async function readPrivateMailbox(
  channel: ApduChannel,
  secure: SecureMessagingSession,
): Promise<PrivateMailboxContent> {
  const first = 256;
  const [head] = await exchange(
    channel,
    secure,
    [{ kind: "read", mailbox: Mailbox.PRIVATE, offset: 0, length: first }],
    1,
  );
  const total = 2 + privateMailboxContentLength(head!);
  if (total > MAILBOX_SIZE[Mailbox.PRIVATE])
    throw new TransactionRefused("EXCHANGE: private mailbox length out of range");
  if (total <= first) return parsePrivateMailbox(head!);
  const [rest] = await exchange(
    channel,
    secure,
    [{ kind: "read", mailbox: Mailbox.PRIVATE, offset: first, length: total - first }],
    1,
  );
  return parsePrivateMailbox(concatBytes(head!, rest!));
}

/** Confirms the end of the transaction; only then may either side keep anything. */
export async function endTransaction(channel: ApduChannel, auth: AuthenticatedTransaction): Promise<void> {
  const response = await send(channel, endTransactionCommand(), "CONTROL FLOW");
  if (response.sw !== SW.OK) {
    throw new TransactionRefused(
      `CONTROL FLOW: device answered ${swHex(response.sw)}`,
      auth.endpoint.keyId,
      auth.flow,
    );
  }
}

function offersVersion(versions: Uint8Array, version: Uint8Array): boolean {
  for (let i = 0; i + 2 <= versions.length; i += 2) {
    if (equalBytes(versions.subarray(i, i + 2), version)) return true;
  }
  return false;
}

function matchCryptogram(
  cryptogram: Uint8Array,
  context: TransactionContext,
  reader: ReaderIdentity,
  endpoints: readonly EnrolledEndpoint[],
): { endpoint: EnrolledEndpoint; keys: ReturnType<typeof deriveFastKeys> } | undefined {
  // The answer does not say which endpoint sent it: try every key we share a persistent key with.
  for (const endpoint of endpoints) {
    if (!endpoint.persistentKey) continue;
    const keys = deriveFastKeys(
      fromHex(endpoint.persistentKey),
      context,
      xCoordinate(reader.publicKey),
      xCoordinate(fromHex(endpoint.endpointPublicKey)),
    );
    if (equalBytes(keys.cryptogram, cryptogram)) return { endpoint, keys };
  }
  return undefined;
}

/**
 * Immobilizer: the first standard transaction of a key provisions a fresh
 * token into its confidential mailbox; engine start reads it back and the
 * car compares it with its own copy.
 */
async function immobilizerExchange(
  channel: ApduChannel,
  secure: SecureMessagingSession,
  auth: AuthenticatedTransaction,
  intent: Intent,
  random: (n: number) => Uint8Array,
): Promise<void> {
  const operations: MailboxOperation[] = [];
  let expected = auth.endpoint.immobilizerToken ? fromHex(auth.endpoint.immobilizerToken) : undefined;
  if (!expected && auth.flow === "standard") {
    expected = random(IMMOBILIZER_TOKEN_LENGTH);
    auth.provisionedToken = expected;
    operations.push({
      kind: "write",
      mailbox: Mailbox.CONFIDENTIAL,
      offset: IMMOBILIZER_OFFSET,
      data: expected,
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
  const results = await exchange(channel, secure, operations, readsToken ? 1 : 0);
  if (readsToken) auth.immobilizerValid = expected !== undefined && equalBytes(results[0]!, expected);
}
