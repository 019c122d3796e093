// Bench of the offline transactions (issue 2): the median time of a standard
// and of a fast transaction, device plus vehicle work, in memory, against the
// floor: the bare P-256 and symmetric primitives each transaction needs,
// measured in the same run.
import { SecureElement } from "../src/emulator/secure-element/secure-element.js";
import { tap } from "../src/emulator/tap.js";
import { Vehicle } from "../src/emulator/vehicle/vehicle.js";
import { fromHex } from "../src/protocol/bytes.js";
import { hkdfSha256, x963Kdf } from "../src/protocol/kdf.js";
import { ecdhX, generateKeyPair, signRaw, verifyRaw } from "../src/protocol/p256.js";
import { aesCmac, SecureMessagingSession } from "../src/protocol/secure-messaging.js";
import { formatMs, measure, printTable } from "./measure.js";

export async function benchTransactions(): Promise<void> {
  const runs = 200;
  const a = generateKeyPair();
  const b = generateKeyPair();
  const message = new Uint8Array(120).fill(7);
  const signature = signRaw(a.privateKey, message);
  const key16 = new Uint8Array(16).fill(1);
  const keygen = await measure("P-256 key generation", runs, () => generateKeyPair());
  const ecdh = await measure("P-256 ECDH", runs, () => ecdhX(a.privateKey, b.publicKey));
  const sign = await measure("ECDSA sign", runs, () => signRaw(a.privateKey, message));
  const verify = await measure("ECDSA verify", runs, () => verifyRaw(signature, message, a.publicKey));
  const kdf = await measure("X9.63 + 2×HKDF", runs, () => {
    const kdh = x963Kdf(new Uint8Array(32), new Uint8Array(16), 32);
    hkdfSha256(kdh, message, 32);
    hkdfSha256(kdh, message, 48);
  });
  const sm = await measure("SM command+response", runs, () => {
    const session = new SecureMessagingSession({ kenc: key16, kmac: key16, krmac: key16 });
    session.protectResponse(message);
    aesCmac(key16, message);
  });

  // Standard: each side makes an ephemeral key, one ECDH, one signature, one verification, the KDFs,
  // and secure messaging on both ends. Fast: ephemeral keys and one HKDF per side, no ECDH, no signatures.
  const standardFloor =
    2 * (keygen.medianMs + ecdh.medianMs + sign.medianMs + verify.medianMs + kdf.medianMs) + 2 * sm.medianMs;
  const fastFloor = 2 * keygen.medianMs + kdf.medianMs + 2 * sm.medianMs;

  const { se } = SecureElement.create();
  const car = Vehicle.create();
  const key = se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
  car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
  await tap(se, car.doorHandle);
  const standard = await measure("standard transaction (dashboard, start)", runs, async () => {
    const result = await tap(se, car.dashboard);
    if (result.decision !== "started") throw new Error(`bench tap failed: ${result.reason}`);
  });
  const fast = await measure("fast transaction (door)", runs, async () => {
    const result = await tap(se, car.doorHandle);
    if (result.flow !== "fast") throw new Error(`bench tap was not fast: ${result.reason}`);
  });

  printTable(
    `Primitives (the floor), median of ${runs}`,
    [keygen, ecdh, sign, verify, kdf, sm].map((s) => ({
      primitive: s.name,
      "median ms": formatMs(s.medianMs),
    })),
  );
  printTable("Offline transactions, device + vehicle, in memory", [
    {
      transaction: standard.name,
      "median ms": formatMs(standard.medianMs),
      "p99 ms": formatMs(standard.p99Ms),
      "floor ms": formatMs(standardFloor),
      "× floor": (standard.medianMs / standardFloor).toFixed(2),
    },
    {
      transaction: fast.name,
      "median ms": formatMs(fast.medianMs),
      "p99 ms": formatMs(fast.p99Ms),
      "floor ms": formatMs(fastFloor),
      "× floor": (fast.medianMs / fastFloor).toFixed(2),
    },
  ]);
}
