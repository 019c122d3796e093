// `carkey emulator device …`: an emulated phone's secure element, driven the
// way the wallet app and the OS drive a real one, and exposed as an NFC card
// on stdin/stdout for any reader.
import type { Command } from "commander";
import { serveLineProtocol } from "../../emulator/line-protocol.js";
import { accessProfileFromOptions } from "../../protocol/access-profile.js";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { CliError } from "../errors.js";
import { action, printJson } from "../output.js";
import { type ProfileOptions, withProfileOptions } from "../profile-options.js";

export function registerDeviceCommands(emulator: Command): void {
  const device = emulator.command("device").description("an emulated phone or watch secure element");

  device
    .command("init")
    .description("create an emulated device (its SE and an empty key store)")
    .requiredOption("--state <file>", "device state file to create")
    .option(
      "--oem <dir>",
      "certify its instance CA by this OEM's Device OEM root (needed for pairing and sharing)",
    )
    .option(
      "--trust-oem <dir>",
      "also share keys with devices of this OEM's Device OEM root (cross-platform; repeatable)",
      collect,
      [] as string[],
    )
    .option("--vehicle-oem <dir>", "trust vehicle certificates of this OEM (default: the --oem's)")
    .action(
      action(async (options: { state: string; oem?: string; trustOem: string[]; vehicleOem?: string }) => {
        const { loadOem, refuseOverwrite, saveDevice } = await import("../state-files.js");
        const { SecureElement } = await import("../../emulator/secure-element/secure-element.js");
        refuseOverwrite(options.state);
        const authority = options.oem ? loadOem(options.oem) : undefined;
        if (!authority && (options.trustOem.length > 0 || options.vehicleOem)) {
          throw new CliError(
            "--trust-oem and --vehicle-oem need --oem (an uncertified device shares nothing)",
          );
        }
        const { se, sealingKey } = SecureElement.create(
          authority ? { manufacturer: authority.manufacturer } : {},
        );
        if (authority) {
          const vehicleOem = options.vehicleOem ? loadOem(options.vehicleOem) : authority;
          se.installCertificates({
            instanceCaCertificate: await authority.certifyInstanceCa(se.factoryAttestation!),
            deviceOemRoot: authority.trustAnchors.deviceOemRoot,
            vehicleOemRoot: vehicleOem.trustAnchors.vehicleOemRoot,
            trustedDeviceOemRoots: options.trustOem.map((dir) => loadOem(dir).trustAnchors.deviceOemRoot),
          });
        }
        saveDevice(options.state, se, sealingKey);
        printJson({ seId: se.seId, certified: !!authority, state: options.state });
      }),
    );

  device
    .command("certs")
    .description("print a key's endpoint certificate, then the instance CA certificate (PEM)")
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--key <keyId>", "key identifier")
    .action(
      action(async (options: { state: string; key: string }) => {
        const { loadDevice } = await import("../state-files.js");
        const chain = loadDevice(options.state).certificateChain(options.key);
        process.stdout.write(`${chain.endpointCertificate.trim()}\n${chain.instanceCaCertificate.trim()}\n`);
      }),
    );

  device
    .command("lost-mode")
    .description("apply a signed lost-mode notice (suspend or resume) from the Device OEM")
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--notice <file>", "notice file (as `oem notice --out` writes it, or bare hex)")
    .action(
      action(async (options: { state: string; notice: string }) => {
        const { loadDevice, readHexDocument, saveDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        const applied = se.applyNotice(readHexDocument(options.notice, "notice"));
        saveDevice(options.state, se);
        printJson({ ...applied, locked: se.isLocked });
      }),
    );

  withProfileOptions(
    device
      .command("add-key")
      .description(
        "provision a key for a vehicle directly (a test shortcut; owner pairing does this over NFC)",
      )
      .requiredOption("--state <file>", "device state file")
      .requiredOption("--vehicle-public-key <hex>", "vehicle long-term public key, 65 bytes uncompressed")
      .requiredOption("--vehicle-id <hex>", "vehicle identifier, 8 to 32 bytes")
      .option("--no-express", "turn express mode off: each transaction needs a fresh user authentication")
      .option(
        "--profile <name>",
        "full | unlock-only | drive (informative on the device; the car enforces)",
        "full",
      ),
  ).action(
    action(
      async (
        options: ProfileOptions & {
          state: string;
          vehiclePublicKey: string;
          vehicleId: string;
          express: boolean;
        },
      ) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        const key = se.provisionKey({
          vehicleIdentifier: fromHex(options.vehicleId, "--vehicle-id"),
          vehiclePublicKey: fromHex(options.vehiclePublicKey, "--vehicle-public-key"),
          profile: accessProfileFromOptions(options),
          express: options.express,
        });
        saveDevice(options.state, se);
        printJson({ ...key, express: options.express });
      },
    ),
  );

  device
    .command("keys")
    .description("list the keys on the device (public data only)")
    .requiredOption("--state <file>", "device state file")
    .action(
      action(async (options: { state: string }) => {
        const { loadDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        printJson({
          keys: se.listKeys().map(({ privateMailbox: _mailbox, ...key }) => ({
            ...key,
            fastReady: se.hasPersistentKey(key.keyId),
          })),
          terminated: se.terminatedKeys(),
          locked: se.isLocked,
          poweredOff: se.isPoweredOff,
        });
      }),
    );

  device
    .command("express")
    .description("turn express mode on or off for a key")
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--key <keyId>", "key identifier")
    .requiredOption("--mode <on|off>", "on or off")
    .action(
      action(async (options: { state: string; key: string; mode: string }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        if (options.mode !== "on" && options.mode !== "off") throw new CliError("--mode must be on or off");
        const se = loadDevice(options.state);
        se.setExpressMode(options.key, options.mode === "on");
        saveDevice(options.state, se);
        printJson({ keyId: options.key, express: options.mode === "on" });
      }),
    );

  device
    .command("power")
    .description("power the device off (express keys keep answering on power reserve) or on")
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--mode <on|off>", "on or off")
    .action(
      action(async (options: { state: string; mode: string }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        if (options.mode !== "on" && options.mode !== "off") throw new CliError("--mode must be on or off");
        const se = loadDevice(options.state);
        if (options.mode === "off") se.powerOff();
        else se.powerOn();
        saveDevice(options.state, se);
        printJson({ poweredOff: se.isPoweredOff });
      }),
    );

  device
    .command("activation-code")
    .description(
      "enter the one-time activation code the owner passed on: the car checks it at this key's first tap",
    )
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--key <keyId>", "the shared key")
    .requiredOption("--code <digits>", "the 8-digit code")
    .action(
      action(async (options: { state: string; key: string; code: string }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        se.enterActivationCode(options.key, options.code);
        saveDevice(options.state, se);
        printJson({ keyId: options.key, activationCode: "entered" });
      }),
    );

  device
    .command("delete-key")
    .description("delete a key at once; prints its termination attestation")
    .requiredOption("--state <file>", "device state file")
    .requiredOption("--key <keyId>", "key identifier")
    .action(
      action(async (options: { state: string; key: string }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        const { attestation, terminatedAt } = se.deleteKey(options.key);
        saveDevice(options.state, se);
        printJson({ keyId: options.key, terminatedAt, terminationAttestation: toHex(attestation) });
      }),
    );

  device
    .command("nfc")
    .description(
      "act as an NFC card on stdin/stdout: one command APDU in hex per line in, one response APDU (data ‖ SW1 SW2) in hex per line out",
    )
    .requiredOption("--state <file>", "device state file (saved after each completed transaction)")
    .option(
      "--user-authenticated",
      "the user has just authenticated (Face ID / passcode) for a non-express key",
    )
    .action(
      action(async (options: { state: string; userAuthenticated?: boolean }) => {
        const { loadDevice, saveDevice } = await import("../state-files.js");
        const se = loadDevice(options.state);
        if (options.userAuthenticated) se.authenticateUser();
        se.onTransactionCommitted(() => saveDevice(options.state, se));
        // Answers stay on stdout, one per line; why a line got 6700 goes to stderr for the integrator.
        await serveLineProtocol(process.stdin, process.stdout, (command) => se.transceive(command), {
          onRefusedLine: (line, reason) =>
            process.stderr.write(`carkey: input line ${line} is ${reason}; answered 6700\n`),
          onError: (line, error) =>
            process.stderr.write(
              `carkey: input line ${line} failed (${(error as Error).message}); answered 6F00\n`,
            ),
        });
      }),
    );
}

/** Commander collector for a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
