// What the contract test's requests act on, made through the API itself with
// the project's client before Schemathesis starts: an emulated SE enrolled
// (its instance key signs `instance` routes), a vehicle enrolled by the OEM
// and paired with that SE over APDUs, and the owner key registered (its
// endpoint key signs `endpoint` routes). Their identifiers become fixed path
// parameters of the read routes, so those answer 200 with real bodies whose
// schema Schemathesis checks, not only 404s. Two relay mailboxes likewise:
// one for the read, update and relinquish routes, one for delete (which
// empties it for whatever comes after), with the Initiator's claim for the
// routes that need it.
import { join } from "node:path";
import type { LocalDeployment } from "../../src/adapters/local-server/local-deployment.js";
import {
  CarKeysClient,
  installVehicleEnrollment,
  OemBackendClient,
} from "../../src/client/car-keys-client.js";
import { newDeviceClaim, TigressClient } from "../../src/client/tigress-client.js";
import { factoryAttesterFromFile } from "../../src/emulator/secure-element/factory-attester-file.js";
import { SecureElement } from "../../src/emulator/secure-element/secure-element.js";
import { Vehicle } from "../../src/emulator/vehicle/vehicle.js";
import type { RequestSigner } from "../../src/protocol/request-signature.js";

export interface ContractFixture {
  readonly se: SecureElement;
  readonly seId: string;
  readonly vehicleId: string;
  readonly ownerKeyId: string;
  readonly signers: { readonly instance: RequestSigner; readonly endpoint: RequestSigner };
  /** A mailbox and its Initiator's claim; and one to delete. */
  readonly mailbox: { readonly id: string; readonly claim: string; readonly deletableId: string };
}

export async function makeContractFixture(stack: LocalDeployment): Promise<ContractFixture> {
  const { attester } = factoryAttesterFromFile(join(stack.keysDir, "se-manufacturer.json"));
  const { se } = SecureElement.create({ manufacturer: attester });
  const device = new CarKeysClient(stack.url);
  const oem = new OemBackendClient(stack.url, stack.oemToken);
  await device.enrollSecureElement(se);

  const car = Vehicle.create();
  const enrollment = await oem.enrollVehicle({
    vehicleId: car.vehicleIdentifier,
    vehiclePublicKey: car.publicKey,
  });
  const { password } = installVehicleEnrollment(car, enrollment.response);
  se.enterPairingPassword(password);
  let ownerKeyId: string;
  try {
    ownerKeyId = (await car.pair((command) => se.transceive(command))).keyId;
  } finally {
    se.fieldLost();
  }
  await device.registerKey(se, ownerKeyId);

  const relay = TigressClient.forService(stack.url);
  const claim = newDeviceClaim();
  const invitation = {
    // 12-byte IV, 16 bytes of ciphertext, 16-byte tag: the relay never opens it.
    payload: { type: "AEAD_AES_128_GCM", data: Buffer.alloc(44, 7).toString("base64") },
    displayInformation: { title: "Car key invitation", description: "Open on your phone", imageURL: "" },
  };
  const mailbox = await relay.createMailbox(claim, invitation);
  const deletable = await relay.createMailbox(claim, invitation);
  return {
    se,
    seId: se.seId,
    vehicleId: enrollment.response.vehicleId,
    ownerKeyId,
    signers: { instance: `instance:${se.seId}`, endpoint: `endpoint:${ownerKeyId}` },
    mailbox: { id: mailbox.mailboxId, claim, deletableId: deletable.mailboxId },
  };
}
