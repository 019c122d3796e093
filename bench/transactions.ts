// Bench of the offline transactions: the median time of a standard and of a
// fast transaction, device plus vehicle work, in memory, against the floor:
// the fastest primitives on this machine (node:crypto, i.e. OpenSSL) that each
// transaction needs, measured in the same run. noble's figures for the same
// primitives are printed beside them for reference: they were the floor while
// the protocol ran on noble.
import {
  createCipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  sign,
  verify,
} from "node:crypto";
import { cbc, cmac } from "@noble/ciphers/aes.js";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { SecureElement } from "../src/emulator/secure-element/secure-element.js";
import { tap } from "../src/emulator/tap.js";
import { Vehicle } from "../src/emulator/vehicle/vehicle.js";
import { AesCmac } from "../src/protocol/aes-cmac.js";
import { fromHex } from "../src/protocol/bytes.js";
import { generateKeyPair, signRaw } from "../src/protocol/p256.js";
import { benchFastWithManyKeys } from "./fast-many-keys.js";
import { emit, formatMs, measure, printTable, type Sample } from "./measure.js";

const RUNS = 300;

interface PrimitivePair {
  name: string;
  node: Sample;
  noble: Sample;
}

/** Each primitive twice: node:crypto (the floor) and noble (reference), on the same inputs. */
async function primitives(): Promise<Record<string, PrimitivePair>> {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const message = new Uint8Array(120).fill(7);
  const signature = signRaw(a.privateKey, message);
  const key16 = new Uint8Array(16).fill(1);
  const block = new Uint8Array(16);
  const kdh = new Uint8Array(32).fill(3);
  const tid = new Uint8Array(16).fill(4);
  const cmacKey = new AesCmac(key16);
  const smData = new Uint8Array(128).fill(5);
  // Keys loaded into OpenSSL once, as the protocol's own key caches hold them.
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: Buffer.from(a.publicKey.subarray(1, 33)).toString("base64url"),
    y: Buffer.from(a.publicKey.subarray(33)).toString("base64url"),
  };
  const privateKey = createPrivateKey({
    key: { ...jwk, d: Buffer.from(a.privateKey).toString("base64url") },
    format: "jwk",
  });
  const publicKey = createPublicKey({ key: jwk, format: "jwk" });
  const pair = async (name: string, node: () => unknown, noble: () => unknown): Promise<PrimitivePair> => ({
    name,
    node: await measure(name, RUNS, node),
    noble: await measure(name, RUNS, noble),
  });
  const aesCbc = (data: Uint8Array) => {
    const cipher = createCipheriv("aes-128-cbc", key16, block).setAutoPadding(false);
    return cipher.update(data);
  };
  const out: PrimitivePair[] = [
    await pair(
      "P-256 key generation",
      () => createECDH("prime256v1").generateKeys(),
      () => p256.keygen(),
    ),
    await pair(
      "P-256 ECDH",
      () => {
        const ecdh = createECDH("prime256v1");
        ecdh.setPrivateKey(a.privateKey);
        return ecdh.computeSecret(b.publicKey);
      },
      () => p256.getSharedSecret(a.privateKey, b.publicKey, true),
    ),
    await pair(
      "ECDSA sign",
      () => sign("sha256", message, { key: privateKey, dsaEncoding: "ieee-p1363" }),
      () => p256.sign(message, a.privateKey),
    ),
    await pair(
      "ECDSA verify",
      () => verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature),
      () => p256.verify(signature, message, a.publicKey, { lowS: false }),
    ),
    await pair(
      "X9.63 + 2×HKDF (standard keys)",
      () => {
        const k = createHash("sha256")
          .update(kdh)
          .update(Uint8Array.of(0, 0, 0, 1))
          .update(tid)
          .digest();
        hkdfSync("sha256", k, new Uint8Array(0), message, 32);
        hkdfSync("sha256", k, new Uint8Array(0), message, 48);
      },
      () => {
        const k = sha256(new Uint8Array([...kdh, 0, 0, 0, 1, ...tid]));
        hkdf(sha256, k, undefined, message, 32);
        hkdf(sha256, k, undefined, message, 48);
      },
    ),
    await pair(
      "HKDF 64 bytes (fast keys)",
      () => hkdfSync("sha256", kdh, new Uint8Array(0), message, 64),
      () => hkdf(sha256, kdh, undefined, message, 64),
    ),
    // One protected message: ICV block, CBC over 112 bytes, CMAC over chaining ‖ ciphertext.
    await pair(
      "SM protect one message",
      () => {
        const icv = aesCbc(block);
        createCipheriv("aes-128-cbc", key16, icv).setAutoPadding(false).update(smData.subarray(16));
        cmacKey.mac(smData);
      },
      () => {
        const icv = cbc(key16, block, { disablePadding: true }).encrypt(block);
        cbc(key16, icv, { disablePadding: true }).encrypt(smData.subarray(16));
        cmac(smData, key16);
      },
    ),
  ];
  return Object.fromEntries(out.map((p) => [p.name, p]));
}

export async function benchTransactions(): Promise<void> {
  const p = await primitives();
  const floor = (pick: "node" | "noble") => {
    const m = (name: string) => p[name]![pick].medianMs;
    // Standard: each side makes an ephemeral key, one ECDH, one signature, one verification and the
    // standard key schedule; AUTH1 and the immobilizer EXCHANGE protect four messages per side.
    const standard =
      2 *
        (m("P-256 key generation") +
          m("P-256 ECDH") +
          m("ECDSA sign") +
          m("ECDSA verify") +
          m("X9.63 + 2×HKDF (standard keys)")) +
      8 * m("SM protect one message");
    // Fast: ephemeral keys and one 64-byte HKDF per side, no ECDH, no signatures; one EXCHANGE
    // round trip (two protected messages per side).
    const fast =
      2 * (m("P-256 key generation") + m("HKDF 64 bytes (fast keys)")) + 4 * m("SM protect one message");
    return { standard, fast };
  };
  const nodeFloor = floor("node");
  const nobleFloor = floor("noble");

  const { se } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  await tap(se, car.doorHandle);
  const standard = await measure("standard transaction (dashboard, start)", RUNS, async () => {
    const result = await tap(se, car.dashboard);
    if (result.decision !== "started") throw new Error(`bench tap failed: ${result.reason}`);
  });
  const fast = await measure("fast transaction (door)", RUNS, async () => {
    const result = await tap(se, car.doorHandle);
    if (result.flow !== "fast") throw new Error(`bench tap was not fast: ${result.reason}`);
  });

  printTable(
    `Primitives, median of ${RUNS}: node:crypto (the floor) and noble (reference)`,
    Object.values(p).map((s) => ({
      primitive: s.name,
      "node:crypto ms": formatMs(s.node.medianMs),
      "noble ms": formatMs(s.noble.medianMs),
      "noble ÷ node": (s.noble.medianMs / s.node.medianMs).toFixed(1),
    })),
  );
  const row = (sample: Sample, nodeMs: number, nobleMs: number) => ({
    transaction: sample.name,
    "median ms": formatMs(sample.medianMs),
    "p99 ms": formatMs(sample.p99Ms),
    "floor ms": formatMs(nodeMs),
    "× floor": (sample.medianMs / nodeMs).toFixed(2),
    "noble floor ms": formatMs(nobleMs),
  });
  printTable("Offline transactions, device + vehicle, in memory", [
    row(standard, nodeFloor.standard, nobleFloor.standard),
    row(fast, nodeFloor.fast, nobleFloor.fast),
  ]);
  emit("transaction-standard", standard, nodeFloor.standard, { noble_floor_ms: nobleFloor.standard });
  emit("transaction-fast", fast, nodeFloor.fast, { noble_floor_ms: nobleFloor.fast });
  await benchFastWithManyKeys();
}
