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
import { type Reader, Vehicle } from "../../emulator/vehicle/vehicle.js";
import type { AccessProfile } from "../../protocol/access-profile.js";
import { toHex } from "../../protocol/bytes.js";

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
}

/** Thrown inside a step to end the story there: its report says why. */
class StepFailed extends Error {}

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
    if (!friend) throw new StepFailed(`friend ${index + 1} has no key yet`);
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
}

export async function runDemoStory(target: DemoTarget, report: (step: DemoStep) => void): Promise<boolean> {
  return new DemoStory(target, report).run();
}
