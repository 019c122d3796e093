// AwsKmsSigner, the key provisioner and the awskms: URI against a real KMS
// emulator (local-kms, from scripts/install-test-servers.sh): signatures over a
// SHA-256 digest verify independently with node:crypto and noble, the public
// key is the one KMS reports, and each signature costs exactly one KMS call.
import { createPublicKey, verify } from "node:crypto";
import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsKmsSigner, p256PointFromSpki } from "../../../src/adapters/kms/aws-kms-signer.js";
import { KmsKeyProvisioningError, KmsSignerError } from "../../../src/adapters/kms/errors.js";
import { provisionSigningKey } from "../../../src/adapters/kms/kms-key-provisioner.js";
import { signerFromUri } from "../../../src/adapters/kms/signer-from-uri.js";
import { toHex, utf8 } from "../../../src/protocol/bytes.js";
import { ProtocolInputError } from "../../../src/protocol/errors.js";
import {
  isKmsEmulatorInstalled,
  KMS_EMULATOR_MISSING,
  type KmsEmulator,
  startKmsEmulator,
} from "../../support/kms-emulator.js";

const skip = !isKmsEmulatorInstalled() && !process.env.CI;
if (skip) console.warn(`skipping KMS adapter tests: ${KMS_EMULATOR_MISSING}`);

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** Counts KMS requests per X-Amz-Target as they go on the wire (after retries are decided). */
function countRequests(client: KMSClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      const target = headers["x-amz-target"] ?? "unknown";
      counts.set(target, (counts.get(target) ?? 0) + 1);
      return next(args);
    },
    { step: "deserialize", name: "countKmsRequests" },
  );
  return counts;
}

function nodePublicKey(point: Uint8Array) {
  return createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: Buffer.from(point.subarray(1, 33)).toString("base64url"),
      y: Buffer.from(point.subarray(33)).toString("base64url"),
    },
    format: "jwk",
  });
}

describe.skipIf(skip)(`AwsKmsSigner against local-kms${skip ? ` (${KMS_EMULATOR_MISSING})` : ""}`, () => {
  let emulator: KmsEmulator;
  let client: KMSClient;
  let counts: Map<string, number>;
  let keyId: string;

  beforeAll(async () => {
    const started = await startKmsEmulator();
    if (!started) throw new Error(KMS_EMULATOR_MISSING);
    emulator = started;
    client = new KMSClient({
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: CREDENTIALS,
    });
    counts = countRequests(client);
    keyId = await provisionSigningKey(client, "alias/carkeys-test-root");
  });

  afterAll(async () => {
    client?.destroy();
    await emulator?.stop();
  });

  it("provisions idempotently: the same alias gives the same key", async () => {
    expect(await provisionSigningKey(client, "alias/carkeys-test-root")).toBe(keyId);
  });

  it("returns the 65-byte point of the key KMS reports", async () => {
    const signer = new AwsKmsSigner({ keyId, client });
    const point = await signer.publicKey();
    expect(point.length).toBe(65);
    expect(point[0]).toBe(0x04);
    const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const jwk = createPublicKey({ key: Buffer.from(PublicKey!), format: "der", type: "spki" }).export({
      format: "jwk",
    });
    expect(toHex(point)).toBe(
      toHex(Uint8Array.from([4, ...Buffer.from(jwk.x!, "base64url"), ...Buffer.from(jwk.y!, "base64url")])),
    );
  });

  it("signs messages with signatures that verify with node:crypto and with noble (high S allowed)", async () => {
    const signer = new AwsKmsSigner({ keyId, client });
    const point = await signer.publicKey();
    for (let i = 0; i < 8; i++) {
      const message = utf8(`certificate to be signed #${i}`);
      const digest = sha256(message);
      const signature = await signer.sign(message);
      expect(signature.length).toBe(64);
      expect(
        verify("sha256", message, { key: nodePublicKey(point), dsaEncoding: "ieee-p1363" }, signature),
      ).toBe(true);
      expect(p256.verify(signature, digest, point, { prehash: false, lowS: false })).toBe(true);
      expect(
        p256.verify(signature, sha256(utf8("another message")), point, { prehash: false, lowS: false }),
      ).toBe(false);
    }
  });

  it("makes exactly one KMS Sign call per signature and fetches the public key once", async () => {
    const signer = new AwsKmsSigner({ keyId, client });
    const before = new Map(counts);
    const delta = (target: string) => (counts.get(target) ?? 0) - (before.get(target) ?? 0);
    await Promise.all([signer.publicKey(), signer.publicKey()]);
    for (let i = 0; i < 5; i++) await signer.sign(utf8("one call"));
    await signer.publicKey();
    expect(delta("TrentService.Sign")).toBe(5);
    expect(delta("TrentService.GetPublicKey")).toBe(1);
    expect([...counts.keys()].filter((t) => delta(t) !== 0).sort()).toEqual([
      "TrentService.GetPublicKey",
      "TrentService.Sign",
    ]);
  });

  it("refuses a message that is not bytes without calling KMS", async () => {
    const signer = new AwsKmsSigner({ keyId, client });
    const sent = counts.get("TrentService.Sign") ?? 0;
    for (const message of ["text", undefined, [1, 2, 3]]) {
      await expect(signer.sign(message as unknown as Uint8Array)).rejects.toBeInstanceOf(ProtocolInputError);
    }
    expect(counts.get("TrentService.Sign") ?? 0).toBe(sent);
  });

  it("signs a message longer than KMS accepts as a message: only its digest is sent", async () => {
    const signer = new AwsKmsSigner({ keyId, client });
    // KMS Sign takes at most 4096 bytes of MessageType RAW; a large TBSCertificate still signs.
    const message = new Uint8Array(10_000).fill(0x5a);
    const signature = await signer.sign(message);
    expect(
      p256.verify(signature, sha256(message), await signer.publicKey(), { prehash: false, lowS: false }),
    ).toBe(true);
  });

  it("signs through an alias given as awskms: URI", async () => {
    const signer = await signerFromUri("awskms:alias/carkeys-test-root", { kmsClient: client });
    const digest = sha256(utf8("via alias"));
    const signature = await signer.sign(utf8("via alias"));
    expect(p256.verify(signature, digest, await signer.publicKey(), { prehash: false, lowS: false })).toBe(
      true,
    );
  });

  it("takes its endpoint from AWS_ENDPOINT_URL_KMS when none is given", async () => {
    const names = [
      "AWS_ENDPOINT_URL_KMS",
      "AWS_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
    ] as const;
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: emulator.endpoint,
      AWS_REGION: emulator.region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    });
    try {
      const signer = new AwsKmsSigner({ keyId });
      const digest = sha256(utf8("endpoint from the environment"));
      const signature = await signer.sign(utf8("endpoint from the environment"));
      expect(p256.verify(signature, digest, await signer.publicKey(), { prehash: false, lowS: false })).toBe(
        true,
      );
    } finally {
      for (const n of names) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
    }
  });

  it("refuses a key that is not ECC_NIST_P256 SIGN_VERIFY, in the signer and the provisioner", async () => {
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({ KeySpec: "ECC_NIST_P384", KeyUsage: "SIGN_VERIFY" }),
    );
    await client.send(
      new CreateAliasCommand({ AliasName: "alias/carkeys-p384", TargetKeyId: KeyMetadata!.KeyId! }),
    );
    const signer = new AwsKmsSigner({ keyId: KeyMetadata!.KeyId!, client });
    await expect(signer.publicKey()).rejects.toThrow(/ECC_NIST_P384/);
    await expect(provisionSigningKey(client, "alias/carkeys-p384")).rejects.toBeInstanceOf(
      KmsKeyProvisioningError,
    );
  });

  it("wraps KMS failures in KmsSignerError with the cause", async () => {
    const signer = new AwsKmsSigner({ keyId: "alias/does-not-exist", client });
    const error = await signer.sign(new Uint8Array(32).fill(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KmsSignerError);
    expect((error as Error).cause).toMatchObject({ name: "NotFoundException" });
    // The log shows the signer's message: it names what KMS said.
    expect((error as Error).message).toMatch(/failed: NotFoundException: .+ \(HTTP 400\)$/);
  });
});

describe("a KMS refusal in the signer's message", () => {
  it("carries the AWS error name and message, never the message or its digest", async () => {
    const refusal = Object.assign(
      new Error("User: arn:aws:sts::111122223333:assumed-role/app/x is not authorized to perform: kms:Sign"),
      { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } },
    );
    const client = { send: async () => Promise.reject(refusal) } as unknown as KMSClient;
    const signer = new AwsKmsSigner({ keyId: "alias/root", client });
    const message = new Uint8Array(32).fill(0xab);
    const error = (await signer.sign(message).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KmsSignerError);
    expect(error.message).toBe(
      "KMS Sign with key alias/root failed: AccessDeniedException: User: arn:aws:sts::111122223333:" +
        "assumed-role/app/x is not authorized to perform: kms:Sign (HTTP 400)",
    );
    expect(error.message).not.toContain(toHex(message));
    expect(error.message).not.toContain(toHex(sha256(message)));
    expect(error.cause).toBe(refusal);
  });
});

describe("p256PointFromSpki", () => {
  it("refuses anything but an uncompressed P-256 SubjectPublicKeyInfo", () => {
    const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    const spki = Uint8Array.from([
      ...Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"),
      ...point,
    ]);
    expect(p256PointFromSpki(spki)).toEqual(point);
    expect(() => p256PointFromSpki(spki.subarray(0, 90))).toThrow(KmsSignerError);
    const offCurve = spki.slice();
    offCurve[90] = offCurve[90]! ^ 1;
    expect(() => p256PointFromSpki(offCurve)).toThrow(KmsSignerError);
    const otherCurve = spki.slice();
    otherCurve[22] = 0x08;
    expect(() => p256PointFromSpki(otherCurve)).toThrow(KmsSignerError);
  });

  it("refuses an empty key id", () => {
    expect(() => new AwsKmsSigner({ keyId: " " })).toThrow(KmsSignerError);
  });
});
