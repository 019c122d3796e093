// The one logger of the cloud service (docs/architecture.md "Conventions": never
// log key material, secrets, invitation plaintext or APDU payloads), configured by
// environment: POWERTOOLS_SERVICE_NAME (default "carkeys") and
// POWERTOOLS_LOG_LEVEL (default INFO). Structured JSON, so CloudWatch Logs
// Insights can query it. What may be logged is decided here and at the call
// sites: identifiers, outcomes and error classes; never key material,
// passwords, pairing verifiers, signatures or request bodies. The handler
// chain forces `logEvent: false`, so POWERTOOLS_LOGGER_LOG_EVENT cannot turn
// on event (and thus body) logging either.
import { Logger } from "@aws-lambda-powertools/logger";

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "carkeys",
  ...(process.env.POWERTOOLS_LOG_LEVEL ? {} : { logLevel: "INFO" as const }),
});
