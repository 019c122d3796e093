// Errors of the local server (`npm start` and the tests' stacks): a wrong
// option, route table or Lambda result. API Gateway's own answers to such
// faults (400, 500) are what the server sends; these name the cause in the log.

/** The route table was written wrong (a bad template or two routes with one key). */
export class RouteTableError extends Error {
  override name = "RouteTableError";
}

/** The request target cannot be turned into an event (API Gateway answers 400). */
export class RequestTargetError extends Error {
  override name = "RequestTargetError";
}

/** The function returned something API Gateway would not accept (it answers 500). */
export class InvalidLambdaResultError extends Error {
  override name = "InvalidLambdaResultError";
}

/** The local server was configured wrong (a bad option, a handler module that cannot be loaded). */
export class LocalServerError extends Error {
  override name = "LocalServerError";
}

/** The stack cannot start as configured (a bad option, a signer that does not answer, a port in use). */
export class LocalDeploymentError extends Error {
  override name = "LocalDeploymentError";
}
