// Errors of the CDK app's settings: synthesis stops with the setting that is wrong.

/** The settings are unusable (not a domain name, not an ACM ARN, not an s3:// URI). */
export class MtlsDomainSettingsError extends Error {
  override name = "MtlsDomainSettingsError";
}
