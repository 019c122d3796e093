// The deployment secret of device pseudonyms, injected in tests: fresh random bytes per service.
import { randomBytes } from "node:crypto";
import { SoftMacKey } from "../../src/adapters/kms/mac-keys.js";

export function testMacKey(): SoftMacKey {
  return new SoftMacKey(randomBytes(32));
}
