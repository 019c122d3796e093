// Authentication of device requests (docs/protocol.md §16; the signed
// form is src/protocol/request-signature.ts). A device has no bearer secret:
// each request is signed by a key in its secure element over method, path
// with query, body hash, timestamp, nonce and the signer's name. Here: parse
// the carkey-* headers, refuse a timestamp more than five minutes from the
// service clock, verify the ECDSA signature over canonicalRequest() with the
// signer's public key, and turn the nonce into a claim the store records with
// a conditional write and a TTL, so the same signed request is refused the
// second time. Split in steps because enrollment routes take the key from the
// body (the key is not on record yet: the signature is the proof of
// possession), while later routes take it from the record; and because the
// nonce claim is written in the same transaction as the state it authorizes,
// so a request refused later for another reason leaves nothing behind.
import { fromHex, toHex } from "../protocol/bytes.js";
import { verifyRaw } from "../protocol/p256.js";
import {
  canonicalRequest,
  parseRequestSigner,
  REQUEST_HEADERS,
  type RequestSigner,
} from "../protocol/request-signature.js";
import type { DevicePseudonyms } from "./device-pseudonyms.js";
import { AuthenticationError } from "./errors.js";
import { refuseIfSuspended } from "./lost-mode-guard.js";
import type { Clock, NonceClaim, RecordReads, RecordsRead, Store } from "./ports.js";

/** How far a request's timestamp may be from the service's clock, either way. */
export const REQUEST_TIME_WINDOW_MS = 5 * 60 * 1000;
/** Nonces outlive the window by a minute, so a request at its edge cannot be replayed just after. */
const NONCE_MARGIN_MS = 60 * 1000;

/** What the handler hands over: the request exactly as it arrived. */
export interface DeviceRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** rawPath, plus `?` and rawQueryString when there is a query: what the device signed. */
  readonly path: string;
  /** The raw body bytes (base64-decoded when API Gateway encoded them). */
  readonly body: Uint8Array;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export type SignerKind = "instance" | "endpoint";

/** Headers parsed and the timestamp checked; the signature is not verified yet. */
export interface ParsedDeviceRequest {
  readonly kind: SignerKind;
  /** seId (32 hex) for `instance`, keyId (12 hex) for `endpoint`. */
  readonly id: string;
  readonly signer: RequestSigner;
  readonly timestamp: number;
  readonly nonce: string;
  readonly signature: Uint8Array;
  /** The bytes the signature covers. */
  readonly signedBytes: Uint8Array;
}

/** A request whose signature verified; `nonce` still has to be recorded (with the state it changes). */
export interface AuthenticatedDeviceRequest {
  readonly kind: SignerKind;
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly nonce: NonceClaim;
}

export interface DeviceRequestAuthOptions {
  readonly clock: Clock;
  readonly store: Store;
  readonly windowMs?: number;
  /** Finds the SE of an endpoint key, for lost mode. */
  readonly pseudonyms: DevicePseudonyms;
}

function header(request: DeviceRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== "string" || value === "") throw new AuthenticationError(`missing ${name} header`);
  return value;
}

export class DeviceRequestAuthenticator {
  private readonly clock: Clock;
  private readonly store: Store;
  private readonly windowMs: number;
  private readonly pseudonyms: DevicePseudonyms;

  constructor(options: DeviceRequestAuthOptions) {
    this.clock = options.clock;
    this.store = options.store;
    this.windowMs = options.windowMs ?? REQUEST_TIME_WINDOW_MS;
    this.pseudonyms = options.pseudonyms;
  }

  /** Reads the carkey-* headers and checks the timestamp window (cheap checks before any crypto). */
  parse(request: DeviceRequest): ParsedDeviceRequest {
    const signerText = header(request, REQUEST_HEADERS.signer);
    let signer: { kind: SignerKind; id: string };
    try {
      signer = parseRequestSigner(signerText);
    } catch {
      throw new AuthenticationError(
        `${REQUEST_HEADERS.signer} must be instance:<32 lower-case hex> or endpoint:<12 lower-case hex>`,
      );
    }
    const timestampText = header(request, REQUEST_HEADERS.timestamp);
    if (!/^[0-9]{1,16}$/.test(timestampText)) {
      throw new AuthenticationError(`${REQUEST_HEADERS.timestamp} must be unix milliseconds`);
    }
    const timestamp = Number(timestampText);
    const now = this.clock.now().getTime();
    if (Math.abs(timestamp - now) > this.windowMs) {
      throw new AuthenticationError(
        `${REQUEST_HEADERS.timestamp} is more than ${this.windowMs / 60000} minutes from the service's clock`,
      );
    }
    const nonce = header(request, REQUEST_HEADERS.nonce);
    if (!/^[0-9a-f]{32}$/.test(nonce)) {
      throw new AuthenticationError(`${REQUEST_HEADERS.nonce} must be 16 bytes of lower-case hex`);
    }
    const signatureText = header(request, REQUEST_HEADERS.signature);
    if (!/^[0-9a-f]{128}$/.test(signatureText)) {
      throw new AuthenticationError(`${REQUEST_HEADERS.signature} must be 64 bytes (r‖s) of lower-case hex`);
    }
    let signedBytes: Uint8Array;
    try {
      signedBytes = canonicalRequest({
        method: request.method,
        path: request.path,
        body: request.body,
        timestamp,
        nonce,
        signer: signerText as RequestSigner,
      });
    } catch (cause) {
      throw new AuthenticationError("the request cannot be put in canonical form", { cause });
    }
    return {
      kind: signer.kind,
      id: signer.id,
      signer: signerText as RequestSigner,
      timestamp,
      nonce,
      signature: fromHex(signatureText),
      signedBytes,
    };
  }

  /** Verifies the signature with `publicKey` (from the body for enrollment, from the record otherwise). */
  verify(parsed: ParsedDeviceRequest, publicKey: Uint8Array): AuthenticatedDeviceRequest {
    if (!verifyRaw(parsed.signature, parsed.signedBytes, publicKey)) {
      throw new AuthenticationError(`the request signature does not verify with the ${parsed.kind} key`);
    }
    const expiresAt = new Date(
      Math.max(parsed.timestamp, this.clock.now().getTime()) + this.windowMs + NONCE_MARGIN_MS,
    );
    return {
      kind: parsed.kind,
      id: parsed.id,
      publicKey,
      nonce: { signer: parsed.signer, nonce: parsed.nonce, expiresAt },
    };
  }

  /**
   * The whole check for a route whose signer is already on record: parse,
   * look the key up, verify, and claim the nonce on its own. Routes that
   * write state should instead pass `nonce` to the store call that writes it.
   */
  async authenticate(
    request: DeviceRequest,
    expected?: SignerKind,
    options: { whileSuspended?: boolean } = {},
  ): Promise<AuthenticatedDeviceRequest> {
    const parsed = expected ? this.parseAs(request, expected) : this.parse(request);
    const signer = await this.signerOnRecord(parsed);
    const authenticated = this.verify(parsed, signer.publicKey);
    // Lost mode: after the signature (an unauthenticated caller learns nothing), before anything is written.
    if (!options.whileSuspended)
      await refuseIfSuspended(this.store, signer.seId, "it may only fetch notices and confirm terminations");
    await this.store.claimNonce(authenticated.nonce);
    return authenticated;
  }

  /** What to read for the signer of `parsed`, to fetch it in the same round trip as the route's own records. */
  signerReads(parsed: ParsedDeviceRequest): RecordReads {
    return parsed.kind === "instance" ? { secureElements: [parsed.id] } : { keys: [parsed.id] };
  }

  /**
   * Verifies `parsed` with the signer found in `records` (read with
   * signerReads): refused as authenticate() refuses an unknown signer or a bad
   * signature. The nonce is the caller's to claim with what it writes.
   */
  verifyWithRecords(parsed: ParsedDeviceRequest, records: RecordsRead): AuthenticatedDeviceRequest {
    if (parsed.kind === "instance") {
      const se = records.secureElements.get(parsed.id);
      if (!se) throw new AuthenticationError(`no enrolled secure element ${parsed.id}`);
      return this.verify(parsed, fromHex(se.instanceCaPublicKey));
    }
    const key = records.keys.get(parsed.id);
    if (!key) throw new AuthenticationError(`no registered key ${parsed.id}`);
    return this.verify(parsed, fromHex(key.endpointPublicKey));
  }

  /** Parses the headers and requires `expected` as the signer's kind (as authenticate does). */
  parseAs(request: DeviceRequest, expected: SignerKind): ParsedDeviceRequest {
    const parsed = this.parse(request);
    if (parsed.kind !== expected) {
      throw new AuthenticationError(`this route must be signed by an ${expected} key`);
    }
    return parsed;
  }

  /** The signing key on record, and the SE it lives on. */
  private async signerOnRecord(
    parsed: ParsedDeviceRequest,
  ): Promise<{ publicKey: Uint8Array; seId: string }> {
    if (parsed.kind === "instance") {
      const se = await this.store.getSecureElement(parsed.id);
      if (!se) throw new AuthenticationError(`no enrolled secure element ${parsed.id}`);
      return { publicKey: fromHex(se.instanceCaPublicKey), seId: se.seId };
    }
    const key = await this.store.getKey(parsed.id);
    if (!key) throw new AuthenticationError(`no registered key ${parsed.id}`);
    return { publicKey: fromHex(key.endpointPublicKey), seId: await this.pseudonyms.deviceOf(key) };
  }
}

/** The signer name for a key, as the device puts it in carkey-signer. */
export function signerName(kind: SignerKind, id: Uint8Array | string): RequestSigner {
  return `${kind}:${typeof id === "string" ? id : toHex(id)}` as RequestSigner;
}
