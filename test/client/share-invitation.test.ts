// The share-invitation protocol on the devices (src/client/share-invitation.ts)
// and the TIGRESS client under it (src/client/tigress-client.ts), over an
// in-memory relay that follows the draft's text and lets a test act as a
// hostile relay: tamper with the stored ciphertext, serve an old payload
// again, reflect a party's own message, lose answers. Proves the AES-GCM
// payload format of TIGRESS §7.2, that the Secret and the plaintext never
// reach the relay, that each refusal is a typed error that leaves the devices
// as they were, and that a key shared this way opens the car (offline) with
// the profile the owner chose. The same flow against the real local server
// is share-over-relay.test.ts.

import { gcm } from "@noble/ciphers/aes.js";
import { describe, expect, it } from "vitest";
import {
  MailboxDuplicateError,
  ServiceProblemError,
  ShareDecryptionError,
  ShareExpiredError,
  ShareFormatError,
  ShareLinkError,
  ShareOrderError,
  ShareOwnMessageError,
  ShareReplayError,
  ShareTimeoutError,
} from "../../src/client/errors.js";
import {
  checkSequence,
  DIRECTION,
  decryptShareMessage,
  friendAcceptInvitation,
  friendFinishShare,
  generateShareSecret,
  type InvitationMessage,
  type KeyAttestationMessage,
  type KeyCreationRequestMessage,
  openShareMessage,
  ownerCancelInvitation,
  ownerCompleteShare,
  ownerCreateInvitation,
  SHARE_FORMAT,
  SHARE_PAYLOAD_TYPE,
  sealShareMessage,
} from "../../src/client/share-invitation.js";
import {
  buildShareUrl,
  newDeviceClaim,
  parseMailboxLink,
  parseShareUrl,
  rfc3339Utc,
  TigressClient,
} from "../../src/client/tigress-client.js";
import { SecureElementError } from "../../src/emulator/secure-element/errors.js";
import { tap } from "../../src/emulator/tap.js";
import type { AccessProfile } from "../../src/protocol/access-profile.js";
import { createDevice, createVehicle, EmulatedOem, pairOwner } from "../support/emulated-pki.js";
import { MemoryTigressRelay } from "./memory-tigress-relay.js";

const FAST_POLL = { intervalMs: 5, timeoutMs: 200 };

const invitation: InvitationMessage = {
  step: 1,
  direction: DIRECTION.ownerToFriend,
  type: "invitation",
  vehicleIdentifier: "00112233445566778899aabbccddeeff",
  vehicleCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  profile: { kind: "drive", speedLimitKmh: 80, validUntil: 2_000_000_000 },
  expiresAt: "2030-01-01T00:00:00Z",
};
const request: KeyCreationRequestMessage = {
  step: 2,
  direction: DIRECTION.friendToOwner,
  type: "key-creation-request",
  endpointCertificate: invitation.vehicleCertificate,
  instanceCaCertificate: invitation.vehicleCertificate,
};
const attestationMessage: KeyAttestationMessage = {
  step: 3,
  direction: DIRECTION.ownerToFriend,
  type: "key-attestation",
  keyAttestation: "0102",
};

function flipByte(data: string, index: number): string {
  const bytes = Buffer.from(data, "base64");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString("base64");
}

describe("payload encryption (TIGRESS §7.2)", () => {
  it("round-trips: AEAD_AES_128_GCM, data = base64(IV ‖ ciphertext ‖ tag), a fresh IV each time", () => {
    const secret = generateShareSecret();
    expect(secret).toHaveLength(16);
    const first = sealShareMessage(secret, invitation);
    const second = sealShareMessage(secret, invitation);
    expect(first.type).toBe(SHARE_PAYLOAD_TYPE);
    expect(first.type).toBe("AEAD_AES_128_GCM");
    const data = Buffer.from(first.data, "base64");
    const plaintext = JSON.stringify({ format: SHARE_FORMAT, content: invitation });
    expect(data.length).toBe(12 + Buffer.byteLength(plaintext) + 16);
    expect(data.subarray(0, 12)).not.toEqual(Buffer.from(second.data, "base64").subarray(0, 12));
    expect(decryptShareMessage(secret, first)).toEqual(invitation);
    expect(decryptShareMessage(secret, second)).toEqual(invitation);
  });

  it("is plain RFC 5116 AES-GCM with no AAD: any TIGRESS client can open it", () => {
    const secret = generateShareSecret();
    const data = new Uint8Array(Buffer.from(sealShareMessage(secret, request).data, "base64"));
    const plaintext = gcm(secret, data.subarray(0, 12)).decrypt(data.subarray(12));
    const envelope = JSON.parse(new TextDecoder().decode(plaintext));
    expect(envelope).toEqual({ format: "digitalwallet.carkey.ccc", content: request });
  });

  it("refuses a changed ciphertext, tag or IV, and a wrong Secret, all as ShareDecryptionError", () => {
    const secret = generateShareSecret();
    const payload = sealShareMessage(secret, invitation);
    for (const index of [0, 11, 12, 40, -1, -16]) {
      expect(() => decryptShareMessage(secret, { ...payload, data: flipByte(payload.data, index) })).toThrow(
        ShareDecryptionError,
      );
    }
    expect(() => decryptShareMessage(generateShareSecret(), payload)).toThrow(ShareDecryptionError);
    const truncated = Buffer.from(payload.data, "base64").subarray(0, 20).toString("base64");
    expect(() => decryptShareMessage(secret, { ...payload, data: truncated })).toThrow(ShareDecryptionError);
  });

  it("refuses other payload types, non-base64 data and plaintext that is not this protocol", () => {
    const secret = generateShareSecret();
    const payload = sealShareMessage(secret, invitation);
    expect(() => decryptShareMessage(secret, { ...payload, type: "AEAD_AES_256_GCM" })).toThrow(
      ShareFormatError,
    );
    expect(() => decryptShareMessage(secret, { ...payload, data: "not base64!" })).toThrow(ShareFormatError);
    const raw = (value: unknown) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = gcm(secret, iv).encrypt(new TextEncoder().encode(JSON.stringify(value)));
      return { type: "AEAD_AES_128_GCM", data: Buffer.concat([iv, sealed]).toString("base64") };
    };
    const bad: unknown[] = [
      { format: "digitalwallet.generic.authorizationToken", content: invitation },
      { format: SHARE_FORMAT, content: { ...invitation, step: 4 } },
      { format: SHARE_FORMAT, content: { ...invitation, direction: DIRECTION.friendToOwner } },
      { format: SHARE_FORMAT, content: { ...invitation, type: "key-attestation" } },
      { format: SHARE_FORMAT, content: { ...invitation, profile: { kind: "drive" } } },
      { format: SHARE_FORMAT, content: { ...invitation, vehicleCertificate: "not a PEM" } },
      { format: SHARE_FORMAT, content: { ...attestationMessage, keyAttestation: "XYZ" } },
      [1, 2, 3],
    ];
    for (const value of bad) expect(() => decryptShareMessage(secret, raw(value))).toThrow(ShareFormatError);
    // Other top-level keys are allowed by the draft (§7).
    expect(decryptShareMessage(secret, raw({ format: SHARE_FORMAT, content: invitation, extra: 1 }))).toEqual(
      invitation,
    );
  });
});

describe("sequence and direction (the draft has neither: TIGRESS §5 items 7 and 10)", () => {
  const secret = generateShareSecret();
  const step1 = sealShareMessage(secret, invitation);
  const step2 = sealShareMessage(secret, request);
  const step3 = sealShareMessage(secret, attestationMessage);

  it("accepts only the peer's next step", () => {
    expect(openShareMessage(secret, step1, { role: "friend", lastSent: 0, lastReceived: 0 })).toEqual(
      invitation,
    );
    expect(openShareMessage(secret, step2, { role: "owner", lastSent: 1, lastReceived: 0 })).toEqual(request);
    expect(openShareMessage(secret, step3, { role: "friend", lastSent: 2, lastReceived: 1 })).toEqual(
      attestationMessage,
    );
  });

  it("refuses a replayed message (a step already received)", () => {
    const error = (() => {
      try {
        openShareMessage(secret, step1, { role: "friend", lastSent: 2, lastReceived: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ShareReplayError);
    expect(error).toMatchObject({ step: 1, expectedStep: 3 });
  });

  it("refuses a reordered message (a step ahead of the next one)", () => {
    expect(() => openShareMessage(secret, step3, { role: "friend", lastSent: 0, lastReceived: 0 })).toThrow(
      ShareOrderError,
    );
    expect(() =>
      checkSequence({ step: 3, direction: 1 }, { role: "friend", lastSent: 0, lastReceived: 0 }),
    ).toThrow(/step 3 arrived out of order; expected step 1/);
  });

  it("refuses its own message read back, in either role", () => {
    expect(() => openShareMessage(secret, step1, { role: "owner", lastSent: 1, lastReceived: 0 })).toThrow(
      ShareOwnMessageError,
    );
    expect(() => openShareMessage(secret, step2, { role: "friend", lastSent: 2, lastReceived: 1 })).toThrow(
      ShareOwnMessageError,
    );
    expect(() => openShareMessage(secret, step3, { role: "owner", lastSent: 3, lastReceived: 2 })).toThrow(
      ShareOwnMessageError,
    );
  });
});

describe("share URLs (TIGRESS §7.3)", () => {
  const link = "https://relay.example/v1/m/3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

  it("puts the Secret, base64, in the fragment and the vertical in v", () => {
    const secret = Uint8Array.from(Buffer.from("hXlr6aRC7KgJpOLTNZaLsw==", "base64"));
    const url = buildShareUrl(link, secret);
    expect(url).toBe(`${link}?v=c#hXlr6aRC7KgJpOLTNZaLsw==`);
    const parsed = parseShareUrl(url);
    expect(parsed).toMatchObject({
      apiRoot: "https://relay.example/v1",
      mailboxId: "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
      vertical: "c",
      link: `${link}?v=c`,
    });
    expect(parsed.secret).toEqual(secret);
  });

  it("reads what other clients may send: base64url, percent-encoding, no v, no /v1/ (§6.1.6)", () => {
    const secret = generateShareSecret();
    const b64url = Buffer.from(secret).toString("base64url");
    expect(parseShareUrl(`${link}#${b64url}`).secret).toEqual(secret);
    expect(parseShareUrl(`${link}#${b64url}`).vertical).toBe("a");
    const encoded = encodeURIComponent(Buffer.from(secret).toString("base64"));
    expect(parseShareUrl(`${link}?v=c#${encoded}`).secret).toEqual(secret);
    expect(parseMailboxLink("https://relay.example/m/3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")).toEqual({
      apiRoot: "https://relay.example",
      mailboxId: "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    });
  });

  it("refuses links without a Secret, with a bad one, a bad vertical or no mailbox UUID", () => {
    const secret = Buffer.from(generateShareSecret()).toString("base64");
    for (const url of [
      link,
      `${link}#`,
      `${link}#${Buffer.from("short").toString("base64")}`,
      `${link}#not*base64`,
      `${link}?v=x#${secret}`,
      `https://relay.example/v1/m/not-a-uuid#${secret}`,
      `ftp://relay.example/v1/m/3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d#${secret}`,
      "not a url",
    ]) {
      expect(() => parseShareUrl(url), url).toThrow(ShareLinkError);
    }
  });

  it("formats expirations as YYYY-MM-DDThh:mm:ssZ", () => {
    expect(rfc3339Utc(new Date("2030-05-06T07:08:09.123Z"))).toBe("2030-05-06T07:08:09Z");
  });
});

async function world(profile: AccessProfile = { kind: "unlock-only" }) {
  const oem = await EmulatedOem.create();
  const car = await createVehicle(oem);
  const owner = await createDevice(oem);
  const friend = await createDevice(oem);
  const { keyId: ownerKeyId } = await pairOwner(oem, car, owner.se);
  const memory = new MemoryTigressRelay();
  const relay = new TigressClient(memory.apiRoot, { fetch: memory.fetch, retryDelayMs: 1 });
  return { oem, car, owner: owner.se, friend: friend.se, ownerKeyId, memory, relay, profile };
}

describe("sharing over a relay (in-memory, following the draft)", () => {
  it("owner invites, friend accepts, owner attests after Face ID, friend installs: the car opens offline", async () => {
    const w = await world({ kind: "drive", speedLimitKmh: 90 });
    const { url, secret, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    expect(url).toMatch(/^https:\/\/relay\.test\/v1\/m\/[0-9a-f-]{36}\?v=c#[A-Za-z0-9+/]{22}==$/);
    expect(url.endsWith(`#${secret}`)).toBe(true);

    const accepted = await friendAcceptInvitation(w.relay, url, w.friend);
    expect(accepted.invitation.profile).toEqual(w.profile);
    expect(accepted.state.claim).not.toBe(state.claim);

    w.owner.authenticateUser();
    const completed = await ownerCompleteShare(w.relay, state, w.owner, { poll: FAST_POLL });
    expect(completed.friendKeyId).toBe(accepted.keyId);

    const finished = await friendFinishShare(w.relay, accepted.state, w.friend, { poll: FAST_POLL });
    expect(finished.keyId).toBe(accepted.keyId);
    expect(finished.attestation).toEqual(completed.attestation);
    expect(finished.mailboxDeleted).toBe(true);
    expect(w.memory.mailboxes.size).toBe(0);

    const door = await tap(w.friend, w.car.doorHandle);
    expect(door).toMatchObject({ decision: "unlocked", keyId: accepted.keyId });
    const start = await tap(w.friend, w.car.dashboard);
    expect(start).toMatchObject({ decision: "started", speedLimitKmh: 90 });
  });

  it("never sends the Secret, the fragment or any plaintext to the relay; claims are fresh UUIDs per role", async () => {
    const w = await world();
    const { url, secret, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const accepted = await friendAcceptInvitation(w.relay, url, w.friend);
    w.owner.authenticateUser();
    await ownerCompleteShare(w.relay, state, w.owner, { poll: FAST_POLL });
    await friendFinishShare(w.relay, accepted.state, w.friend, { poll: FAST_POLL });

    const ownerKey = w.owner.key(w.ownerKeyId);
    const secretHex = Buffer.from(secret, "base64").toString("hex");
    const secrets = [secret, Buffer.from(secret, "base64").toString("base64url"), secretHex];
    const plaintexts = [ownerKey.vehicleIdentifier, "BEGIN CERTIFICATE", "unlock-only", SHARE_FORMAT];
    for (const entry of w.memory.log) {
      const wire = `${entry.url}\n${JSON.stringify(entry.headers)}\n${entry.body}`;
      expect(entry.url).not.toContain("#");
      for (const value of [...secrets, ...plaintexts]) expect(wire).not.toContain(value);
    }
    const claims = new Set(w.memory.log.map((e) => e.headers["mailbox-device-claim"]).filter(Boolean));
    expect([...claims].sort()).toEqual([state.claim, accepted.state.claim].sort());

    const again = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    expect(again.state.claim).not.toBe(state.claim);
    expect(again.secret).not.toBe(secret);
  });

  it("sends Create, Update, Delete with a Mailbox-Request-ID, reads without one", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    await friendAcceptInvitation(w.relay, url, w.friend);
    await ownerCancelInvitation(w.relay, state);
    const shape = w.memory.log.map((e) => [
      e.method,
      "mailbox-request-id" in e.headers,
      "mailbox-device-claim" in e.headers,
    ]);
    expect(shape).toEqual([
      ["POST", true, true], // CreateMailbox
      ["POST", false, true], // ReadSecureContent (binds the friend's claim)
      ["PUT", true, true], // UpdateMailbox: the key-creation request
      ["DELETE", true, true], // the owner cancels
    ]);
  });

  it("a relay that tampers with the invitation gets ShareDecryptionError, and the friend's SE creates no key", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const stored = w.memory.mailboxes.get(state.mailboxId)!;
    stored.payload = { ...stored.payload, data: flipByte(stored.payload.data, 30) };
    await expect(friendAcceptInvitation(w.relay, url, w.friend)).rejects.toThrow(ShareDecryptionError);
    expect(w.friend.listKeys()).toEqual([]);
  });

  it("a link with the wrong Secret gets ShareDecryptionError", async () => {
    const w = await world();
    const { url } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const wrong = `${url.split("#")[0]}#${Buffer.from(generateShareSecret()).toString("base64")}`;
    await expect(friendAcceptInvitation(w.relay, wrong, w.friend)).rejects.toThrow(ShareDecryptionError);
    expect(w.friend.listKeys()).toEqual([]);
  });

  it("a relay replaying the invitation to the waiting friend gets ShareReplayError; nothing is installed", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const accepted = await friendAcceptInvitation(w.relay, url, w.friend);
    const stored = w.memory.mailboxes.get(state.mailboxId)!;
    stored.payload = stored.history[0]!;
    const before = w.friend.key(accepted.keyId);
    await expect(friendFinishShare(w.relay, accepted.state, w.friend, { poll: FAST_POLL })).rejects.toThrow(
      ShareReplayError,
    );
    expect(w.friend.key(accepted.keyId)).toEqual(before);
    const tapped = await tap(w.friend, w.car.doorHandle);
    expect(tapped.decision).toBe("refused");
  });

  it("a relay serving the attestation of another round out of order gets ShareOrderError", async () => {
    const w = await world();
    const first = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    // The relay swaps in a later step encrypted under the same Secret (as if it had held it back).
    const later = sealShareMessage(Buffer.from(first.secret, "base64"), attestationMessage);
    w.memory.mailboxes.get(first.state.mailboxId)!.payload = later;
    await expect(friendAcceptInvitation(w.relay, first.url, w.friend)).rejects.toThrow(ShareOrderError);
    expect(w.friend.listKeys()).toEqual([]);
  });

  it("a party reading back its own latest message waits, then times out", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    w.owner.authenticateUser();
    // Nobody answered yet: the slot holds the owner's own invitation.
    await expect(ownerCompleteShare(w.relay, state, w.owner, { poll: FAST_POLL })).rejects.toThrow(
      ShareTimeoutError,
    );
    const accepted = await friendAcceptInvitation(w.relay, url, w.friend);
    // The owner has not answered: the slot holds the friend's own key-creation request.
    await expect(friendFinishShare(w.relay, accepted.state, w.friend, { poll: FAST_POLL })).rejects.toThrow(
      ShareTimeoutError,
    );
    expect(w.owner.issuedAttestationList()).toEqual([]);
  });

  it("a friend-written message reflected to a new friend is refused as its own (ShareOwnMessageError)", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    w.memory.mailboxes.get(state.mailboxId)!.payload = sealShareMessage(
      Buffer.from(state.secret, "base64"),
      request,
    );
    await expect(friendAcceptInvitation(w.relay, url, w.friend)).rejects.toThrow(ShareOwnMessageError);
    expect(w.friend.listKeys()).toEqual([]);
  });

  it("the owner's SE refuses to attest without a fresh user authentication; nothing is posted", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    await friendAcceptInvitation(w.relay, url, w.friend);
    const puts = () => w.memory.log.filter((e) => e.method === "PUT").length;
    const before = puts();
    await expect(ownerCompleteShare(w.relay, state, w.owner, { poll: FAST_POLL })).rejects.toThrow(
      SecureElementError,
    );
    expect(puts()).toBe(before);
    expect(w.owner.issuedAttestationList()).toEqual([]);
  });

  it("a friend refuses an attestation for another profile than the invitation offered", async () => {
    const w = await world({ kind: "unlock-only" });
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const accepted = await friendAcceptInvitation(w.relay, url, w.friend);
    w.owner.authenticateUser();
    // A wallet that changed its stored share state: it attests "full" instead.
    await ownerCompleteShare(w.relay, { ...state, profile: { kind: "full" } }, w.owner, { poll: FAST_POLL });
    await expect(friendFinishShare(w.relay, accepted.state, w.friend, { poll: FAST_POLL })).rejects.toThrow(
      /another access profile/,
    );
    expect((await tap(w.friend, w.car.doorHandle)).decision).toBe("refused");
  });

  it("refuses an expired invitation before creating a key, and a link to another relay", async () => {
    const w = await world();
    const { url } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile, {
      expiresInHours: 1,
    });
    const later = () => Date.now() + 2 * 3600 * 1000;
    await expect(friendAcceptInvitation(w.relay, url, w.friend, { now: later })).rejects.toThrow(
      ShareExpiredError,
    );
    expect(w.friend.listKeys()).toEqual([]);
    const elsewhere = new TigressClient("https://other-relay.test/v1", { fetch: w.memory.fetch });
    await expect(friendAcceptInvitation(elsewhere, url, w.friend)).rejects.toThrow(ShareLinkError);
  });

  it("a second device is refused once the first friend's claim is bound (401), until it relinquishes", async () => {
    const w = await world();
    const { url, state } = await ownerCreateInvitation(w.relay, w.owner, w.ownerKeyId, w.profile);
    const first = await friendAcceptInvitation(w.relay, url, w.friend);
    const second = await createDevice(w.oem);
    const refusal = await friendAcceptInvitation(w.relay, url, second.se).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ServiceProblemError);
    expect(refusal).toMatchObject({ status: 401 });
    expect(second.se.listKeys()).toEqual([]);
    await w.relay.relinquish(state.mailboxId, first.state.claim);
    // Unbound: another device's claim may now read (and is bound by that read).
    const content = await w.relay.readSecureContent(state.mailboxId, newDeviceClaim());
    expect(content.payload.type).toBe(SHARE_PAYLOAD_TYPE);
    const html = await w.relay.readDisplayInformation(state.mailboxId);
    expect(html).toContain("Car key invitation");
  });
});

describe("TIGRESS client retries", () => {
  it("retries a write whose answer was lost with the same Mailbox-Request-ID; 201 means done", async () => {
    const memory = new MemoryTigressRelay();
    const relay = new TigressClient(memory.apiRoot, { fetch: memory.fetch, retryDelayMs: 1 });
    const secret = generateShareSecret();
    const claim = newDeviceClaim();
    const created = await relay.createMailbox(claim, {
      payload: sealShareMessage(secret, invitation),
      displayInformation: { title: "t", description: "d", imageURL: "https://x.test/i.png" },
    });
    memory.loseAnswers = 1;
    const updated = await relay.updateMailbox(created.mailboxId, claim, {
      payload: sealShareMessage(secret, request),
    });
    expect(updated.duplicate).toBe(true);
    const puts = memory.log.filter((e) => e.method === "PUT");
    expect(puts).toHaveLength(2);
    expect(puts[0]!.headers["mailbox-request-id"]).toBe(puts[1]!.headers["mailbox-request-id"]);
    expect(memory.mailboxes.get(created.mailboxId)!.history).toHaveLength(2);

    memory.loseAnswers = 1;
    await relay.deleteMailbox(created.mailboxId, claim);
    expect(memory.mailboxes.size).toBe(0);
    const deletes = memory.log.filter((e) => e.method === "DELETE");
    expect(deletes).toHaveLength(2);
  });

  it("a retried Create answered 201 without a link is a MailboxDuplicateError", async () => {
    const memory = new MemoryTigressRelay();
    const relay = new TigressClient(memory.apiRoot, { fetch: memory.fetch, retryDelayMs: 1 });
    memory.loseAnswers = 1;
    await expect(
      relay.createMailbox(newDeviceClaim(), {
        payload: sealShareMessage(generateShareSecret(), invitation),
        displayInformation: { title: "t", description: "d", imageURL: "https://x.test/i.png" },
      }),
    ).rejects.toThrow(MailboxDuplicateError);
  });

  it("waits out a short Retry-After on 429, and passes a long one on with its value", async () => {
    const memory = new MemoryTigressRelay();
    const relay = new TigressClient(memory.apiRoot, { fetch: memory.fetch, retryDelayMs: 1 });
    const create = () =>
      relay.createMailbox(newDeviceClaim(), {
        payload: sealShareMessage(generateShareSecret(), invitation),
        displayInformation: { title: "t", description: "d", imageURL: "" },
      });
    memory.rateLimit = { count: 1, retryAfterSeconds: 0 };
    expect((await create()).duplicate).toBe(false);
    memory.rateLimit = { count: 1, retryAfterSeconds: 60 };
    const error = await create().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceProblemError);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 60 });
    expect(memory.mailboxes.size).toBe(1);
  });

  it("maps a problem+json refusal to ServiceProblemError with status and detail", async () => {
    const memory = new MemoryTigressRelay();
    const relay = new TigressClient(memory.apiRoot, { fetch: memory.fetch });
    const error = await relay
      .readSecureContent(crypto.randomUUID(), newDeviceClaim())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceProblemError);
    expect(error).toMatchObject({ status: 404, detail: "no such mailbox" });
  });
});
