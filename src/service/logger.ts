// The one logger of the cloud service (docs/architecture.md "Conventions": never
// log key material, secrets, invitation plaintext or APDU payloads). One JSON
// object per line, so CloudWatch Logs Insights can query it:
//
//   {"level":"INFO","message":"request served","timestamp":"…","service":"carkeys",
//    "cold_start":true,"function_name":"…","function_request_id":"…","xray_trace_id":"…","route":"…","status":201}
//
// The invocation's fields come from withInvocationLogContext
// (src/service/http/invocation-log-context.ts), kept in an AsyncLocalStorage
// so the local server's concurrent requests never share them. What may be
// logged is decided here and at the call sites: identifiers, outcomes and
// error classes; never key material, passwords, pairing verifiers,
// signatures or request bodies (no call site logs an event).
//
// The level is LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL or SILENT;
// default INFO), read when this module loads. When Lambda's advanced logging
// controls set a stricter AWS_LAMBDA_LOG_LEVEL, that one applies, since Lambda
// would drop the other lines anyway. WARN and above go to stderr, the rest to
// stdout, written whole with one write() each: in Lambda both streams reach
// the function's log unprefixed (console.log there adds a text prefix).
//
// Our own rather than a logging library: this is all the service uses, in
// under 3 KB of every bundle (docs/toolchain.md "Lambda bundles").
import { AsyncLocalStorage } from "node:async_hooks";

const LEVELS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Plain JSON values only: the call sites pass identifiers, outcomes and error names. */
export type LogAttributes = Readonly<Record<string, unknown>>;

/** What the log knows of the invocation it is written in. */
export interface InvocationLogFields {
  readonly cold_start: boolean;
  readonly function_name?: string;
  readonly function_request_id?: string;
  readonly xray_trace_id?: string;
}

const SERVICE_NAME = "carkeys";

/** `name`'s level, or undefined for an unset or unknown name. */
function levelNamed(name: string | undefined): LogLevel | undefined {
  const upper = name?.trim().toUpperCase();
  return upper && upper in LEVELS ? (upper as LogLevel) : undefined;
}

/** The level `env` configures: LOG_LEVEL, or Lambda's AWS_LAMBDA_LOG_LEVEL where that is stricter. */
export function configuredLogLevel(env: Readonly<Record<string, string | undefined>>): {
  readonly level: LogLevel;
  readonly unknown?: string;
} {
  const configured = levelNamed(env.LOG_LEVEL);
  const lambda = levelNamed(env.AWS_LAMBDA_LOG_LEVEL);
  let level: LogLevel = configured ?? "INFO";
  if (lambda && LEVELS[lambda] > LEVELS[level]) level = lambda;
  const unknown =
    env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== "" && !configured ? env.LOG_LEVEL : undefined;
  return unknown === undefined ? { level } : { level, unknown };
}

export class Logger {
  readonly level: LogLevel;
  readonly #threshold: number;
  readonly #invocation = new AsyncLocalStorage<InvocationLogFields>();

  constructor(level: LogLevel) {
    this.level = level;
    this.#threshold = LEVELS[level];
  }

  debug(message: string, attributes?: LogAttributes): void {
    this.#write("DEBUG", message, attributes);
  }

  info(message: string, attributes?: LogAttributes): void {
    this.#write("INFO", message, attributes);
  }

  warn(message: string, attributes?: LogAttributes): void {
    this.#write("WARN", message, attributes);
  }

  error(message: string, attributes?: LogAttributes): void {
    this.#write("ERROR", message, attributes);
  }

  /** Runs `work` with `fields` on every line it logs, however it interleaves with other work. */
  runInInvocation<T>(fields: InvocationLogFields, work: () => T): T {
    return this.#invocation.run(fields, work);
  }

  #write(level: Exclude<LogLevel, "SILENT">, message: string, attributes: LogAttributes | undefined): void {
    if (LEVELS[level] < this.#threshold) return;
    const line = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: SERVICE_NAME,
      ...this.#invocation.getStore(),
      ...attributes,
    };
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      // A cycle or a BigInt in the attributes: the line still says what happened.
      text = JSON.stringify({ level, message, timestamp: line.timestamp, service: SERVICE_NAME });
    }
    (LEVELS[level] >= LEVELS.WARN ? process.stderr : process.stdout).write(`${text}\n`);
  }
}

const configured = configuredLogLevel(process.env);

export const logger = new Logger(configured.level);

if (configured.unknown !== undefined) {
  logger.warn("LOG_LEVEL is not a level; logging at INFO", {
    given: configured.unknown.slice(0, 40),
    levels: Object.keys(LEVELS),
  });
}
