// The owner-pairing password's default scrypt cost, in a module of its own so
// that the CLI can show it in `--help` without loading the curve and hash code
// of pairing-password.ts.

/** RFC 9383 §3.2's suggested scrypt cost; 32 MiB and about a tenth of a second. */
export const DEFAULT_SCRYPT_COST: Readonly<{ N: number; r: number; p: number }> = Object.freeze({
  N: 32768,
  r: 8,
  p: 1,
});
