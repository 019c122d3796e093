// What an automaker's backend does with the Car Keys service, written against
// the published client package (`carkeys/client`): receive the service's
// signed webhooks and verify each delivery, enroll a vehicle at the factory,
// track the key its owner registers (and check the receipt), revoke it, read
// the vehicle's signed revocation list and verify it, and see the revocation
// arrive as a verified `key.revoked` webhook.
//
// The owner's phone and the car are played by the emulator (`carkeys/emulator`),
// which stands in for the real devices only: the backend's own calls use the
// client package alone.
//
// Run it against `npm start` with webhooks pointed at it:
//   npm start -- --webhook-url http://127.0.0.1:8787/carkeys-events
//   npm run build && npx tsx examples/oem-backend.ts
// Settings: CARKEYS_URL (default http://127.0.0.1:3000), OEM_API_TOKEN (default
// the token in CARKEYS_DATA_DIR/oem-token), CARKEYS_DATA_DIR (default .data: the
// emulated SE manufacturer's key is keys/se-manufacturer.json there),
// WEBHOOK_PORT (default 8787). It prints one JSON line per step.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import {
  CarKeysClient,
  fetchWebhookSigningKey,
  installVehicleEnrollment,
  OemBackendClient,
  OemLifecycleClient,
  verifyKeyReceipt,
  verifyRevocationListResponse,
  verifyWebhook,
} from "carkeys/client";
import { factoryAttesterFromFile, SecureElement, Vehicle } from "carkeys/emulator";

const baseUrl = process.env.CARKEYS_URL ?? "http://127.0.0.1:3000";
const dataDir = process.env.CARKEYS_DATA_DIR ?? ".data";
const token = process.env.OEM_API_TOKEN ?? readFileSync(join(dataDir, "oem-token"), "utf8").trim();
const webhookPort = Number(process.env.WEBHOOK_PORT ?? 8787);
const step = (name: string, facts: Record<string, unknown>) =>
  console.log(JSON.stringify({ step: name, ...facts }));

// ---- the backend's webhook receiver: verify every delivery, keep the events it accepts ------------

const { publicKey } = await fetchWebhookSigningKey(baseUrl);
const seenIds = new Set<string>(); // a real receiver forgets ids after the 300 s window
const events: { type: string; keyId?: string; detail?: Record<string, unknown> }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = new Uint8Array(Buffer.concat(chunks));
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
    );
    const check = verifyWebhook({ publicKey, headers, body, now: Math.floor(Date.now() / 1000), seenIds });
    if (!check.ok) {
      res.writeHead(401).end(check.reason);
      return;
    }
    events.push(JSON.parse(Buffer.from(body).toString("utf8")));
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(webhookPort, "127.0.0.1", resolve));
step("webhook-receiver", { url: `http://127.0.0.1:${webhookPort}/carkeys-events` });

try {
  const oem = new OemBackendClient(baseUrl, token);
  const lifecycle = new OemLifecycleClient(baseUrl, token);
  const anchors = await new CarKeysClient(baseUrl).getTrustAnchors();

  // ---- the factory: enroll the car; its certificate and pairing verifier go into it --------------
  const car = Vehicle.create();
  const enrollment = await oem.enrollVehicle({
    vehicleId: car.vehicleIdentifier,
    vehiclePublicKey: car.publicKey,
  });
  const { password } = installVehicleEnrollment(car, enrollment.response);
  const vehicleId = enrollment.response.vehicleId;
  step("vehicle-enrolled", { vehicleId, created: enrollment.created });

  // ---- stand-in: the owner's phone is enrolled, pairs with the car and registers its key ----------
  const { attester } = factoryAttesterFromFile(join(dataDir, "keys", "se-manufacturer.json"));
  const { se: phone } = SecureElement.create({ manufacturer: attester });
  const wallet = new CarKeysClient(baseUrl);
  await wallet.enrollSecureElement(phone);
  phone.enterPairingPassword(password);
  const { keyId } = await car.pair((command) => phone.transceive(command));
  phone.fieldLost();
  await wallet.registerKey(phone, keyId);

  // ---- track the key: the record, the vehicle's keys, the receipt signed by the Vehicle OEM root --
  const key = await oem.getKey(keyId);
  const receipt = verifyKeyReceipt(key, anchors.vehicleOemRoot);
  const keys = await oem.listVehicleKeys(vehicleId);
  step("key-tracked", {
    keyId,
    role: key.role,
    state: key.state,
    receiptRole: receipt.role,
    keys: keys.keys.length,
  });

  // ---- revoke it, then read the signed revocation list the car will apply -------------------------
  const revocation = await lifecycle.revokeKey(keyId);
  step("key-revoked", {
    keyId,
    state: revocation.state,
    reason: revocation.reason,
    sequence: revocation.listSequence,
  });
  const list = await lifecycle.getRevocationList(vehicleId);
  const signed = verifyRevocationListResponse(list, anchors.vehicleOemRoot);
  step("revocation-list", {
    vehicleId,
    latestSequence: list.latestSequence,
    entries: list.entries.map((e) => e.keyId),
    verified: signed !== undefined,
  });

  // ---- the webhook: the revocation arrives as a verified key.revoked event -------------------------
  const deadline = Date.now() + 10_000;
  while (!events.some((e) => e.type === "key.revoked" && e.keyId === keyId) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const revoked = events.find((e) => e.type === "key.revoked" && e.keyId === keyId);
  if (!revoked) throw new Error(`no verified key.revoked webhook for ${keyId} within 10 s`);
  step("webhook-verified", {
    type: revoked.type,
    keyId: revoked.keyId,
    reason: revoked.detail?.reason,
    events: events.length,
  });
} finally {
  receiver.close();
}
