// The Device OEM and Vehicle OEM root certificates (docs/certificates.md
// "Device OEM root CA", "Vehicle OEM root CA"). The root keys live behind the
// Signer port (KMS in AWS); each root certificate is self-signed through that
// same port the first time it is needed, stored, and from then on read back.
// The record is keyed by the key's identifier, so pointing the service at a
// new KMS key yields a new root instead of a certificate that does not match
// its key. Public keys and certificates are cached for the life of the
// process (a Lambda container), parsed once, so a warm issuance costs exactly
// one Sign. Dates and names come from the issuance policy every issuer follows
// (src/protocol/issuance-policy.ts), and every statement a root signs is
// checked before it is handed out (src/protocol/signed-statement.ts).
// Two cold starts racing to create a root both sign (one Sign each), the
// conditional write picks one, and the loser adopts the stored winner.

import type { DeviceOemRoot, TrustAnchors } from "../api/issuance-schemas.js";
import { equalBytes, fromHex, toHex } from "../protocol/bytes.js";
import type { IssuedCertificate } from "../protocol/certificate-issuer.js";
import {
  getCertificateProfile,
  type SubjectNameFields,
  subjectKeyIdentifier,
} from "../protocol/certificate-profiles.js";
import {
  certificatePublicKey,
  type ParsedCertificate,
  parseCertificate,
} from "../protocol/certificate-verifier.js";
import { CertificateIssuanceError, StatementSigningError } from "../protocol/errors.js";
import {
  createRootUnderPolicy,
  type IssueUnderPolicyParams,
  issueCertificateUnderPolicy,
} from "../protocol/issuance-policy.js";
import { signStatement } from "../protocol/signed-statement.js";
import type { MessageSigner } from "../protocol/signer.js";
import type { ConfiguredDeviceOemRoot } from "./device-oem-roots.js";
import { ConfigurationError, ConflictError, ServiceUnavailableError } from "./errors.js";
import { PendingCache } from "./pending-cache.js";
import type { Clock, OemRootProfile, RootCertificateRecord, Signer, Store } from "./ports.js";
import type { StatementRoots } from "./root-statement-keys.js";

const ROOT_TITLES: Readonly<Record<OemRootProfile, string>> = {
  "device-oem-root": "Device OEM root",
  "vehicle-oem-root": "Vehicle OEM root",
};

export interface RootCertificate {
  readonly profile: OemRootProfile;
  readonly pem: string;
  readonly der: Uint8Array;
  /** The certificate as parsed once when loaded: what issuance reads its dates and names from. */
  readonly parsed: ParsedCertificate;
  readonly publicKey: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The signer holding this root's key, with its public key cached. */
  readonly signer: MessageSigner;
}

export interface RootCertificatesOptions {
  readonly store: Store;
  readonly signer: Signer;
  readonly clock: Clock;
  /** Subject of each root (O = the OEM; CN defaults per profile). */
  readonly subjects: Readonly<Record<OemRootProfile, SubjectNameFields>>;
  /**
   * The roots this process may self-sign when none is stored; default both.
   * In AWS only a function granted kms:Sign on a root's key can create that
   * root; the others read it, and answer 503 until it exists.
   */
  readonly creatable?: ReadonlySet<OemRootProfile>;
  /**
   * Other phone makers' Device OEM roots (src/service/device-oem-roots.ts): trusted beside the
   * service's own for key chains, published in the trust anchors, never signed with. Default none.
   */
  readonly configuredDeviceOemRoots?: readonly ConfiguredDeviceOemRoot[];
}

/** What a deployment names its roots by: ServiceSettings and CarKeysServiceConfig both carry these fields. */
export interface RootCertificatesConfig {
  readonly store: Store;
  readonly signer: Signer;
  readonly clock: Clock;
  /** O (and optionally C, CN) of the Device OEM root. */
  readonly deviceOem: SubjectNameFields;
  /** O (and optionally C, CN) of the Vehicle OEM root. */
  readonly vehicleOem: SubjectNameFields;
  /** The roots this process may self-sign on first use; default both. */
  readonly creatableRoots?: readonly OemRootProfile[];
  /** Other phone makers' Device OEM roots; default none. */
  readonly trustedDeviceOemRoots?: readonly ConfiguredDeviceOemRoot[];
}

/**
 * The roots as a deployment configures them: the one wiring the whole service
 * (car-keys-service.ts) and each function that reads or issues certificates
 * (src/adapters/*-assembly.ts) share, so their roots cannot differ.
 */
export function rootCertificatesFor(config: RootCertificatesConfig): RootCertificates {
  return new RootCertificates({
    store: config.store,
    signer: config.signer,
    clock: config.clock,
    // The OEM's name goes into every certificate it issues: the roots' subjects, whose O and C their
    // children carry (src/protocol/issuance-policy.ts).
    subjects: { "device-oem-root": config.deviceOem, "vehicle-oem-root": config.vehicleOem },
    ...(config.creatableRoots ? { creatable: new Set(config.creatableRoots) } : {}),
    ...(config.trustedDeviceOemRoots && config.trustedDeviceOemRoots.length > 0
      ? { configuredDeviceOemRoots: config.trustedDeviceOemRoots }
      : {}),
  });
}

/** A MessageSigner whose publicKey() is asked of the underlying signer once (a KMS GetPublicKey). */
function cachingPublicKey(inner: MessageSigner): MessageSigner {
  let key: Promise<Uint8Array> | undefined;
  return {
    publicKey() {
      if (!key) {
        key = inner.publicKey();
        key.catch(() => {
          key = undefined;
        });
      }
      return key.then((k) => k.slice());
    },
    sign: (message) => inner.sign(message),
  };
}

export class RootCertificates implements StatementRoots {
  private readonly options: RootCertificatesOptions;
  private readonly signers = new Map<OemRootProfile, MessageSigner>();
  private readonly cache = new PendingCache<OemRootProfile, RootCertificate>();
  /** The configured Device OEM roots, parsed on the first chain verification that needs them. */
  private configuredAnchors?: ParsedCertificate[];

  constructor(options: RootCertificatesOptions) {
    this.options = options;
  }

  /**
   * Both roots' certificates, and every Device OEM root the service trusts (its own first): what a
   * vehicle and a device need to verify chains offline.
   */
  async trustAnchors(): Promise<TrustAnchors> {
    const [device, vehicle] = await Promise.all([this.get("device-oem-root"), this.get("vehicle-oem-root")]);
    const own: DeviceOemRoot = {
      organization: device.parsed.organization ?? "",
      keyIdentifier: toHex(subjectKeyIdentifier(device.publicKey)),
      origin: "service",
      certificate: device.pem,
    };
    return {
      deviceOemRoot: device.pem,
      vehicleOemRoot: vehicle.pem,
      deviceOemRoots: [
        own,
        ...this.configuredDeviceOemRoots(device).map((root) => ({
          organization: root.organization,
          keyIdentifier: root.keyIdentifier,
          origin: "configured" as const,
          certificate: root.pem,
        })),
      ],
    };
  }

  /**
   * The anchors a device's key chain may end at (DER): the service's own Device OEM root, which
   * certifies the SEs it enrolls, then every configured maker's root.
   */
  async deviceOemAnchors(): Promise<ParsedCertificate[]> {
    const own = await this.get("device-oem-root");
    // Parsed once per process: a chain verification uses them as they are.
    this.configuredAnchors ??= this.configuredDeviceOemRoots(own).map((root) => parseCertificate(root.der));
    return [own.parsed, ...this.configuredAnchors];
  }

  /** The configured roots other than the service's own (configuring its own root again adds nothing). */
  private configuredDeviceOemRoots(own: RootCertificate): readonly ConfiguredDeviceOemRoot[] {
    const ownId = toHex(subjectKeyIdentifier(own.publicKey));
    return (this.options.configuredDeviceOemRoots ?? []).filter((root) => root.keyIdentifier !== ownId);
  }

  /** The root of `profile`, self-signing and storing it on first use. */
  get(profile: OemRootProfile): Promise<RootCertificate> {
    // A failure (KMS or DynamoDB unreachable) is not remembered: the next request tries again.
    return this.cache.get(profile, () => this.load(profile));
  }

  private signer(profile: OemRootProfile): MessageSigner {
    let signer = this.signers.get(profile);
    if (!signer) {
      signer = cachingPublicKey(this.options.signer.root(profile));
      this.signers.set(profile, signer);
    }
    return signer;
  }

  private async load(profile: OemRootProfile): Promise<RootCertificate> {
    const { store, clock, subjects } = this.options;
    const signer = this.signer(profile);
    const publicKey = await signer.publicKey();
    const keyId = toHex(subjectKeyIdentifier(publicKey));
    let record = await store.getRootCertificate(profile, keyId);
    if (!record && this.options.creatable && !this.options.creatable.has(profile)) {
      throw new ServiceUnavailableError(
        `the ${ROOT_TITLES[profile]} certificate has not been created yet; it is created by the first ` +
          `${profile === "device-oem-root" ? "secure element" : "vehicle"} enrollment`,
      );
    }
    if (!record) {
      const now = clock.now();
      const issued = await createRootUnderPolicy({ profile, signer, subject: subjects[profile], now });
      const created: RootCertificateRecord = {
        profile,
        keyId,
        publicKey: toHex(publicKey),
        certificatePem: issued.pem,
        serialNumber: issued.serialNumber,
        createdAt: now.toISOString(),
      };
      try {
        await store.createRootCertificate(created);
        record = created;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        record = await store.getRootCertificate(profile, keyId);
        if (!record) throw error;
      }
    }
    return toRoot(profile, record, publicKey, signer);
  }

  /**
   * A certificate of `params.profile` signed by the root that issues it (one Sign), by the issuance
   * policy; with that root, whose certificate the answer usually carries.
   */
  async issue(
    params: Omit<IssueUnderPolicyParams, "issuer">,
  ): Promise<{ issued: IssuedCertificate; root: RootCertificate }> {
    const profile = getCertificateProfile(params.profile).issuer as OemRootProfile;
    const root = await this.get(profile);
    try {
      const issued = await issueCertificateUnderPolicy({
        ...params,
        issuer: { signer: root.signer, certificate: root.parsed },
      });
      return { issued, root };
    } catch (error) {
      if (error instanceof CertificateIssuanceError && error.reason === "issuer-expired") {
        throw new ConfigurationError(`the ${profile} certificate has expired: rotate the root key`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** The public key of the root of `profile`, its certificate loaded (or self-signed) first. */
  async publicKey(profile: OemRootProfile): Promise<Uint8Array> {
    return (await this.get(profile)).publicKey.slice();
  }

  /** A signed statement (src/protocol/signed-statement.ts) over `body` by the root of `profile`: one Sign. */
  async signStatement(profile: OemRootProfile, body: Uint8Array): Promise<Uint8Array> {
    const root = await this.get(profile);
    try {
      return await signStatement(root.signer, body, root.publicKey);
    } catch (error) {
      if (error instanceof StatementSigningError) {
        throw new ConfigurationError(`the ${ROOT_TITLES[profile]} signer ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}

function toRoot(
  profile: OemRootProfile,
  record: RootCertificateRecord,
  publicKey: Uint8Array,
  signer: MessageSigner,
): RootCertificate {
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(record.certificatePem);
  } catch (cause) {
    throw new ConfigurationError(`the stored ${profile} certificate does not parse`, { cause });
  }
  if (
    parsed.profile !== profile ||
    !equalBytes(certificatePublicKey(parsed), publicKey) ||
    !equalBytes(fromHex(record.publicKey), publicKey)
  ) {
    throw new ConfigurationError(`the stored ${profile} certificate is not for the configured key`);
  }
  return {
    profile,
    pem: record.certificatePem,
    der: parsed.der,
    parsed,
    publicKey,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    signer,
  };
}
