// A Lambda's ServiceSettings from its environment (service-settings.ts lists
// the variables): the base settings and the trusted Device OEM roots, whose
// PEM bundle is parsed here, apart, because parsing it takes the X.509 code a
// function that checks no device's chain does not carry (docs/toolchain.md
// "Lambda bundles").
import { parseDeviceOemRoots } from "../service/device-oem-roots.js";
import { baseServiceSettingsFromEnvironment, type ServiceSettings } from "./service-settings.js";

/** The settings `env` names; throws ConfigurationError naming every missing or malformed variable. */
export function serviceSettingsFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ServiceSettings {
  const base = baseServiceSettingsFromEnvironment(env);
  return {
    ...base,
    trustedDeviceOemRoots: parseDeviceOemRoots(
      env.TRUSTED_DEVICE_OEM_ROOTS ?? "",
      "TRUSTED_DEVICE_OEM_ROOTS",
    ),
  };
}
