// The relay's domain (src/service/relay/relay-service.ts) against the
// in-memory RelayStore, case by case along draft-vinokurov-tigress-http-00:
// the §3.2/§4.3 flow with binding and relinquishing, §5.1 request ids, the
// §6.1.5 configuration with our §5 choices (accessRights per role,
// expiration bounds), the §5.2/§5.3 headers, the §7.2 payload shape and
// size, rate limits, the §6.4 preview, and what is stored.
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from "../../../src/service/errors.js";
import { claimDigest } from "../../../src/service/relay/mailbox-headers.js";
import { AccessRightsError, RateLimitedError } from "../../../src/service/relay/relay-errors.js";
import { type RelayCaller, TigressRelay } from "../../../src/service/relay/relay-service.js";
import { MemoryRelayStore } from "./memory-relay-store.js";
import {
  DISPLAY,
  newClaim,
  newRequestId,
  PLAINTEXT,
  payloadOfSize,
  plaintextNeedles,
  seal,
  TestClock,
  unseal,
} from "./relay-fixtures.js";

const BASE = "https://relay.test";
const HOUR = 3600_000;
const secret = new Uint8Array(16).fill(7);

let store: MemoryRelayStore;
let clock: TestClock;
let relay: TigressRelay;

beforeEach(() => {
  store = new MemoryRelayStore();
  clock = new TestClock();
  relay = new TigressRelay({ store, clock });
});

const as = (claim: string, extra: Partial<RelayCaller> = {}): RelayCaller => ({
  claim,
  requestId: newRequestId(),
  address: "198.51.100.7",
  ...extra,
});

const idOf = (urlLink: string) => urlLink.split("/").at(-1)!;

function createBody(extra: Record<string, unknown> = {}) {
  return { payload: seal(secret, PLAINTEXT.invitation), displayInformation: { ...DISPLAY }, ...extra };
}

async function create(initiator = newClaim(), extra: Record<string, unknown> = {}) {
  const answer = await relay.createMailbox(as(initiator), createBody(extra), BASE);
  return { initiator, id: idOf(answer.response.urlLink), answer };
}

describe("the TIGRESS flow (§3.2, §4.3)", () => {
  it("creates, binds the first reader, relays both ways, relinquishes, rebinds, deletes", async () => {
    const { initiator, id, answer } = await create();
    expect(answer.repeated).toBe(false);
    expect(answer.response.urlLink).toMatch(
      /^https:\/\/relay\.test\/v1\/m\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(answer.response.isPushNotificationSupported).toBe(false);
    expect(answer.response.expiration).toBe("2030-01-02T00:00:00Z");

    const friend = newClaim();
    const first = await relay.readSecureContent(id, as(friend, { requestId: undefined }));
    expect(unseal(secret, first.payload)).toEqual(PLAINTEXT.invitation);
    expect(first.displayInformation).toEqual(DISPLAY);
    expect(first.expiration).toBe("2030-01-02T00:00:00Z");

    // Friend answers; owner reads it; owner answers; friend reads it.
    expect(
      (await relay.updateMailbox(id, as(friend), { payload: seal(secret, PLAINTEXT.keyCreationRequest) }))
        .repeated,
    ).toBe(false);
    expect(unseal(secret, (await relay.readSecureContent(id, as(initiator))).payload)).toEqual(
      PLAINTEXT.keyCreationRequest,
    );
    expect(
      (await relay.updateMailbox(id, as(initiator), { payload: seal(secret, PLAINTEXT.keyAttestation) }))
        .repeated,
    ).toBe(false);
    expect(unseal(secret, (await relay.readSecureContent(id, as(friend))).payload)).toEqual(
      PLAINTEXT.keyAttestation,
    );

    // A third device is refused everything.
    const stranger = newClaim();
    await expect(relay.readSecureContent(id, as(stranger))).rejects.toThrow(AuthenticationError);
    await expect(relay.updateMailbox(id, as(stranger), { payload: payloadOfSize(40) })).rejects.toThrow(
      AuthenticationError,
    );
    await expect(relay.deleteMailbox(id, as(stranger))).rejects.toThrow(AuthenticationError);
    await expect(relay.relinquishMailbox(id, as(stranger))).rejects.toThrow(AuthenticationError);

    // The friend lets go; its other device claims the mailbox; the first claim is now a stranger.
    expect((await relay.relinquishMailbox(id, as(friend))).repeated).toBe(false);
    const otherDevice = newClaim();
    expect((await relay.readSecureContent(id, as(otherDevice))).payload).toBeDefined();
    await expect(relay.readSecureContent(id, as(friend))).rejects.toThrow(AuthenticationError);

    expect((await relay.deleteMailbox(id, as(initiator))).repeated).toBe(false);
    await expect(relay.readSecureContent(id, as(initiator))).rejects.toThrow(NotFoundError);
    await expect(relay.deleteMailbox(id, as(initiator))).rejects.toThrow(NotFoundError);
    await expect(relay.readDisplayInformation(id, as(initiator), BASE)).rejects.toThrow(NotFoundError);
  });

  it("lets the bound Recipient delete (D) and the Initiator relinquish nothing", async () => {
    const { initiator, id } = await create();
    const friend = newClaim();
    await relay.readSecureContent(id, as(friend));
    await expect(relay.relinquishMailbox(id, as(initiator))).rejects.toThrow(AccessRightsError);
    expect((await relay.deleteMailbox(id, as(friend))).repeated).toBe(false);
    expect(store.mailboxes.size).toBe(0);
    expect(store.creations.size).toBe(0);
  });

  it("never binds the Initiator as its own Recipient, and answers 404 for ids that are not UUIDs", async () => {
    const { initiator, id } = await create();
    await relay.readSecureContent(id, as(initiator));
    expect(store.mailboxes.get(id)!.recipient).toBeUndefined();
    await expect(relay.readSecureContent("not-a-uuid", as(initiator))).rejects.toThrow(NotFoundError);
    await expect(relay.readSecureContent(randomUUID(), as(initiator))).rejects.toThrow(NotFoundError);
    // Ids are compared in lower case, as the relay made them.
    expect((await relay.readSecureContent(id.toUpperCase(), as(initiator))).payload).toBeDefined();
  });

  it("binds exactly one of many parallel first readers", async () => {
    const { id } = await create();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => relay.readSecureContent(id, as(newClaim()))),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AuthenticationError);
    }
  });
});

describe("Mailbox-Request-ID (§5.1)", () => {
  it("answers a repeated Create with 201 and the same link, creating nothing, whatever the body", async () => {
    const initiator = newClaim();
    const requestId = newRequestId();
    const first = await relay.createMailbox(as(initiator, { requestId }), createBody(), BASE);
    const writes = store.writes;
    const again = await relay.createMailbox(as(initiator, { requestId }), { not: "even valid" }, BASE);
    expect(again.repeated).toBe(true);
    expect(again.response).toEqual(first.response);
    expect(store.writes).toBe(writes);
    expect(store.mailboxes.size).toBe(1);
    // The same request id from another claim is another request.
    const other = await relay.createMailbox(as(newClaim(), { requestId }), createBody(), BASE);
    expect(other.repeated).toBe(false);
    expect(other.response.urlLink).not.toBe(first.response.urlLink);
  });

  it("keeps only the last id per claim: a new Create replaces it", async () => {
    const initiator = newClaim();
    const [a, b] = [newRequestId(), newRequestId()];
    await relay.createMailbox(as(initiator, { requestId: a }), createBody(), BASE);
    await relay.createMailbox(as(initiator, { requestId: b }), createBody(), BASE);
    expect((await relay.createMailbox(as(initiator, { requestId: b }), createBody(), BASE)).repeated).toBe(
      true,
    );
    expect((await relay.createMailbox(as(initiator, { requestId: a }), createBody(), BASE)).repeated).toBe(
      false,
    );
  });

  it("answers a repeated Update with 201 without replacing the payload, and a new id with 200", async () => {
    const { initiator, id } = await create();
    const requestId = newRequestId();
    const update = { payload: seal(secret, PLAINTEXT.keyAttestation) };
    expect((await relay.updateMailbox(id, as(initiator, { requestId }), update)).repeated).toBe(false);
    const writes = store.writes;
    const repeat = await relay.updateMailbox(id, as(initiator, { requestId }), {
      payload: payloadOfSize(99),
    });
    expect(repeat).toEqual({ repeated: true, response: { isPushNotificationSupported: false } });
    expect(store.writes).toBe(writes);
    expect(store.mailboxes.get(id)!.payload).toEqual(update.payload);
    // The Create's request id is the Initiator's last one too.
    expect((await relay.updateMailbox(id, as(initiator), update)).repeated).toBe(false);
  });

  it("answers a repeated Relinquish with 201, also after the claim was unbound", async () => {
    const { id } = await create();
    const friend = newClaim();
    await relay.readSecureContent(id, as(friend));
    const requestId = newRequestId();
    expect((await relay.relinquishMailbox(id, as(friend, { requestId }))).repeated).toBe(false);
    expect((await relay.relinquishMailbox(id, as(friend, { requestId }))).repeated).toBe(true);
    await expect(relay.relinquishMailbox(id, as(friend))).rejects.toThrow(AuthenticationError);
  });

  it("is required on writes (400), optional on reads, and never turns a read into a 201", async () => {
    const { initiator, id } = await create();
    const noId = { requestId: undefined };
    await expect(relay.createMailbox(as(newClaim(), noId), createBody(), BASE)).rejects.toThrow(
      ValidationError,
    );
    await expect(
      relay.updateMailbox(id, as(initiator, noId), { payload: payloadOfSize(40) }),
    ).rejects.toThrow(ValidationError);
    await expect(relay.deleteMailbox(id, as(initiator, noId))).rejects.toThrow(ValidationError);
    await expect(relay.relinquishMailbox(id, as(initiator, noId))).rejects.toThrow(ValidationError);
    await expect(relay.updateMailbox(id, as(initiator, { requestId: "42" }), {})).rejects.toThrow(
      ValidationError,
    );
    const requestId = newRequestId();
    expect((await relay.readSecureContent(id, as(initiator, { requestId }))).payload).toBeDefined();
    expect((await relay.readSecureContent(id, as(initiator, { requestId }))).payload).toBeDefined();
    expect((await relay.readSecureContent(id, as(initiator, noId))).payload).toBeDefined();
  });
});

describe("accessRights (our §5 item 4 choice: they bind the Recipient only; absent = RWD)", () => {
  it("enforces explicit rights on the Recipient and never on the Initiator", async () => {
    const { initiator, id } = await create(newClaim(), { mailboxConfiguration: { accessRights: "r" } });
    expect(store.mailboxes.get(id)!.recipientRights).toBe("R");
    const friend = newClaim();
    expect((await relay.readSecureContent(id, as(friend))).payload).toBeDefined();
    await expect(relay.updateMailbox(id, as(friend), { payload: payloadOfSize(40) })).rejects.toThrow(
      AccessRightsError,
    );
    await expect(relay.deleteMailbox(id, as(friend))).rejects.toThrow(AccessRightsError);
    expect((await relay.updateMailbox(id, as(initiator), { payload: payloadOfSize(40) })).repeated).toBe(
      false,
    );
    expect((await relay.relinquishMailbox(id, as(friend))).repeated).toBe(false);
    expect((await relay.deleteMailbox(id, as(initiator))).repeated).toBe(false);
  });

  it("without R binds nobody", async () => {
    const { id } = await create(newClaim(), { mailboxConfiguration: { accessRights: "WD" } });
    await expect(relay.readSecureContent(id, as(newClaim()))).rejects.toThrow(AccessRightsError);
    expect(store.mailboxes.get(id)!.recipient).toBeUndefined();
  });

  it("canonicalizes the letters and refuses repeats and others", async () => {
    const { id } = await create(newClaim(), { mailboxConfiguration: { accessRights: "dwR" } });
    expect(store.mailboxes.get(id)!.recipientRights).toBe("RWD");
    for (const accessRights of ["RR", "X", "", "RWDR"]) {
      await expect(create(newClaim(), { mailboxConfiguration: { accessRights } })).rejects.toThrow(
        ValidationError,
      );
    }
  });
});

describe("expiration (our §5 item 5 choice)", () => {
  const expiring = (expiration: string) => create(newClaim(), { mailboxConfiguration: { expiration } });

  it("defaults to 24 hours, shortens anything past 7 days, converts offsets, drops fractions", async () => {
    expect(
      (await create(newClaim(), { mailboxConfiguration: { accessRights: "RWD" } })).answer.response
        .expiration,
    ).toBe("2030-01-02T00:00:00Z");
    expect((await expiring("2030-03-01T00:00:00Z")).answer.response.expiration).toBe("2030-01-08T00:00:00Z");
    expect((await expiring("2030-01-01T12:00:00+02:00")).answer.response.expiration).toBe(
      "2030-01-01T10:00:00Z",
    );
    expect((await expiring("2030-01-01T10:00:00.999Z")).answer.response.expiration).toBe(
      "2030-01-01T10:00:00Z",
    );
  });

  it("refuses the past, the present, impossible dates and other formats", async () => {
    for (const expiration of [
      "2029-12-31T23:59:59Z",
      "2030-01-01T00:00:00Z",
      "2030-02-30T00:00:00Z",
      "2030-01-01T24:00:00Z",
      "2030-01-01T10:00:60Z",
      "2030-01-02",
      "tomorrow",
      "1893456000",
    ]) {
      await expect(expiring(expiration), expiration).rejects.toThrow(ValidationError);
    }
  });

  it("treats an expired mailbox as gone for every operation, and its creation id as forgotten", async () => {
    const initiator = newClaim();
    const requestId = newRequestId();
    const body = createBody({ mailboxConfiguration: { expiration: "2030-01-01T01:00:00Z" } });
    const { response: created } = await relay.createMailbox(as(initiator, { requestId }), body, BASE);
    const id = idOf(created.urlLink);
    const friend = newClaim();
    await relay.readSecureContent(id, as(friend));
    clock.advance(HOUR);
    await expect(relay.readSecureContent(id, as(friend))).rejects.toThrow(NotFoundError);
    await expect(relay.readDisplayInformation(id, as(friend), BASE)).rejects.toThrow(NotFoundError);
    await expect(relay.updateMailbox(id, as(initiator), { payload: payloadOfSize(40) })).rejects.toThrow(
      NotFoundError,
    );
    await expect(relay.relinquishMailbox(id, as(friend))).rejects.toThrow(NotFoundError);
    await expect(relay.deleteMailbox(id, as(initiator))).rejects.toThrow(NotFoundError);
    const later = createBody();
    expect((await relay.createMailbox(as(initiator, { requestId }), later, BASE)).repeated).toBe(false);
  });
});

describe("headers (our §5 items 1 and 11 choices)", () => {
  it("answers 401 to a missing or malformed claim, on every operation that takes one", async () => {
    const { id } = await create();
    for (const claim of [undefined, "", "not-a-uuid", `${randomUUID()}x`]) {
      const caller = { claim, requestId: newRequestId(), address: "198.51.100.7" } as RelayCaller;
      await expect(relay.createMailbox(caller, createBody(), BASE)).rejects.toThrow(AuthenticationError);
      await expect(relay.readSecureContent(id, caller)).rejects.toThrow(AuthenticationError);
      await expect(relay.updateMailbox(id, caller, {})).rejects.toThrow(AuthenticationError);
      await expect(relay.deleteMailbox(id, caller)).rejects.toThrow(AuthenticationError);
      await expect(relay.relinquishMailbox(id, caller)).rejects.toThrow(AuthenticationError);
    }
  });

  it("compares claims case-insensitively and stores only their digests", async () => {
    const initiator = randomUUID();
    const { id } = await create(initiator.toUpperCase());
    expect((await relay.readSecureContent(id, as(initiator))).payload).toBeDefined();
    expect(store.mailboxes.get(id)!.initiator.claimDigest).toBe(claimDigest(initiator));
    expect(store.dump()).not.toContain(initiator);
  });

  it("accepts an attestation that is base64 of 1 to 4096 bytes, stores it opaque, and refuses others with 401", async () => {
    const attestation = Buffer.from("opaque OEM attestation").toString("base64");
    const initiator = newClaim();
    const { response: body } = await relay.createMailbox(as(initiator, { attestation }), createBody(), BASE);
    const id = idOf(body.urlLink);
    expect(store.mailboxes.get(id)!.initiator.attestation).toBe(attestation);
    const urlSafe = Buffer.alloc(4096, 0xfb).toString("base64url");
    expect(
      (await relay.updateMailbox(id, as(initiator, { attestation: urlSafe }), { payload: payloadOfSize(40) }))
        .repeated,
    ).toBe(false);
    // Only Create and Update take one (§5.3, §6.2): elsewhere it is not even looked at.
    expect(
      (await relay.readSecureContent(id, as(initiator, { attestation: "not base64!" }))).payload,
    ).toBeDefined();
    expect((await relay.deleteMailbox(id, as(initiator, { attestation: "not base64!" }))).repeated).toBe(
      false,
    );
    for (const bad of ["", "not base64!", "a", Buffer.alloc(4097).toString("base64")]) {
      await expect(
        relay.createMailbox(as(newClaim(), { attestation: bad }), createBody(), BASE),
      ).rejects.toThrow(AuthenticationError);
    }
  });
});

describe("bodies (§6.1.5, §7.2) and sizes", () => {
  it("answers 400 to a missing body or fields, a wrong type, and data that cannot hold an IV and a tag", async () => {
    const initiator = newClaim();
    const bodies: unknown[] = [
      undefined,
      null,
      [],
      "text",
      {},
      { displayInformation: DISPLAY },
      { payload: seal(secret, {}) },
      {
        payload: { type: "AEAD_CHACHA20_POLY1305", data: payloadOfSize(40).data },
        displayInformation: DISPLAY,
      },
      { payload: { type: "AEAD_AES_128_GCM", data: "not base64!" }, displayInformation: DISPLAY },
      { payload: { type: "AEAD_AES_128_GCM", data: 42 }, displayInformation: DISPLAY },
      { payload: payloadOfSize(27), displayInformation: DISPLAY },
      { payload: seal(secret, {}), displayInformation: { title: "x", description: "y" } },
      { payload: seal(secret, {}), displayInformation: { ...DISPLAY, imageURL: "javascript:alert(1)" } },
      { payload: seal(secret, {}), displayInformation: DISPLAY, mailboxConfiguration: "RWD" },
      { payload: seal(secret, {}), displayInformation: DISPLAY, notificationToken: { type: "apns" } },
    ];
    for (const body of bodies) {
      await expect(relay.createMailbox(as(initiator), body, BASE), JSON.stringify(body)).rejects.toThrow(
        ValidationError,
      );
    }
    expect(store.mailboxes.size).toBe(0);
  });

  it("holds 64 KiB of payload data and answers 413 to one byte more, on Create and Update", async () => {
    const initiator = newClaim();
    const { response: body } = await relay.createMailbox(
      as(initiator),
      { payload: payloadOfSize(64 * 1024), displayInformation: DISPLAY },
      BASE,
    );
    const id = idOf(body.urlLink);
    await expect(
      relay.createMailbox(
        as(newClaim()),
        { payload: payloadOfSize(64 * 1024 + 1), displayInformation: DISPLAY },
        BASE,
      ),
    ).rejects.toThrow(PayloadTooLargeError);
    await expect(
      relay.updateMailbox(id, as(initiator), { payload: payloadOfSize(64 * 1024 + 1) }),
    ).rejects.toThrow(PayloadTooLargeError);
  });

  it("ignores unknown fields and discards push tokens: neither is stored", async () => {
    const { id } = await create(newClaim(), {
      notificationToken: { type: "com.apple.apns", tokenData: "PUSHTOKEN-abcdef" },
      futureField: { secret: "UNKNOWN-FIELD-VALUE" },
    });
    expect(store.mailboxes.get(id)).toBeDefined();
    expect(store.dump()).not.toContain("PUSHTOKEN");
    expect(store.dump()).not.toContain("UNKNOWN-FIELD-VALUE");
  });
});

describe("rate limits", () => {
  it("limits each claim, answering with a retry time, and refills with time", async () => {
    relay = new TigressRelay({
      store,
      clock,
      rateLimits: { perAddress: { burst: 1000, intervalMs: 1 }, perClaim: { burst: 3, intervalMs: 2000 } },
    });
    const { initiator, id } = await create();
    await relay.readSecureContent(id, as(initiator));
    await relay.readSecureContent(id, as(initiator));
    const refusal = await relay.readSecureContent(id, as(initiator)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).retryAfterSeconds).toBe(2);
    // Another claim is not affected; the first one is again after the interval.
    expect((await relay.readSecureContent(id, as(newClaim()))).payload).toBeDefined();
    clock.advance(2000);
    expect((await relay.readSecureContent(id, as(initiator))).payload).toBeDefined();
  });

  it("limits each address whatever the claim, a whole IPv6 /64 together, before anything else is checked", async () => {
    relay = new TigressRelay({
      store,
      clock,
      rateLimits: { perAddress: { burst: 2, intervalMs: 60_000 }, perClaim: { burst: 100, intervalMs: 1 } },
    });
    const from = (address: string) => ({ claim: newClaim(), requestId: newRequestId(), address });
    await relay.createMailbox(from("2001:db8:1:2::1"), createBody(), BASE);
    await relay.createMailbox(from("2001:db8:1:2:ffff::9"), createBody(), BASE);
    const refusal = await relay
      .createMailbox(from("2001:db8:1:2::77"), createBody(), BASE)
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).retryAfterSeconds).toBe(60);
    // Even a request that would be refused for another reason costs a token and is limited first.
    await expect(relay.readSecureContent("nope", { address: "2001:db8:1:2::1" })).rejects.toThrow(
      RateLimitedError,
    );
    expect((await relay.createMailbox(from("2001:db8:1:3::1"), createBody(), BASE)).repeated).toBe(false);
    // The buckets are keyed by digests: no address is stored.
    expect(store.dump()).not.toContain("2001:db8");
  });
});

/**
 * A store where another taker moves the request's buckets right after each of
 * its reads (for the first `interferences` reads): a bucket read as idle is
 * taken by someone else, one read as busy is found reset, so the decision the
 * request made on its read no longer holds when it writes.
 */
class ContendedStore extends MemoryRelayStore {
  reads = 0;
  /** How many of the next reads are interfered with. */
  interferences = 0;
  override async readForRequest(...args: Parameters<MemoryRelayStore["readForRequest"]>) {
    const state = await super.readForRequest(...args);
    this.reads++;
    if (this.interferences > 0) {
      this.interferences--;
      const nowMs = args[1].getTime();
      for (const [bucket, tat] of state.tats) {
        if (tat === undefined || tat <= nowMs) this.buckets.set(bucket, nowMs + 1);
        else this.buckets.delete(bucket);
      }
    }
    return state;
  }
}

describe("rate limits under contention", () => {
  it("reads and decides again when a bucket moved between the read and the write, writing nothing meanwhile", async () => {
    const contended = new ContendedStore();
    relay = new TigressRelay({ store: contended, clock });
    const { initiator, id } = await (async () => {
      const initiator = newClaim();
      const answer = await relay.createMailbox(as(initiator), createBody(), BASE);
      return { initiator, id: idOf(answer.response.urlLink) };
    })();
    const friend = newClaim();
    const before = contended.reads;
    // Interfered with once: the binding write fails on its bucket, the second read's write goes through.
    contended.interferences = 1;
    const content = await relay.readSecureContent(id, as(friend));
    expect(content.payload).toBeDefined();
    expect(contended.reads - before).toBe(2);
    expect(contended.mailboxes.get(id)!.recipient?.claimDigest).toBe(claimDigest(friend));
    // An update interfered with twice writes once, on its third read.
    contended.interferences = 2;
    const writes = contended.writes;
    expect((await relay.updateMailbox(id, as(initiator), { payload: payloadOfSize(80) })).repeated).toBe(
      false,
    );
    expect(contended.writes).toBe(writes + 1);
  });

  it("answers 429 with Retry-After when every one of three reads lost its bucket to another taker", async () => {
    const contended = new ContendedStore();
    relay = new TigressRelay({
      store: contended,
      clock,
      rateLimits: { perAddress: { burst: 100, intervalMs: 10 }, perClaim: { burst: 10, intervalMs: 4000 } },
    });
    const initiator = newClaim();
    const answer = await relay.createMailbox(as(initiator), createBody(), BASE);
    const id = idOf(answer.response.urlLink);
    contended.interferences = 3;
    const before = contended.reads;
    const writes = contended.writes;
    const payload = contended.mailboxes.get(id)!.payload;
    const refusal = await relay
      .updateMailbox(id, as(initiator), { payload: payloadOfSize(90) })
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    // The longest interval of the buckets it raced for, in whole seconds.
    expect((refusal as RateLimitedError).retryAfterSeconds).toBe(4);
    expect(contended.reads - before).toBe(3);
    expect(contended.writes).toBe(writes);
    expect(contended.mailboxes.get(id)!.payload).toEqual(payload);
  });
});

describe("ReadDisplayInformationFromMailbox (§6.4)", () => {
  it("serves an OpenGraph page with every string escaped and no script", async () => {
    const { id } = await create(newClaim(), {
      displayInformation: {
        title: `<script>alert("t")</script> & 'quotes'`,
        description: `"><img src=x onerror=alert(1)>`,
        imageURL: "https://img.test/a.png?a=1&b=2",
      },
    });
    const page = await relay.readDisplayInformation(id, { address: "198.51.100.7" }, BASE);
    expect(page).toContain(
      `<meta property="og:title" content="&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;">`,
    );
    expect(page).toContain(`<meta property="og:image" content="https://img.test/a.png?a=1&amp;b=2">`);
    expect(page).toContain(`<meta property="og:url" content="${BASE}/v1/m/${id}">`);
    expect(page).toContain(`<meta property="og:type" content="website">`);
    // Only the page's own elements exist: the hostile strings stayed text.
    const tags = new Set([...page.matchAll(/<\/?([A-Za-z!][^\s>]*)/g)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(["!doctype", "body", "h1", "head", "html", "meta", "p", "title"]);
  });
});

describe("storage", () => {
  it("holds no plaintext, no claims, no addresses: only ids, digests, ciphertext, rights and expiries", async () => {
    const { initiator, id } = await create();
    const friend = newClaim();
    await relay.readSecureContent(id, as(friend));
    await relay.updateMailbox(id, as(friend), { payload: seal(secret, PLAINTEXT.keyCreationRequest) });
    await relay.updateMailbox(id, as(initiator), { payload: seal(secret, PLAINTEXT.keyAttestation) });
    const dump = store.dump();
    for (const needle of [...plaintextNeedles(), initiator, friend, "198.51.100.7"]) {
      expect(dump, needle).not.toContain(needle);
    }
  });
});
