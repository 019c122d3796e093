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
import "reflect-metadata";
import type { CloudFormationCustomResourceEvent, Context } from "aws-lambda";
import type { CarKeysService } from "../src/service/car-keys-service.js";
import { logger } from "../src/service/logger.js";
import { getService } from "./lib/dependencies.js";

export const PHYSICAL_RESOURCE_ID = "carkeys-root-certificates";

/** Creates (or reads) both roots; returns what CloudFormation may show as the resource's attributes. */
export async function bootstrapRoots(service: CarKeysService): Promise<Record<string, string>> {
  const [device, vehicle] = await Promise.all([
    service.roots.get("device-oem-root"),
    service.roots.get("vehicle-oem-root"),
  ]);
  return {
    DeviceOemRootNotAfter: device.notAfter.toISOString(),
    VehicleOemRootNotAfter: vehicle.notAfter.toISOString(),
  };
}

export const handler = async (event: CloudFormationCustomResourceEvent, context?: Context): Promise<void> => {
  let status: "SUCCESS" | "FAILED" = "SUCCESS";
  let reason = "roots ready";
  let data: Record<string, string> = {};
  try {
    if (event.RequestType !== "Delete") data = await bootstrapRoots(await getService());
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
};
