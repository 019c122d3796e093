// The roots as statement signers without their certificates
// (src/service/root-statement-keys.ts), as the revocation-list function builds
// them: the same statements the whole service signs, verifiable with the root's
// key; a root whose certificate is not stored yet is a 503 (it creates none);
// a stored record of another key is a configuration error.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { subjectKeyIdentifier } from "../../src/protocol/certificate-profiles.js";
import { keyIdentifier } from "../../src/protocol/p256.js";
import { revocationListBody, verifyRevocationList } from "../../src/protocol/revocation-list.js";
import { ConfigurationError, ServiceUnavailableError } from "../../src/service/errors.js";
import { RevocationLists } from "../../src/service/revocation-lists.js";
import { RootStatementKeys } from "../../src/service/root-statement-keys.js";
import { softMessageSigner } from "../support/soft-message-signer.js";
import { testService } from "../support/test-service.js";

describe("the roots as statement signers", () => {
  it("sign what the whole service signs, once the root's certificate is stored", async () => {
    const t = testService();
    const keys = new RootStatementKeys({ store: t.store, signer: { root: (profile) => t.signers[profile] } });
    await expect(keys.publicKey("vehicle-oem-root")).rejects.toThrow(ServiceUnavailableError);
    const root = await t.service.roots.get("vehicle-oem-root");
    expect(await keys.publicKey("vehicle-oem-root")).toEqual(root.publicKey);

    const lists = new RevocationLists({ store: t.store, clock: t.clock, roots: keys });
    await expect(lists.revocationList("11".repeat(8), 0)).rejects.toThrow("not enrolled");
    const body = revocationListBody({
      vehicleIdentifier: fromHex("11".repeat(8)),
      after: 0,
      latestSequence: 1,
      issuedAt: t.clock.now().getTime(),
      signerKeyId: keyIdentifier(root.publicKey),
      entries: [{ sequence: 1, keyId: fromHex("22".repeat(6)), revokedAt: t.clock.now().getTime() }],
    });
    const list = verifyRevocationList(await keys.signStatement("vehicle-oem-root", body), root.publicKey);
    expect(list).toMatchObject({ after: 0, latestSequence: 1 });
  });

  it("refuse a stored record that is not the configured key's", async () => {
    const t = testService();
    const root = await t.service.roots.get("device-oem-root");
    const other = softMessageSigner();
    const otherKey = await other.publicKey();
    const record = await t.store.getRootCertificate(
      "device-oem-root",
      toHex(subjectKeyIdentifier(root.publicKey)),
    );
    t.store.roots.clear();
    await t.store.createRootCertificate({
      ...record!,
      keyId: toHex(subjectKeyIdentifier(otherKey)),
      publicKey: toHex(root.publicKey),
    });
    const keys = new RootStatementKeys({ store: t.store, signer: { root: () => other } });
    await expect(keys.signStatement("device-oem-root", fromHex("7000"))).rejects.toThrow(ConfigurationError);
  });
});
