// The document's top-level tags: one per Lambda function (its route set in
// src/api/routes/), so an OEM reading the reference sees the API in the same
// parts it is deployed in. The generator refuses a function with no entry
// here, so a new route set cannot appear untagged or undescribed.
export interface TagEntry {
  /** A short name for readers (OpenAPI `x-displayName`, shown by the docs page). */
  readonly displayName: string;
  readonly description: string;
}

export const FUNCTION_TAGS: Readonly<Record<string, TagEntry>> = {
  openapi: {
    displayName: "API description",
    description: "This OpenAPI document and the API reference page rendered from it (`/docs`).",
  },
  "trust-anchors": {
    displayName: "Trust anchors",
    description:
      "The public keys everyone verifies against: the Device OEM and Vehicle OEM root certificates, and the key " +
      "that signs webhook deliveries.",
  },
  "device-enrollment": {
    displayName: "Secure element enrollment",
    description:
      "A device's secure element proves it is genuine (the manufacturer's factory attestation) and gets its " +
      "instance CA certificate from the Device OEM root.",
  },
  "vehicle-enrollment": {
    displayName: "Vehicle enrollment",
    description:
      "The OEM backend enrolls a vehicle (its certificate and trust anchors) and issues the owner-pairing " +
      "material: a one-time password for the owner and the verifier for the car.",
  },
  "key-tracking": {
    displayName: "Key tracking",
    description:
      "Owner and friend keys are registered by the device that holds them and get a receipt signed by the " +
      "Vehicle OEM root; the OEM and partner servers read the records.",
  },
  revocation: {
    displayName: "Revocation and termination",
    description:
      "An owner's device or the OEM backend revokes a key; the secure element that held it confirms the " +
      "deletion with its termination attestation.",
  },
  "revocation-list": {
    displayName: "Revocation lists",
    description: "A vehicle's signed revocation list, fetched by the OEM's telematics for the car.",
  },
  notices: {
    displayName: "Lifecycle notices and lost mode",
    description:
      "Signed notices for secure elements (terminate key, suspend, resume) and vehicles (lost mode); the " +
      "Device OEM suspends or resumes a lost device.",
  },
  "partner-events": {
    displayName: "Partner event intake",
    description:
      "Another automaker's server reports a device lost or found, asks for a key's termination, or sends a " +
      "heartbeat.",
  },
  relay: {
    displayName: "Share-invitation relay (TIGRESS)",
    description:
      "The mailbox API of draft-vinokurov-tigress-http-00: an owner's device leaves an encrypted share " +
      "invitation, the friend's device reads it through the link (docs/relay.md).",
  },
};
