// Proves the emulated SE never hands out a private scalar: not in its exported state, its API answers, its own enumerable fields or its APDU answers — only inside sealed storage.
import { p256 } from "@noble/curves/nist.js";
import { describe, expect, it } from "vitest";
import { SecureElementError } from "../../src/emulator/secure-element/errors.js";
import { unseal } from "../../src/emulator/secure-element/sealed-storage.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { tap } from "../../src/emulator/tap.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import { equalBytes, fromHex, toHex } from "../../src/protocol/bytes.js";

/** Every form a secret could take in text: hex in any case, base64 and base64url at any byte alignment. */
function textForms(secret: Uint8Array): string[] {
  // JSON of a Uint8Array ({"0":1,…}) and of a plain array ([1,…]) too: that is how a stray field would serialize.
  const forms = [
    toHex(secret),
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(Array.from(secret)).slice(1, -1),
  ];
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift, 0xa5), Buffer.from(secret)]);
    for (const encoding of ["base64", "base64url"] as const) {
      const encoded = shifted.toString(encoding);
      // Drop the characters that depend on the neighbouring bytes at either end.
      forms.push(encoded.slice(4, encoded.length - 4));
    }
  }
  return forms;
}

/** Whether `secret` appears in `text` (hex compared case-insensitively, base64 exactly). */
function leaksInText(text: string, secret: Uint8Array): boolean {
  const [hex, ...base64] = textForms(secret);
  return text.toLowerCase().includes(hex!) || base64.some((form) => text.includes(form));
}

/** Whether `secret` appears in `bytes` raw, or in any text form read from those bytes. */
function leaksInBytes(bytes: Uint8Array, secret: Uint8Array): boolean {
  const buffer = Buffer.from(bytes);
  return buffer.indexOf(Buffer.from(secret)) >= 0 || leaksInText(buffer.toString("latin1"), secret);
}

/** JSON with byte arrays shown as hex, so a Uint8Array in an answer is searched too. */
function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v)) ?? "";
}

function recordingRandom() {
  const drawn: Uint8Array[] = [];
  const random = (length: number) => {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    drawn.push(bytes.slice());
    return bytes;
  };
  return { drawn, random };
}

function withoutSealed(state: ReturnType<SecureElement["exportState"]>): unknown {
  const { sealed: _sealed, ...rest } = state;
  return rest;
}

describe("the leak detector this file relies on", () => {
  it("finds a secret as lowercase or uppercase hex, base64 or base64url at any offset, and raw in bytes", () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    for (let prefix = 0; prefix < 3; prefix++) {
      const padded = Buffer.concat([Buffer.alloc(prefix, 7), Buffer.from(secret), Buffer.alloc(2, 9)]);
      expect(leaksInText(`{"x":"${padded.toString("base64")}"}`, secret)).toBe(true);
      expect(leaksInText(`{"x":"${padded.toString("base64url")}"}`, secret)).toBe(true);
      expect(leaksInBytes(padded, secret)).toBe(true);
    }
    expect(leaksInText(`a${toHex(secret).toUpperCase()}b`, secret)).toBe(true);
    expect(leaksInText(`a${toHex(secret)}b`, secret)).toBe(true);
    expect(leaksInText(JSON.stringify({ field: secret }), secret)).toBe(true);
    expect(leaksInText(JSON.stringify({ field: Array.from(secret) }), secret)).toBe(true);
    expect(leaksInText(toHex(secret.subarray(1)), secret)).toBe(false);
  });
});

describe("the secure element keeps its private keys to itself", () => {
  it("shows no private scalar outside sealed storage, and the scalars are inside it", async () => {
    const { drawn, random } = recordingRandom();
    const { se, sealingKey } = SecureElement.create({ random });
    const answers: Uint8Array[] = [];
    // The SE object itself, serialized after every APDU: mid-transaction is when ephemeral scalars exist.
    const selfViews: string[] = [];
    const card = {
      transceive: async (command: Uint8Array) => {
        const answer = await se.transceive(command);
        answers.push(answer);
        selfViews.push(JSON.stringify(se), stringify(Object.keys(se)), stringify(Object.values(se)));
        return answer;
      },
      fieldLost: () => se.fieldLost(),
    };
    const cars = [Vehicle.create(), Vehicle.create(), Vehicle.create()];
    const apiAnswers: unknown[] = [];
    const exports: ReturnType<SecureElement["exportState"]>[] = [];
    const keys = cars.map((car) => {
      const key = se.provisionKey({
        vehicleIdentifier: car.vehicleIdentifier,
        vehiclePublicKey: car.publicKey,
      });
      apiAnswers.push(key);
      car.enrollKey({ endpointPublicKey: fromHex(key.endpointPublicKey) });
      return key;
    });
    exports.push(se.exportState());

    // Transactions make persistent keys and immobilizer tokens exist: standard, fast, engine start.
    const [carA, carB] = cars as [Vehicle, Vehicle, Vehicle];
    expect((await tap(card, carA.doorHandle)).decision).toBe("unlocked");
    expect((await tap(card, carA.doorHandle)).flow).toBe("fast");
    expect((await tap(card, carA.dashboard)).decision).toBe("started");
    expect((await tap(card, carB.doorHandle)).decision).toBe("unlocked");
    expect(se.hasPersistentKey(keys[1]!.keyId)).toBe(true);
    exports.push(se.exportState());

    // Secrets the vehicles share with the SE (the SE must not hand these out either).
    const shared = [carA, carB].flatMap((car) =>
      car.exportState().endpoints.flatMap((e) => [fromHex(e.persistentKey!), fromHex(e.immobilizerToken!)]),
    );
    expect(shared).toHaveLength(4);

    apiAnswers.push(
      se.listKeys(),
      ...keys.map((k) => se.key(k.keyId)),
      se.readPrivateMailbox(keys[0]!.keyId),
    );
    const deleted = se.deleteKey(keys[1]!.keyId);
    apiAnswers.push(deleted, se.terminatedKeys(), se.listKeys());
    exports.push(se.exportState());

    // Every 48-byte draw is a key seed; the scalar is what noble derives from it (src/protocol/p256.ts).
    const seeds = drawn.filter((bytes) => bytes.length === 48);
    const scalars = seeds.map((seed) => p256.utils.randomSecretKey(seed));
    // The first 48-byte draw is the instance CA key, made at creation; it certifies endpoint keys and must not leak either.
    const instanceCaScalar = scalars.find((s) =>
      equalBytes(p256.getPublicKey(s, false), se.instanceCaPublicKey),
    );
    expect(instanceCaScalar, "the instance CA scalar was drawn from the injected source").toBeDefined();
    expect(instanceCaScalar).toBe(scalars[0]);
    const endpointScalars = keys.map((key) => {
      const scalar = scalars.find((s) => toHex(p256.getPublicKey(s, false)) === key.endpointPublicKey);
      expect(scalar, `the endpoint scalar of ${key.keyId} was drawn from the injected source`).toBeDefined();
      return scalar!;
    });
    // The instance CA key, three endpoint keys, plus one ephemeral key per AUTH0 answered (four taps).
    expect(scalars.length).toBe(1 + 3 + 4);
    const secrets = [...seeds, ...scalars];

    const publicText = [
      ...exports.map((state) => stringify(withoutSealed(state))),
      ...apiAnswers.map(stringify),
      stringify(Object.keys(se)),
      stringify(Object.values(se)),
      JSON.stringify(se),
      ...selfViews,
    ];
    const sealedBytes = exports.map((state) => new Uint8Array(Buffer.from(state.sealed, "base64")));
    for (const secret of [...secrets, ...shared]) {
      for (const text of publicText) expect(leaksInText(text, secret)).toBe(false);
      for (const bytes of [...sealedBytes, ...answers, deleted.attestation])
        expect(leaksInBytes(bytes, secret)).toBe(false);
    }
    // The sealing key is handed to the host once, at creation, and never again.
    for (const text of publicText) expect(leaksInText(text, sealingKey)).toBe(false);

    // Positive control: opened with the sealing key, storage holds the instance CA scalar and the scalars of the live keys only.
    const opened = unseal(sealingKey, exports.at(-1)!.sealed);
    for (const state of exports) {
      const plain = unseal(sealingKey, state.sealed);
      expect(leaksInBytes(plain, instanceCaScalar!)).toBe(true);
      const { instanceCaPrivate } = JSON.parse(new TextDecoder().decode(plain)) as {
        instanceCaPrivate: string;
      };
      expect(instanceCaPrivate).toBe(toHex(instanceCaScalar!));
    }
    expect(leaksInBytes(opened, endpointScalars[0]!)).toBe(true);
    expect(leaksInBytes(opened, endpointScalars[2]!)).toBe(true);
    expect(leaksInBytes(opened, endpointScalars[1]!)).toBe(false);
    for (const secret of shared.slice(0, 2)) expect(leaksInBytes(opened, secret)).toBe(true);
    for (const secret of shared.slice(2)) expect(leaksInBytes(opened, secret)).toBe(false);
    // Before the deletion, key B's scalar was there too.
    expect(leaksInBytes(unseal(sealingKey, exports[1]!.sealed), endpointScalars[1]!)).toBe(true);
    // Ephemeral scalars are never stored at all.
    const ephemeral = scalars.filter((s) => s !== instanceCaScalar && !endpointScalars.includes(s));
    expect(ephemeral).toHaveLength(4);
    for (const state of exports) {
      const plain = unseal(sealingKey, state.sealed);
      for (const scalar of ephemeral) expect(leaksInBytes(plain, scalar)).toBe(false);
    }
  });
});

describe("sealed storage", () => {
  function provisioned() {
    const { se, sealingKey } = SecureElement.create();
    const car = Vehicle.create();
    se.provisionKey({ vehicleIdentifier: car.vehicleIdentifier, vehiclePublicKey: car.publicKey });
    return { state: se.exportState(), sealingKey };
  }

  it("opens with the right sealing key only", () => {
    const { state, sealingKey } = provisioned();
    expect(SecureElement.restore(state, sealingKey).listKeys()).toHaveLength(1);
    const wrong = crypto.getRandomValues(new Uint8Array(32));
    expect(() => SecureElement.restore(state, wrong)).toThrow(SecureElementError);
  });

  it("refuses a sealed blob with any byte flipped, or cut short", () => {
    const { state, sealingKey } = provisioned();
    const bytes = Buffer.from(state.sealed, "base64");
    // A byte of the nonce, of the ciphertext, and of the GCM tag.
    for (const index of [0, 20, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index]! ^= 0x01;
      expect(() =>
        SecureElement.restore({ ...state, sealed: tampered.toString("base64") }, sealingKey),
      ).toThrow(SecureElementError);
    }
    const truncated = bytes.subarray(0, 20).toString("base64");
    expect(() => SecureElement.restore({ ...state, sealed: truncated }, sealingKey)).toThrow(
      SecureElementError,
    );
  });
});
