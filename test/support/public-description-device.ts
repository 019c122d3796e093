// A Digital Key device written from the public description of the transaction
// only (SELECT, AUTH0, AUTH1, CONTROL FLOW, as kormax/apple-home-key-reader
// and docs/transaction.md describe them), on node:crypto through the independent
// reference of test/vectors/carkeys/node-crypto-reference.ts, never from
// src/. It knows nothing of the project's mailbox operations: EXCHANGE is
// answered 6D00 (instruction not supported) and the session goes on, as a
// third-party phone would. It stands for "a phone we did not write".
import { createHash, randomBytes } from "node:crypto";
import {
  cat,
  RefSession,
  refEcdhX,
  refHkdf,
  refPublicKey,
  refSign,
  refTlv,
  refVerify,
  refX963,
} from "../vectors/carkeys/node-crypto-reference.js";

const AID = Buffer.from("A000000809434343444B417631", "hex");
const sw = (value: number) => Buffer.of(value >> 8, value & 0xff);
const OK = sw(0x9000);

/** Top-level BER-TLV with one-byte tags, as the transaction messages use them. */
function parseTlvs(data: Uint8Array): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < data.length) {
    const tag = data[i++]!;
    let length = data[i++]!;
    if (length === 0x81) length = data[i++]!;
    else if (length === 0x82) {
      length = (data[i]! << 8) | data[i + 1]!;
      i += 2;
    }
    out.set(tag, Buffer.from(data.subarray(i, i + length)));
    i += length;
  }
  return out;
}

/** A short-form command APDU: CLA INS P1 P2 [Lc data] [Le]. */
function parseCommand(bytes: Uint8Array) {
  const [cla, ins, p1, p2] = bytes;
  const lc = bytes.length > 5 ? bytes[4]! : 0;
  return { cla: cla!, ins: ins!, p1: p1!, p2: p2!, data: Buffer.from(bytes.subarray(5, 5 + lc)) };
}

export interface PublicDeviceOptions {
  vehicleIdentifier: Uint8Array;
  vehiclePublicKey: Uint8Array;
  /** The 5C list this device offers, e.g. "0200" or "01000200" (its own order). */
  versions?: string;
}

export class PublicDescriptionDevice {
  readonly endpointPrivate = randomBytes(32);
  readonly endpointPublic = refPublicKey(this.endpointPrivate);
  readonly keyId = createHash("sha1").update(this.endpointPublic).digest().subarray(0, 6);
  /** Kpersistent shared with the vehicle, once a standard transaction ended with CONTROL FLOW 01 xx. */
  persistent: Buffer | undefined;
  /** Every CONTROL FLOW P1 P2 it saw, hex. */
  readonly controlFlows: string[] = [];
  /** The version each AUTH0 chose, hex. */
  readonly chosenVersions: string[] = [];
  private readonly versions: Buffer;
  private session:
    | {
        ephemeralPrivate: Buffer;
        vehicleEphemeral: Buffer;
        transactionId: Buffer;
        flags: Buffer;
        version: Buffer;
        authenticated: boolean;
        pendingPersistent?: Buffer;
      }
    | undefined;

  constructor(private readonly options: PublicDeviceOptions) {
    this.versions = Buffer.from(options.versions ?? "0200", "hex");
  }

  transceive = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const c = parseCommand(bytes);
    if (c.cla === 0x00 && c.ins === 0xa4) {
      this.session = undefined;
      return c.data.equals(AID) ? cat(refTlv(0x5c, this.versions), OK) : sw(0x6a82);
    }
    if (c.cla === 0x80 && c.ins === 0x80) return this.auth0(c);
    if (c.cla === 0x80 && c.ins === 0x81) return this.auth1(c.data);
    if (c.cla === 0x80 && c.ins === 0x3c) return this.controlFlow(c.p1, c.p2);
    // EXCHANGE and anything else: not implemented here. The session is left as it was.
    return sw(0x6d00);
  };

  private auth0(c: ReturnType<typeof parseCommand>): Buffer {
    const t = parseTlvs(c.data);
    const version = t.get(0x5c);
    if (!version || !this.offers(version)) return sw(0x6a80);
    if (!t.get(0x4d)?.equals(Buffer.from(this.options.vehicleIdentifier))) return sw(0x6a88);
    this.chosenVersions.push(version.toString("hex"));
    const ephemeralPrivate = randomBytes(32);
    const ephemeralPublic = refPublicKey(ephemeralPrivate);
    const vehicleEphemeral = t.get(0x87)!;
    const transactionId = t.get(0x4c)!;
    const flags = Buffer.of(c.p1, c.p2);
    this.session = {
      ephemeralPrivate,
      vehicleEphemeral,
      transactionId,
      flags,
      version,
      authenticated: false,
    };
    let cryptogram: Uint8Array = Buffer.alloc(0);
    if (c.p1 === 0x01 && this.persistent) {
      // Fast: cryptogram ‖ Kenc ‖ Kmac ‖ Krmac = HKDF(Kpersistent, infoFast). This device does no EXCHANGE,
      // so only the cryptogram is used; the transaction counts as authenticated once the vehicle goes on.
      const infoFast = cat(
        Buffer.from(this.options.vehiclePublicKey.subarray(1, 33)),
        Buffer.from("VolatileFast"),
        Buffer.from(this.options.vehicleIdentifier),
        this.endpointPublic.subarray(1, 33),
        Buffer.of(0x5e),
        refTlv(0x5c, this.versions),
        refTlv(0x5c, version),
        vehicleEphemeral.subarray(1, 33),
        transactionId,
        flags,
        ephemeralPublic.subarray(1, 33),
      );
      cryptogram = refTlv(0x9d, refHkdf(this.persistent, infoFast, 64).subarray(0, 16));
      this.session.authenticated = true;
    }
    return cat(refTlv(0x86, ephemeralPublic), cryptogram, OK);
  }

  private auth1(data: Buffer): Buffer {
    const s = this.session;
    if (!s) return sw(0x6985);
    const payload = (usage: string) =>
      cat(
        refTlv(0x4d, this.options.vehicleIdentifier),
        refTlv(0x86, refPublicKey(s.ephemeralPrivate).subarray(1, 33)),
        refTlv(0x87, s.vehicleEphemeral.subarray(1, 33)),
        refTlv(0x4c, s.transactionId),
        refTlv(0x93, Buffer.from(usage, "hex")),
      );
    const signature = parseTlvs(data).get(0x9e);
    if (!signature || !refVerify(this.options.vehiclePublicKey, payload("415D9569"), signature)) {
      this.session = undefined;
      return sw(0x6300);
    }
    const kdh = refX963(refEcdhX(s.ephemeralPrivate, s.vehicleEphemeral), s.transactionId, 32);
    const info = (context: string) =>
      cat(
        s.vehicleEphemeral.subarray(1, 33),
        refPublicKey(s.ephemeralPrivate).subarray(1, 33),
        s.transactionId,
        Buffer.of(0x5e),
        s.flags,
        Buffer.from(context),
        refTlv(0x5c, s.version),
        refTlv(0x5c, this.versions),
      );
    const volatile = refHkdf(kdh, info("Volatile"), 48);
    const secure = new RefSession({
      kenc: volatile.subarray(0, 16),
      kmac: volatile.subarray(16, 32),
      krmac: volatile.subarray(32, 48),
    });
    const plaintext = cat(
      refTlv(0x4e, this.keyId),
      refTlv(0x9e, refSign(this.endpointPrivate, payload("4E887B4C"))),
    );
    s.pendingPersistent = refHkdf(kdh, info("Persistent"), 32);
    s.authenticated = true;
    return cat(secure.response(plaintext), OK);
  }

  private controlFlow(p1: number, p2: number): Buffer {
    this.controlFlows.push(Buffer.of(p1, p2).toString("hex"));
    const s = this.session;
    this.session = undefined;
    if (p1 !== 0x01 || !s?.authenticated) return sw(0x6985);
    if (s.pendingPersistent) this.persistent = s.pendingPersistent;
    return OK;
  }

  private offers(version: Buffer): boolean {
    for (let i = 0; i + 2 <= this.versions.length; i += 2) {
      if (this.versions.subarray(i, i + 2).equals(version)) return true;
    }
    return false;
  }
}
