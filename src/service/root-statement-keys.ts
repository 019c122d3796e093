// The OEM roots as signers of statements (src/protocol/signed-statement.ts:
// revocation lists, lifecycle notices), apart from their certificates. A
// statement names its signer by key, so signing one needs the root's key
// behind the Signer port and the knowledge that the root's certificate is
// stored, i.e. published in the trust anchors a car and a device check it
// with; never the certificate's contents. RootCertificates, which parses
// and issues certificates, is one StatementRoots; RootStatementKeys is the
// other, for a function that signs statements and touches no certificate, so
// that its Lambda bundle carries no X.509 code (docs/toolchain.md "Lambda
// bundles"). It reads the root's stored record, checks that the record is for
// the configured key, and never creates a root: the stack's deploy-time
// bootstrap (functions/root-bootstrap.ts) has created both before any route
// is served.
import { toHex } from "../protocol/bytes.js";
import { subjectKeyIdentifier } from "../protocol/certificate-profiles.js";
import { StatementSigningError } from "../protocol/errors.js";
import { signStatement } from "../protocol/signed-statement.js";
import type { MessageSigner } from "../protocol/signer.js";
import { ConfigurationError, ServiceUnavailableError } from "./errors.js";
import { PendingCache } from "./pending-cache.js";
import type { OemRootProfile, Signer, Store } from "./ports.js";

/** What signs the service's statements: a root's key, once that root's certificate exists. */
export interface StatementRoots {
  /** The root's public key (65-byte uncompressed point), which statements name by its identifier. */
  publicKey(profile: OemRootProfile): Promise<Uint8Array>;
  /** A signed statement over `body` by the root of `profile`: one Sign. */
  signStatement(profile: OemRootProfile, body: Uint8Array): Promise<Uint8Array>;
}

export interface RootStatementKeysOptions {
  readonly store: Store;
  readonly signer: Signer;
}

interface StatementKey {
  readonly signer: MessageSigner;
  readonly publicKey: Uint8Array;
}

export class RootStatementKeys implements StatementRoots {
  private readonly options: RootStatementKeysOptions;
  private readonly keys = new PendingCache<OemRootProfile, StatementKey>();

  constructor(options: RootStatementKeysOptions) {
    this.options = options;
  }

  async publicKey(profile: OemRootProfile): Promise<Uint8Array> {
    return (await this.key(profile)).publicKey.slice();
  }

  async signStatement(profile: OemRootProfile, body: Uint8Array): Promise<Uint8Array> {
    const { signer, publicKey } = await this.key(profile);
    try {
      return await signStatement(signer, body, publicKey);
    } catch (error) {
      if (error instanceof StatementSigningError) {
        throw new ConfigurationError(`the ${profile} signer ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** The key of `profile` with its stored record checked, once per process (a failure is retried). */
  private key(profile: OemRootProfile): Promise<StatementKey> {
    return this.keys.get(profile, () => this.load(profile));
  }

  private async load(profile: OemRootProfile): Promise<StatementKey> {
    const signer = this.options.signer.root(profile);
    const publicKey = await signer.publicKey();
    // Root records are keyed by the key's identifier (RootCertificates), so a record found is this key's.
    const record = await this.options.store.getRootCertificate(
      profile,
      toHex(subjectKeyIdentifier(publicKey)),
    );
    if (!record) {
      throw new ServiceUnavailableError(
        `the ${profile} certificate has not been created yet; the deployment's root bootstrap creates it`,
      );
    }
    if (record.publicKey !== toHex(publicKey)) {
      throw new ConfigurationError(`the stored ${profile} certificate is not for the configured key`);
    }
    return { signer, publicKey };
  }
}
