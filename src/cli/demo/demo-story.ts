// The whole Car Keys story against a running deployment (the local server,
// LocalStack or AWS), with emulated phones and an emulated car: pairing,
// sharing through the relay while the car is offline, remote revocation,
// lost mode and a new phone. Every step reports what the car decided and
// whether that was the expected outcome. `carkey demo` prints it; the
// end-to-end test runs the same function and asserts every step.
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
  provisionPairingMaterial,
  verifyKeyReceipt,
} from "../../client/car-keys-client.js";
import { ServiceProblemError } from "../../client/errors.js";
import {
  LifecycleClient,
  OemLifecycleClient,
  type VehicleSyncCursor,
} from "../../client/lifecycle-client.js";
import {
  friendAcceptInvitation,
  friendFinishShare,
  ownerCompleteShare,
  ownerCreateInvitation,
} from "../../client/share-invitation.js";
import { TigressClient } from "../../client/tigress-client.js";
import { type FactoryAttester, SecureElement } from "../../emulator/secure-element/secure-element.js";
import { tap } from "../../emulator/tap.js";
import type { Intent } from "../../emulator/vehicle/reader-transaction.js";
import type { TapResult } from "../../emulator/vehicle/tap-result.js";
import { OwnerNotPresentError, type Reader, Vehicle } from "../../emulator/vehicle/vehicle.js";
import type { AccessProfile } from "../../protocol/access-profile.js";
import { generateActivationCode } from "../../protocol/activation-code.js";
import { equalBytes, toHex } from "../../protocol/bytes.js";
import { parseCertificate } from "../../protocol/certificate-verifier.js";
import { DemoStepFailedError } from "../errors.js";

export const DEMO_STEPS = [
  "pair-owner",
  "owner-unlock",
  "owner-start",
  "share-unlock-only",
  "share-drive",
  "friend-unlock",
  "friend-start-refused",
  "revoke",
  "friend-refused-after-revoke",
  "lost-mode-suspend",
  "owner-refused-while-lost",
  "lost-mode-resume",
  "owner-unlock-after-resume",
  "migrate-owner",
  "friend-unlock-after-migration",
  "share-cross-platform",
  "friend-unlock-cross-platform",
  "co-owner-reshare",
  "reshared-friend-unlock",
  "guest-limits",
  "friend-slot-limit-refused",
  "activation-code-required",
  "activation-code-accepted",
  "watch-key-unlock",
  "car-lists-keys",
  "car-delete-key",
  "deleted-key-refused",
  "expired-key-refused",
] as const;
export type DemoStepName = (typeof DEMO_STEPS)[number];

export interface DemoStep {
  step: DemoStepName;
  /** The outcome was the expected one. */
  ok: boolean;
  /** What the car decided (`unlocked`, `started`, `refused`…) or what the service did. */
  decision: string;
  detail: string;
}

export interface DemoTarget {
  url: string;
  oemToken: string;
  /** The SE manufacturer the deployment trusts (emulated devices need its factory attestation). */
  manufacturer: FactoryAttester;
  /**
   * Another phone maker whose Device OEM root the deployment is configured to trust (the local
   * stack's emulated one: src/adapters/local-server/emulated-device-maker.ts): share-cross-platform
   * gives a key to one of its phones. Absent, that step fails saying so.
   */
  otherDeviceMaker?: OtherDeviceMaker;
}

/** What the demo needs of another phone maker: its root, its SE factory and its instance-CA issuance. */
export interface OtherDeviceMaker {
  readonly rootPem: string;
  readonly manufacturer: FactoryAttester;
  certifyInstanceCa(factoryAttestation: Uint8Array): Promise<string>;
}

export class DemoStory {
  private readonly client: CarKeysClient;
  private readonly oem: OemBackendClient;
  private readonly relay: TigressClient;
  private readonly car = Vehicle.create();
  private owner!: SecureElement;
  private ownerKeyId = "";
  private readonly friends: { se: SecureElement; keyId: string }[] = [];
  private readonly lifecycle: LifecycleClient;
  private readonly oemLifecycle: OemLifecycleClient;
  /** The share protected by an activation code, and the code the owner was shown. */
  private coded: { se: SecureElement; keyId: string; code: string } | undefined;
  /** The friend key the dashboard deleted (car-delete-key). */
  private deletedFriend: { se: SecureElement; keyId: string } | undefined;
  /** Cross-platform: the key a phone from another device maker received. */
  private crossPlatform: { se: SecureElement; keyId: string } | undefined;
  /** Re-sharing: the friend a co-owner shared with (a guest with driving limits). */
  private reshared: { se: SecureElement; keyId: string } | undefined;
  /** Where the car's telematics unit left off syncing. */
  private carCursor: VehicleSyncCursor = { revocations: 0, notices: 0 };

  constructor(
    private readonly target: DemoTarget,
    private readonly report: (step: DemoStep) => void,
  ) {
    this.client = new CarKeysClient(target.url);
    this.oem = new OemBackendClient(target.url, target.oemToken);
    this.relay = TigressClient.forService(target.url);
    this.lifecycle = new LifecycleClient(target.url);
    this.oemLifecycle = new OemLifecycleClient(target.url, target.oemToken);
  }

  /** Runs every step in order; stops at the first that fails. Returns whether all were as expected. */
  async run(): Promise<boolean> {
    const steps: Record<DemoStepName, () => Promise<Omit<DemoStep, "step">>> = {
      "pair-owner": () => this.pairOwner(),
      "owner-unlock": () => this.expectTap(this.owner, this.car.doorHandle, "unlocked", "unlock"),
      "owner-start": () => this.expectTap(this.owner, this.car.dashboard, "started"),
      "share-unlock-only": () => this.share({ kind: "unlock-only" }),
      "share-drive": () => this.share({ kind: "drive", speedLimitKmh: 80 }),
      "friend-unlock": () => this.expectTap(this.friend(0).se, this.car.doorHandle, "unlocked", "unlock"),
      "friend-start-refused": () => this.expectTap(this.friend(0).se, this.car.dashboard, "refused"),
      revoke: () => this.revokeRemotely(),
      "friend-refused-after-revoke": () =>
        this.expectTap(this.friend(0).se, this.car.doorHandle, "refused", "unlock"),
      "lost-mode-suspend": () => this.lostMode("suspend"),
      "owner-refused-while-lost": () => this.expectTap(this.owner, this.car.doorHandle, "refused", "unlock"),
      "lost-mode-resume": () => this.lostMode("resume"),
      "owner-unlock-after-resume": () =>
        this.expectTap(this.owner, this.car.doorHandle, "unlocked", "unlock"),
      "migrate-owner": () => this.migrateOwner(),
      "friend-unlock-after-migration": () =>
        this.expectTap(this.friend(1).se, this.car.doorHandle, "unlocked", "unlock"),
      "share-cross-platform": () => this.shareCrossPlatform(),
      "friend-unlock-cross-platform": () => this.crossPlatformUnlock(),
      "co-owner-reshare": () => this.coOwnerReshare(),
      "reshared-friend-unlock": () =>
        this.expectTap(this.reshared!.se, this.car.doorHandle, "unlocked", "unlock"),
      "guest-limits": () => this.guestLimits(),
      "friend-slot-limit-refused": () => this.slotLimit(),
      "activation-code-required": () => this.activationCodeRequired(),
      "activation-code-accepted": () => this.activationCodeAccepted(),
      "watch-key-unlock": () => this.watchKey(),
      "car-lists-keys": () => this.carListsKeys(),
      "car-delete-key": () => this.carDeletesKey(),
      "deleted-key-refused": () =>
        this.expectTap(this.deletedFriend!.se, this.car.doorHandle, "refused", "unlock"),
      "expired-key-refused": () => this.expiredKey(),
    };
    for (const step of DEMO_STEPS) {
      let outcome: Omit<DemoStep, "step">;
      try {
        outcome = await steps[step]();
      } catch (error) {
        outcome = { ok: false, decision: "error", detail: (error as Error).message };
      }
      this.report({ step, ...outcome });
      if (!outcome.ok) return false;
    }
    return true;
  }

  private friend(index: number) {
    const friend = this.friends[index];
    if (!friend) throw new DemoStepFailedError(`friend ${index + 1} has no key yet`);
    return friend;
  }

  private async newDevice(): Promise<SecureElement> {
    const { se } = SecureElement.create({ manufacturer: this.target.manufacturer });
    await this.client.enrollSecureElement(se);
    return se;
  }

  private async pairOwner(): Promise<Omit<DemoStep, "step">> {
    const enrollment = await this.oem.enrollVehicle({
      vehicleId: this.car.vehicleIdentifier,
      vehiclePublicKey: this.car.publicKey,
    });
    const { password } = installVehicleEnrollment(this.car, enrollment.response);
    this.owner = await this.newDevice();
    // The owner types the password from the automaker's app; the car holds only the verifier.
    this.owner.enterPairingPassword(password);
    const paired = await this.car.pair((command) => this.owner.transceive(command));
    this.ownerKeyId = paired.keyId;
    const registered = await this.client.registerKey(this.owner, paired.keyId);
    verifyKeyReceipt(registered.response, enrollment.response.trustAnchors.vehicleOemRoot);
    return {
      ok: true,
      decision: "paired",
      detail: `owner key ${paired.keyId} paired over NFC and registered (receipt verified)`,
    };
  }

  private async share(profile: AccessProfile): Promise<Omit<DemoStep, "step">> {
    const friend = await this.newDevice();
    const invitation = await ownerCreateInvitation(this.relay, this.owner, this.ownerKeyId, profile);
    // The link (with the secret after #) goes to the friend out of band.
    const accepted = await friendAcceptInvitation(this.relay, invitation.url, friend);
    this.owner.authenticateUser(); // Face ID before the owner's SE signs
    await ownerCompleteShare(this.relay, invitation.state, this.owner);
    const finished = await friendFinishShare(this.relay, accepted.state, friend);
    await this.client.registerKey(friend, finished.keyId, finished.attestation);
    this.friends.push({ se: friend, keyId: finished.keyId });
    const limit = profile.kind === "drive" ? ` ${profile.speedLimitKmh} km/h` : "";
    return {
      ok: true,
      decision: "shared",
      detail: `${profile.kind}${limit} key ${finished.keyId} shared through the relay; the car was offline`,
    };
  }

  private async expectTap(
    device: SecureElement,
    reader: Reader,
    expected: TapResult["decision"],
    intent?: Intent,
  ): Promise<Omit<DemoStep, "step">> {
    const result = await tap(device, reader, intent ? { intent } : {});
    const flow = result.flow ? `${result.flow}, ` : "";
    return {
      ok: result.decision === expected,
      decision: result.decision,
      detail: `${reader.position}: ${flow}${result.reason}`,
    };
  }

  /**
   * The owner revokes the unlock-only key from the app: the service records it,
   * the friend's phone syncs and its SE deletes the key (confirmed with the
   * termination attestation), and the car syncs its signed revocation list.
   */
  private async revokeRemotely(): Promise<Omit<DemoStep, "step">> {
    const friend = this.friend(0);
    const revocation = this.owner.revokeFriendKey(this.ownerKeyId, friend.keyId);
    const recorded = await this.lifecycle.revokeAsOwner(this.owner, this.ownerKeyId, revocation);
    const friendSync = await this.lifecycle.syncDevice(friend.se);
    const carSync = await this.oemLifecycle.syncVehicle(this.car, this.carCursor);
    this.carCursor = carSync.cursor;
    const terminated = friendSync.terminated.includes(friend.keyId);
    const dropped = !this.car.keys().some((k) => k.keyId === friend.keyId);
    return {
      ok: recorded.state !== undefined && terminated && dropped,
      decision: terminated ? "terminated" : "revoked",
      detail: `key ${friend.keyId}: ${recorded.state} by the owner; the friend's SE deleted it (termination confirmed: ${terminated}); the car applied ${carSync.revoked} revocation-list entr${carSync.revoked === 1 ? "y" : "ies"}`,
    };
  }

  /** The Device OEM suspends or resumes the owner's phone: its SE and the car both apply signed notices. */
  private async lostMode(action: "suspend" | "resume"): Promise<Omit<DemoStep, "step">> {
    const result = await this.oemLifecycle.setLostMode(this.owner.seId, action);
    await this.lifecycle.syncDevice(this.owner);
    const carSync = await this.oemLifecycle.syncVehicle(this.car, this.carCursor);
    this.carCursor = carSync.cursor;
    const locked = this.owner.isLocked;
    return {
      ok: locked === (action === "suspend") && carSync.noticesApplied > 0,
      decision: action === "suspend" ? "suspended" : "resumed",
      detail: `notice ${result.counter} for SE ${this.owner.seId.slice(0, 8)}…: applet ${locked ? "locked" : "unlocked"}; the car applied ${carSync.noticesApplied} notice(s)`,
    };
  }

  /**
   * A new phone: the automaker issues new pairing material, the new phone
   * pairs with the car and registers its owner key; the service revokes the
   * old owner key, and the old phone's SE deletes it when it syncs.
   */
  private async migrateOwner(): Promise<Omit<DemoStep, "step">> {
    const vehicleId = toHex(this.car.vehicleIdentifier);
    const pairing = await this.oem.newPairing(vehicleId);
    provisionPairingMaterial(this.car, pairing.pairing);
    const oldPhone = this.owner;
    const oldKeyId = this.ownerKeyId;
    const newPhone = await this.newDevice();
    newPhone.enterPairingPassword(pairing.pairing.password);
    const paired = await this.car.pair((command) => newPhone.transceive(command));
    await this.client.registerKey(newPhone, paired.keyId);
    const oldSync = await this.lifecycle.syncDevice(oldPhone);
    this.owner = newPhone;
    this.ownerKeyId = paired.keyId;
    const oldGone = oldSync.terminated.includes(oldKeyId);
    return {
      ok: paired.replacedOwnerKeyId === oldKeyId && oldGone,
      decision: "migrated",
      detail: `new owner key ${paired.keyId} replaces ${oldKeyId} in the car; the old phone's SE deleted its key (confirmed: ${oldGone})`,
    };
  }
  /** One share through the relay, registered with the service; the friend's first tap enrolls it at the car. */
  private async shareAndRegister(profile: AccessProfile, options: { activationCode?: string } = {}) {
    const friend = await this.newDevice();
    const invitation = await ownerCreateInvitation(this.relay, this.owner, this.ownerKeyId, profile);
    const accepted = await friendAcceptInvitation(this.relay, invitation.url, friend);
    this.owner.authenticateUser();
    await ownerCompleteShare(this.relay, invitation.state, this.owner, options);
    const finished = await friendFinishShare(this.relay, accepted.state, friend);
    let registration: string;
    try {
      await this.client.registerKey(friend, finished.keyId, finished.attestation);
      registration = "registered";
    } catch (error) {
      if (!(error instanceof ServiceProblemError)) throw error;
      registration = `${error.status} ${error.type ?? ""}`.trim();
    }
    return { se: friend, keyId: finished.keyId, registration };
  }

  /**
   * A friend whose phone another device maker made: its SE is certified by that maker's Device OEM
   * root, which the service is configured to trust beside its own and publishes in its trust anchors
   * (docs/protocol.md §27). The car got those anchors at its enrollment; the owner's wallet
   * configures its phone to share with that maker. The share goes through the relay exactly as any
   * other, and the friend registers its key with the service like every friend.
   */
  private async shareCrossPlatform(): Promise<Omit<DemoStep, "step">> {
    const maker = this.target.otherDeviceMaker;
    if (!maker) {
      throw new DemoStepFailedError(
        "no other phone maker to act as: give the demo the keys of a maker the deployment trusts " +
          "(npm start and deploy:local keep an emulated one under DATA_DIR/keys)",
      );
    }
    const anchors = await this.client.getTrustAnchors();
    const makerRoot = parseCertificate(maker.rootPem).der;
    const listed = anchors.deviceOemRoots.find(
      (root) => root.origin === "configured" && equalBytes(parseCertificate(root.certificate).der, makerRoot),
    );
    if (!listed) {
      throw new DemoStepFailedError(
        "the deployment does not trust the other phone maker's Device OEM root: configure it " +
          "(TRUSTED_DEVICE_OEM_ROOTS, -c carkeys:trustedDeviceOemRoots=FILE, npm start -- --trust-device-oem FILE)",
      );
    }
    const carTrusts = this.car
      .exportState()
      .deviceOemRoots.some((pem) => equalBytes(parseCertificate(pem).der, makerRoot));
    const ownerCertificates = this.owner.installedCertificates!;
    // The owner's wallet shares with the makers the automaker's service lists.
    this.owner.installCertificates({
      ...ownerCertificates,
      trustedDeviceOemRoots: anchors.deviceOemRoots
        .filter((root) => root.origin === "configured")
        .map((root) => root.certificate),
    });
    const { se: friend } = SecureElement.create({ manufacturer: maker.manufacturer });
    friend.installCertificates({
      instanceCaCertificate: await maker.certifyInstanceCa(friend.factoryAttestation!),
      deviceOemRoot: maker.rootPem,
      vehicleOemRoot: anchors.vehicleOemRoot,
      trustedDeviceOemRoots: [anchors.deviceOemRoot],
    });
    const profile: AccessProfile = { kind: "drive", speedLimitKmh: 100 };
    const invitation = await ownerCreateInvitation(this.relay, this.owner, this.ownerKeyId, profile);
    const accepted = await friendAcceptInvitation(this.relay, invitation.url, friend);
    this.owner.authenticateUser();
    await ownerCompleteShare(this.relay, invitation.state, this.owner);
    const finished = await friendFinishShare(this.relay, accepted.state, friend);
    // Registered like any friend key: the service verifies the chain up to the other maker's root.
    const registered = await this.client.registerKey(friend, finished.keyId, finished.attestation);
    this.crossPlatform = { se: friend, keyId: finished.keyId };
    const issuer = parseCertificate(friend.installedCertificates!.instanceCaCertificate).issuer;
    return {
      ok:
        carTrusts &&
        registered.response.state === "active" &&
        issuer !== parseCertificate(ownerCertificates.instanceCaCertificate).issuer,
      decision: "shared",
      detail: `drive key ${finished.keyId} shared through the relay with a phone certified by "${issuer}" (${listed.organization}, a Device OEM the service trusts) and registered with the service; the car was offline`,
    };
  }

  /** The other maker's phone opens the car: enrolled offline from the owner's attestation through a chain to its own Device OEM root. */
  private async crossPlatformUnlock(): Promise<Omit<DemoStep, "step">> {
    const friend = this.crossPlatform!;
    const result = await tap(friend.se, this.car.doorHandle, { intent: "unlock" });
    return {
      ok: result.decision === "unlocked" && /enrolled from the owner's attestation/.test(result.reason),
      decision: result.decision,
      detail: `door: ${result.flow}, ${result.reason}`,
    };
  }

  /**
   * The owner shares a co-owner key (full, may share further); the co-owner shares a guest key with
   * driving limits through the relay, sending the owner's attestation of itself along; the service
   * registers both, checking the guest's profile is within the co-owner's.
   */
  private async coOwnerReshare(): Promise<Omit<DemoStep, "step">> {
    const coOwner = await this.shareAndRegister({ kind: "full", role: "co-owner" });
    if (coOwner.registration !== "registered")
      throw new DemoStepFailedError(`co-owner: ${coOwner.registration}`);
    // The co-owner opens the car once: its own key enrolls, and holds its friend slot at the car too.
    const enrolled = await tap(coOwner.se, this.car.doorHandle, { intent: "unlock" });
    if (enrolled.decision !== "unlocked")
      throw new DemoStepFailedError(`co-owner at the car: ${enrolled.reason}`);
    const guest = await this.newDevice();
    const profile: AccessProfile = {
      kind: "drive",
      speedLimitKmh: 80,
      powerLimitPercent: 60,
      audioVolumeLimitPercent: 40,
      stabilityControlLocked: true,
    };
    const invitation = await ownerCreateInvitation(this.relay, coOwner.se, coOwner.keyId, profile);
    const accepted = await friendAcceptInvitation(this.relay, invitation.url, guest);
    coOwner.se.authenticateUser();
    await ownerCompleteShare(this.relay, invitation.state, coOwner.se);
    const finished = await friendFinishShare(this.relay, accepted.state, guest);
    const registered = await this.client.registerKey(guest, finished.keyId, finished.attestation);
    this.reshared = { se: guest, keyId: finished.keyId };
    return {
      ok: registered.response.keyId === finished.keyId,
      decision: "shared",
      detail: `co-owner key ${coOwner.keyId} shared guest key ${finished.keyId} (drive 80 km/h, power 60%, volume 40%, stability control locked) through the relay; both registered`,
    };
  }

  /** The guest starts the car: the car applies every limit of its profile and names them. */
  private async guestLimits(): Promise<Omit<DemoStep, "step">> {
    const result = await tap(this.reshared!.se, this.car.dashboard);
    const limits = result.limits;
    return {
      ok:
        result.decision === "started" &&
        limits?.speedLimitKmh === 80 &&
        limits.powerLimitPercent === 60 &&
        limits.audioVolumeLimitPercent === 40 &&
        limits.stabilityControlLocked === true,
      decision: result.decision,
      detail: `dashboard: ${result.flow}, ${result.reason}`,
    };
  }

  /**
   * The car and the service each hold 5 friend keys: the owner fills the
   * slots, the sixth share is refused by the service (409 friend-slots-full)
   * and by the car at its first tap; the owner then revokes one filler to
   * free a slot for the steps after.
   */
  private async slotLimit(): Promise<Omit<DemoStep, "step">> {
    const active = this.car.keyList().keys.filter((k) => k.origin === "shared").length;
    const fillers: { se: SecureElement; keyId: string }[] = [];
    for (let i = active; i < this.car.friendKeySlots; i++) {
      const filler = await this.shareAndRegister({ kind: "unlock-only" });
      if (filler.registration !== "registered")
        throw new DemoStepFailedError(`filler ${i + 1}: ${filler.registration}`);
      const enrolled = await tap(filler.se, this.car.doorHandle, { intent: "unlock" });
      if (enrolled.decision !== "unlocked")
        throw new DemoStepFailedError(`filler ${i + 1}: ${enrolled.reason}`);
      fillers.push(filler);
    }
    const sixth = await this.shareAndRegister({ kind: "full" });
    const atCar = await tap(sixth.se, this.car.doorHandle, { intent: "unlock" });
    const serviceRefused = /friend-slots-full/.test(sixth.registration);
    const carRefused = atCar.decision === "refused" && /friend key slots full/.test(atCar.reason);
    // Free one slot again: the owner revokes a filler, the car syncs its revocation list.
    const freed = fillers[0] ?? this.friend(1);
    const revocation = this.owner.revokeFriendKey(this.ownerKeyId, freed.keyId);
    await this.lifecycle.revokeAsOwner(this.owner, this.ownerKeyId, revocation);
    await this.lifecycle.syncDevice(freed.se);
    const carSync = await this.oemLifecycle.syncVehicle(this.car, this.carCursor);
    this.carCursor = carSync.cursor;
    return {
      ok: serviceRefused && carRefused,
      decision: atCar.decision,
      detail: `${this.car.friendKeySlots} friend keys held; the sixth: service ${sixth.registration}, car: ${atCar.reason}; then the owner revoked ${freed.keyId} to free a slot`,
    };
  }

  /**
   * The owner shares with a one-time activation code (shown to the owner, to
   * pass on by phone): the key goes through the relay and is registered, and
   * is still refused at the car until the friend enters the code.
   */
  private async activationCodeRequired(): Promise<Omit<DemoStep, "step">> {
    const code = generateActivationCode();
    const friend = await this.shareAndRegister({ kind: "full" }, { activationCode: code });
    if (friend.registration !== "registered") throw new DemoStepFailedError(`share: ${friend.registration}`);
    this.coded = { se: friend.se, keyId: friend.keyId, code };
    const result = await tap(friend.se, this.car.doorHandle, { intent: "unlock" });
    return {
      ok: result.decision === "refused" && /activation code is required/.test(result.reason),
      decision: result.decision,
      detail: `key ${friend.keyId} shared and registered; at the car without the code: ${result.reason}`,
    };
  }

  /** The friend enters the code the owner passed on: the car checks it and enrolls the key. */
  private async activationCodeAccepted(): Promise<Omit<DemoStep, "step">> {
    const coded = this.coded;
    if (!coded) throw new DemoStepFailedError("no share with an activation code yet");
    coded.se.enterActivationCode(coded.keyId, coded.code);
    const result = await tap(coded.se, this.car.doorHandle, { intent: "lock" });
    return {
      ok: result.decision === "locked",
      decision: result.decision,
      detail: `code entered on the friend's phone; door: ${result.flow ?? "no flow"}, ${result.reason}`,
    };
  }

  /**
   * The owner adds the key to their watch (its own SE): the phone's SE attests
   * it as the owner's own device, the service registers it outside the friend
   * slots (all five are taken now), and the car enrolls it as an owner key.
   */
  private async watchKey(): Promise<Omit<DemoStep, "step">> {
    const watch = await this.newDevice();
    const ownerKey = this.owner.key(this.ownerKeyId);
    const request = await watch.createFriendKey({
      vehicleIdentifier: this.car.vehicleIdentifier,
      vehicleCertificate: ownerKey.vehicleCertificate!,
      profile: ownerKey.profile,
    });
    this.owner.authenticateUser();
    const attestation = this.owner.attestOwnDevice(this.ownerKeyId, request);
    watch.installKeyAttestation(request.keyId, attestation);
    await this.client.registerKey(watch, request.keyId, attestation);
    const shared = this.car.keyList().keys.filter((k) => k.origin === "shared").length;
    const result = await tap(watch, this.car.doorHandle, { intent: "unlock" });
    const listed = this.car.keyList().keys.find((k) => k.keyId === request.keyId);
    return {
      ok: result.decision === "unlocked" && listed?.role === "owner" && listed.origin === "owner-device",
      decision: result.decision,
      detail: `watch key ${request.keyId} registered and enrolled with ${shared} of ${this.car.friendKeySlots} friend slots taken: ${result.reason}`,
    };
  }

  /** The dashboard's key list, local to the car: roles, profiles, limits, expiry, last use. */
  private async carListsKeys(): Promise<Omit<DemoStep, "step">> {
    const list = this.car.keyList();
    const owner = list.keys.find((k) => k.keyId === this.ownerKeyId);
    const drive = list.keys.find((k) => k.keyId === this.friend(1).keyId);
    const ok =
      owner?.role === "owner" &&
      drive?.profile === "drive" &&
      drive.limits.speedLimitKmh === 80 &&
      drive.lastUsedAt !== null;
    const summary = list.keys.map((k) => `${k.keyId} ${k.role}/${k.profile}`).join(", ");
    return {
      ok,
      decision: "listed",
      detail: `${list.keys.length} keys (friend slots ${this.car.friendKeySlots}), locally only: ${summary}`,
    };
  }

  /**
   * Delete-key at the dashboard: refused with no owner key present, done
   * after the owner taps; when the car is online its telematics tells the
   * service, which records the revocation.
   */
  private async carDeletesKey(): Promise<Omit<DemoStep, "step">> {
    const target = this.friend(1);
    // The friend's key is the last at the reader: no owner key is present.
    await tap(target.se, this.car.doorHandle, { intent: "unlock" });
    let refusedFirst = false;
    try {
      this.car.deleteKey(target.keyId);
    } catch (error) {
      refusedFirst = error instanceof OwnerNotPresentError;
    }
    const presence = await tap(this.owner, this.car.doorHandle, { intent: "lock" });
    const deleted = this.car.deleteKey(target.keyId);
    const carSync = await this.oemLifecycle.syncVehicle(this.car, this.carCursor);
    this.carCursor = carSync.cursor;
    const recorded = await this.oem.getKey(target.keyId);
    this.deletedFriend = target;
    return {
      ok:
        refusedFirst &&
        presence.decision === "locked" &&
        carSync.deletionsReported.includes(target.keyId) &&
        recorded.state === "revoked",
      decision: "deleted",
      detail: `without an owner key present: refused; after the owner's tap (${presence.decision}) key ${deleted.keyId} deleted at the dashboard; reported online, the service records it ${recorded.state}`,
    };
  }

  /**
   * A time-boxed key: it works, then stops at its end at the car with no
   * network; the friend's SE deletes it and the service records it expired.
   */
  private async expiredKey(): Promise<Omit<DemoStep, "step">> {
    const validUntil = Math.ceil(Date.now() / 1000) + EXPIRING_KEY_SECONDS;
    const friend = await this.shareAndRegister({ kind: "full", validUntil });
    if (friend.registration !== "registered") throw new DemoStepFailedError(`share: ${friend.registration}`);
    const before = await tap(friend.se, this.car.doorHandle, { intent: "unlock" });
    const wait = validUntil * 1000 - Date.now() + 100;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const after = await tap(friend.se, this.car.doorHandle, { intent: "lock" });
    const sync = await this.lifecycle.syncDevice(friend.se);
    const recorded = await this.oem.getKey(friend.keyId);
    return {
      ok:
        before.decision === "unlocked" &&
        after.decision === "refused" &&
        /key expired/.test(after.reason) &&
        // The SE deletes the key by its own clock, or applies the terminate-key notice of the service's
        // expiry sweep if that came first (docs/architecture.md "Expiry sweep"); either way the service
        // reports the key's one end state, expired.
        (sync.expired.includes(friend.keyId) || sync.terminated.includes(friend.keyId)) &&
        recorded.state === "expired",
      decision: after.decision,
      detail: `before its end: ${before.decision}; after: ${after.reason} (car offline); the friend's SE deleted it (${sync.expired.length + sync.terminated.length}); the service records it ${recorded.state}`,
    };
  }
}

/** How long the time-boxed key of expired-key-refused is valid: long enough to enroll it first. */
const EXPIRING_KEY_SECONDS = 3;

export async function runDemoStory(target: DemoTarget, report: (step: DemoStep) => void): Promise<boolean> {
  return new DemoStory(target, report).run();
}
