// Debian's Chromium (/usr/bin/chromium, installed by scripts/install-browser.sh)
// for the tests that open a page in a real browser, driven by playwright-core.
// Absent locally, those tests are skipped with a note; under CI they must run,
// as test/support/kms-emulator.ts does for the KMS emulator.
import { existsSync } from "node:fs";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_MISSING = `${CHROMIUM_PATH} is not installed: run scripts/install-browser.sh`;

/** Whether the browser tests can run; throws under CI when they cannot. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM_MISSING} (CI must run the browser tests)`);
  console.warn(`note: ${CHROMIUM_MISSING}; browser tests are skipped`);
  return false;
}
