// CreateMailbox's `mailboxConfiguration` (draft-vinokurov-tigress-http-00
// §6.1.5) turned into what the relay enforces, with the choices its §5 list
// leaves open (docs/relay.md "Choices where the draft is ambiguous" items 4 and 5):
// - accessRights say what the Recipient may do (R read, W update, D delete).
//   The Initiator created the mailbox and may always do all three: rights
//   that bound the Initiator too would let it lock itself out of its own
//   share. When accessRights is absent the Recipient gets RWD, not the
//   draft's stated default RD: with RD nobody but the Initiator could write
//   and the draft's own multi-round flow (§3.2, §4.3) could not run. An
//   explicit value is enforced as given.
// - expiration may be absent (then 24 hours), must parse as an RFC 3339
//   instant with a real calendar date, must be in the future, and is
//   shortened to 7 days ahead at most rather than refused, so a client
//   asking for more still works; the instant in force is returned by
//   Create (an added field) and by every ReadSecureContent.
import { ValidationError } from "../errors.js";

export interface LifetimeLimits {
  /** Lifetime when the client gives no expiration. */
  readonly defaultLifetimeMs: number;
  /** Longest lifetime; a later expiration is shortened to this. */
  readonly maxLifetimeMs: number;
}

export const DEFAULT_LIFETIME_LIMITS: LifetimeLimits = {
  defaultLifetimeMs: 24 * 3600_000,
  maxLifetimeMs: 7 * 24 * 3600_000,
};

const RIGHTS_ORDER = "RWD";

/** The Recipient's rights in canonical order ("RWD", "RD", …); RWD when absent. */
export function recipientRights(accessRights: string | undefined): string {
  if (accessRights === undefined) return RIGHTS_ORDER;
  const letters = accessRights.toUpperCase();
  if (!/^[RWD]{1,3}$/.test(letters) || new Set(letters).size !== letters.length) {
    throw new ValidationError("accessRights must be R, W and D, each at most once (e.g. RWD)", [
      { path: "body.mailboxConfiguration.accessRights", message: "letters R, W, D, each at most once" },
    ]);
  }
  return [...RIGHTS_ORDER].filter((right) => letters.includes(right)).join("");
}

export function hasRight(rights: string, right: "R" | "W" | "D"): boolean {
  return rights.includes(right);
}

const EXPIRATION_PATH = "body.mailboxConfiguration.expiration";

/** The expiration in force, RFC 3339 UTC in whole seconds. */
export function resolveExpiration(
  requested: string | undefined,
  now: Date,
  limits: LifetimeLimits = DEFAULT_LIFETIME_LIMITS,
): string {
  const nowMs = now.getTime();
  if (requested === undefined) return utcSeconds(nowMs + limits.defaultLifetimeMs);
  const at = parseRfc3339(requested);
  if (at === undefined) {
    throw new ValidationError("expiration is not a valid RFC 3339 date-time", [
      { path: EXPIRATION_PATH, message: "not a valid date-time, e.g. 2024-01-11T10:00:00Z" },
    ]);
  }
  const seconds = Math.floor(at / 1000) * 1000;
  if (seconds <= nowMs) {
    throw new ValidationError("expiration must be in the future", [
      { path: EXPIRATION_PATH, message: "must be later than now" },
    ]);
  }
  return utcSeconds(Math.min(seconds, nowMs + limits.maxLifetimeMs));
}

/** `2024-01-11T10:00:00Z`: the draft's format, which is also what reads return. */
export function utcSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Epoch milliseconds of an RFC 3339 date-time, or undefined when a field is out of range (Feb 30, 24:00). */
export function parseRfc3339(text: string): number | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(
      text,
    );
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  // A leap second (:60) is refused rather than guessed at.
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (match[8] !== undefined) {
    const offsetHours = Number(match[9]);
    const offsetMins = Number(match[10]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (match[8] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const fraction = match[7] ? Number(match[7]) * 1000 : 0;
  return Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(fraction) - offsetMinutes * 60_000;
}
