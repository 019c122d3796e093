// Errors of the contract module: the API description cannot be built or served.
// They are configuration faults (the route table or the bundle is wrong), not
// refusals of a request, so the handler answers them with the generic 500.

/** The document cannot be built: a path parameter without a schema, or two schemas claim one component name. */
export class OpenApiError extends Error {
  override name = "OpenApiError";
}

/** The file is in neither place: the package is not installed, or the Lambda was bundled without it. */
export class DocsAssetMissingError extends Error {
  override name = "DocsAssetMissingError";
}
