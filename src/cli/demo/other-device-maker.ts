// The other phone maker `carkey demo` acts as in share-cross-platform: the
// emulated one `npm start` and `npm run deploy:local` keep under
// `<data dir>/keys/` (src/adapters/local-server/emulated-device-maker.ts),
// whose Device OEM root those deployments are configured to trust. Only
// opened, never made here: a maker the deployment does not trust would not
// show anything.

import { SoftKeyStoreError } from "../../adapters/kms/errors.js";
import { openEmulatedDeviceMaker } from "../../adapters/local-server/emulated-device-maker.js";
import { factoryAttesterFromFile } from "../../emulator/secure-element/factory-attester-file.js";
import type { OtherDeviceMaker } from "./demo-story.js";

/** The emulated maker under `keysDir`, or undefined when none was set up there. */
export async function otherDeviceMakerIn(keysDir: string): Promise<OtherDeviceMaker | undefined> {
  let maker: Awaited<ReturnType<typeof openEmulatedDeviceMaker>>;
  try {
    maker = await openEmulatedDeviceMaker(keysDir, { create: false });
  } catch (error) {
    if (error instanceof SoftKeyStoreError) return undefined;
    throw error;
  }
  return {
    rootPem: maker.rootPem,
    manufacturer: factoryAttesterFromFile(maker.manufacturerKeyFile).attester,
    certifyInstanceCa: (factoryAttestation) => maker.certifyInstanceCa(factoryAttestation),
  };
}
