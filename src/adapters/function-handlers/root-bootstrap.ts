// The deploy-time root bootstrap: a CloudFormation custom resource
// (Custom::CarKeysRootCertificates, infra/lib/car-keys-stack.ts) backed by
// this function, which may sign with both OEM root keys. On Create and
// Update it asks the service for both roots (service.roots.get), which
// self-signs and stores each root certificate that does not exist yet, so a
// fresh stack's routes never answer 503 for a missing root: the API's stage
// is deployed only after this succeeded. Delete does nothing (the root
// certificates outlive the stack, like the keys). Written without the CDK
// Provider framework: the function answers CloudFormation's pre-signed
// ResponseURL itself, one PUT, which keeps the stack free of a second,
// generic Lambda and its wide permissions.
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import type { CarKeysService } from "../../service/car-keys-service.js";
import { type DependencySource, resolverOf } from "../../service/http/dependency-source.js";
import { logger } from "../../service/logger.js";

/** What the bootstrap uses: the roots. */
export interface RootBootstrapDependencies {
  readonly service: Pick<CarKeysService, "roots">;
}

export const PHYSICAL_RESOURCE_ID = "carkeys-root-certificates";

/** Creates (or reads) both roots; returns what CloudFormation may show as the resource's attributes. */
export async function bootstrapRoots(
  service: Pick<CarKeysService, "roots">,
): Promise<Record<string, string>> {
  const [device, vehicle] = await Promise.all([
    service.roots.get("device-oem-root"),
    service.roots.get("vehicle-oem-root"),
  ]);
  return {
    DeviceOemRootNotAfter: device.notAfter.toISOString(),
    VehicleOemRootNotAfter: vehicle.notAfter.toISOString(),
  };
}

export function makeHandler(dependencies: DependencySource<RootBootstrapDependencies>) {
  const resolve = resolverOf(dependencies);
  return (event: CloudFormationCustomResourceEvent, context?: Context) => answer(event, context, resolve);
}

async function answer(
  event: CloudFormationCustomResourceEvent,
  context: Context | undefined,
  dependencies: () => Promise<RootBootstrapDependencies>,
): Promise<void> {
  let status: "SUCCESS" | "FAILED" = "SUCCESS";
  let reason = "roots ready";
  let data: Record<string, string> = {};
  try {
    if (event.RequestType !== "Delete") data = await bootstrapRoots((await dependencies()).service);
  } catch (error) {
    status = "FAILED";
    reason = `root bootstrap failed: ${(error as Error).message}`.slice(0, 500);
    logger.error("root bootstrap failed", {
      errorName: (error as Error).name,
      errorMessage: (error as Error).message,
    });
  }
  const body = JSON.stringify({
    Status: status,
    Reason: `${reason} (log stream ${context?.logStreamName ?? "n/a"})`,
    PhysicalResourceId: "PhysicalResourceId" in event ? event.PhysicalResourceId : PHYSICAL_RESOURCE_ID,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data,
  });
  // The pre-signed S3 URL signs no content type: send none.
  const response = await fetch(event.ResponseURL, { method: "PUT", headers: { "content-type": "" }, body });
  if (!response.ok) throw new Error(`CloudFormation response not accepted: HTTP ${response.status}`);
  logger.info("root bootstrap answered", { requestType: event.RequestType, status });
}
