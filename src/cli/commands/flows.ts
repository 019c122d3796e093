// `carkey emulator pairing start | pair | share | revoke`: the flows between
// devices, a vehicle and the automaker, run offline on state files — what
// the cloud service and NFC do in real life, in one process.
import type { Command } from "commander";
import { accessProfileFromOptions } from "../../protocol/access-profile.js";
import { toHex } from "../../protocol/bytes.js";
import { DEFAULT_SCRYPT_COST } from "../../protocol/default-scrypt-cost.js";
import { CliError } from "../errors.js";
import { action, printJson } from "../output.js";
import { type ProfileOptions, withProfileOptions } from "../profile-options.js";

export function registerFlowCommands(emulator: Command): void {
  emulator
    .command("pairing")
    .description("the automaker's side of owner pairing")
    .command("start")
    .description(
      "make a one-time pairing password for the owner and provision its verifier and pairing id into the vehicle",
    )
    .requiredOption("--vehicle-state <file>", "vehicle state file")
    .requiredOption("--oem <dir>", "the OEM directory")
    .option("--scrypt-n <n>", "scrypt cost N (power of two)", String(DEFAULT_SCRYPT_COST.N))
    .action(
      action(async (options: { vehicleState: string; oem: string; scryptN: string }) => {
        const { loadOem, loadVehicle, saveVehicle } = await import("../state-files.js");
        const vehicle = loadVehicle(options.vehicleState);
        const { password, verifier, pairingId } = loadOem(options.oem).createPairingMaterial({
          ...DEFAULT_SCRYPT_COST,
          N: Number(options.scryptN),
        });
        vehicle.provisionPairingVerifier(verifier, pairingId);
        saveVehicle(options.vehicleState, vehicle);
        // The password goes to the owner (app or e-mail); the vehicle only ever holds w0 and L.
        printJson({
          password,
          pairingId,
          vehicleId: toHex(vehicle.vehicleIdentifier),
          scrypt: { N: verifier.N, r: verifier.r, p: verifier.p },
        });
      }),
    );

  emulator
    .command("pair")
    .description("owner pairing over APDUs between a device and a vehicle; prints the new key's identifier")
    .requiredOption("--device-state <file>", "the owner's device state file")
    .requiredOption("--vehicle-state <file>", "vehicle state file")
    .requiredOption("--password <pw>", "the pairing password the automaker gave the owner")
    .action(
      action(async (options: { deviceState: string; vehicleState: string; password: string }) => {
        const { loadDevice, loadVehicle, saveDevice, saveVehicle } = await import("../state-files.js");
        const device = loadDevice(options.deviceState);
        const vehicle = loadVehicle(options.vehicleState);
        device.enterPairingPassword(options.password);
        try {
          const result = await vehicle.pair((command) => device.transceive(command));
          saveDevice(options.deviceState, device);
          printJson(result);
        } finally {
          // Failed attempts count on the vehicle, so its state is saved either way.
          saveVehicle(options.vehicleState, vehicle);
        }
      }),
    );

  withProfileOptions(
    emulator
      .command("share")
      .description(
        "share a key offline: the friend's device creates a key, the owner's (or a co-owner's) SE attests it",
      )
      .requiredOption("--owner-state <file>", "the sharer's device state file (owner or co-owner)")
      .requiredOption("--friend-state <file>", "the friend's device state file")
      .requiredOption("--key <keyId>", "the sharer's key for the vehicle (an owner or co-owner key)")
      .requiredOption("--profile <name>", "full | unlock-only | drive")
      .option(
        "--activation-code",
        "require a one-time code: printed for the owner to pass on; the friend enters it with `device activation-code`",
      ),
  ).action(
    action(
      async (
        options: ProfileOptions & {
          ownerState: string;
          friendState: string;
          key: string;
          activationCode?: boolean;
        },
      ) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const owner = loadDevice(options.ownerState);
        const friend = loadDevice(options.friendState);
        const ownerKey = owner.key(options.key);
        if (!ownerKey.vehicleCertificate)
          throw new CliError(`key ${options.key} was not paired or shared (no vehicle certificate)`);
        const profile = accessProfileFromOptions(options);
        const request = await friend.createFriendKey({
          vehicleIdentifier: Buffer.from(ownerKey.vehicleIdentifier, "hex"),
          vehicleCertificate: ownerKey.vehicleCertificate,
          profile,
        });
        // The owner confirms with Face ID / passcode before the SE signs.
        owner.authenticateUser();
        const { generateActivationCode } = await import("../../protocol/activation-code.js");
        const code = options.activationCode ? generateActivationCode() : undefined;
        const attestation = owner.attestFriendKey(options.key, request, profile, code);
        // From a co-owner, the attestations above it go along for the car to check the chain.
        friend.installKeyAttestation(request.keyId, attestation, owner.sharingChain(options.key));
        saveDevice(options.ownerState, owner);
        saveDevice(options.friendState, friend);
        printJson({
          friendKeyId: request.keyId,
          profile,
          attestation: toHex(attestation),
          ...(code === undefined ? {} : { activationCode: code }),
        });
      },
    ),
  );

  emulator
    .command("revoke")
    .description(
      "the owner deletes a shared key: a signed revocation waits in the owner's mailbox for the next tap",
    )
    .requiredOption("--owner-state <file>", "the owner's device state file")
    .requiredOption("--key <friendKeyId>", "the shared key to revoke")
    .action(
      action(async (options: { ownerState: string; key: string }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const owner = loadDevice(options.ownerState);
        const issued = owner.issuedAttestationList().find((a) => a.friendKeyId === options.key);
        if (!issued) throw new CliError(`this device never shared key ${options.key}`);
        const revocation = owner.revokeFriendKey(issued.ownerKeyId, options.key);
        saveDevice(options.ownerState, owner);
        printJson({
          revokedKeyId: options.key,
          ownerKeyId: issued.ownerKeyId,
          revocation: toHex(revocation),
        });
      }),
    );
}
