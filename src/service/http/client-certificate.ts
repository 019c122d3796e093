// Mutual TLS for the server-to-server routes (src/api/routes.ts
// `serverToServer`). API Gateway verifies the client certificate chain
// against the custom domain's truststore during the TLS handshake and hands
// the verified leaf to the function in `requestContext.authentication.clientCert`
// (the local server does the same with `npm start -- --mtls`); a request
// reaches a function with that field only if the chain verified. This file
// turns the certificate into the caller's identity and, where mutual TLS is
// configured (the handler's `serverToServerMtls`; in Lambda
// SERVER_TO_SERVER_MTLS=required, set by the stack when it has a custom domain
// with a truststore), refuses a server-to-server route reached without one —
// through the API's default endpoint, which has no mutual TLS.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { RouteDefinition } from "../../api/routes.js";
import { ForbiddenError } from "../errors.js";

/** The Lambda environment variable that turns the requirement on (value "required"; src/adapters/service-assembly.ts). */
export const MTLS_SETTING = "SERVER_TO_SERVER_MTLS";

/** The verified client certificate as API Gateway passes it (payload 2.0). */
export interface ClientCertificate {
  readonly clientCertPem: string;
  readonly subjectDN: string;
  readonly issuerDN: string;
  readonly serialNumber: string;
  readonly validity: { readonly notBefore: string; readonly notAfter: string };
}

export function clientCertificateOf(event: APIGatewayProxyEventV2): ClientCertificate | undefined {
  const authentication = (event.requestContext as { authentication?: { clientCert?: unknown } })
    .authentication;
  const cert = authentication?.clientCert as Partial<ClientCertificate> | undefined;
  if (!cert || typeof cert.subjectDN !== "string" || cert.subjectDN === "") return undefined;
  return cert as ClientCertificate;
}

/** The caller a client certificate names: its subject, as the issuer certified it. */
export function callerOfCertificate(cert: ClientCertificate): string {
  return `x509:${cert.subjectDN}`;
}

/** Refuses a server-to-server route without a verified client certificate where mutual TLS is required. */
export function assertClientCertificate(
  route: Pick<RouteDefinition, "serverToServer" | "method" | "path">,
  event: APIGatewayProxyEventV2,
  required: boolean,
): void {
  if (!route.serverToServer || !required) return;
  if (clientCertificateOf(event)) return;
  throw new ForbiddenError(
    `${route.method} ${route.path} is served to partner servers over mutual TLS only: call the mTLS ` +
      "domain with a client certificate its truststore accepts",
  );
}
