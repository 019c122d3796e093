// The generic core of an applet on the emulated SE: both applets (Digital
// Key, pairing framework) extend it with a command table keyed by CLA/INS. The core parses the command APDU, dispatches it, turns a thrown error
// into its status word and ends the session, and, when the applet asks for
// it, chains long answers with GET RESPONSE (src/protocol/response-chaining.ts).
// An applet never throws to the reader: a protocol error (bad TLV, bad point,
// bad MAC, a signature that does not verify) ends the session with its
// status; anything else is a bug that still must not crash the card.
import { type CommandApdu, encodeResponse, parseCommand } from "../../protocol/apdu.js";
import { ProtocolError, SecureMessagingError, VerificationError } from "../../protocol/errors.js";
import { INS_GET_RESPONSE, ResponseChain } from "../../protocol/response-chaining.js";
import { SW } from "../../protocol/status-words.js";

/** What a command answers; `endsSession` resets the applet before the answer goes out. */
export interface AppletAnswer {
  readonly sw: number;
  readonly data?: Uint8Array;
  readonly endsSession?: boolean;
}

export interface AppletCommand {
  readonly cla: number;
  readonly ins: number;
  run(command: CommandApdu): AppletAnswer | Promise<AppletAnswer>;
}

export interface AppletDefinition {
  readonly commands: readonly AppletCommand[];
  /**
   * The classes this applet speaks: a command of another class answers 6E00. Without the list,
   * every command not in the table answers 6D00.
   */
  readonly classes?: readonly number[];
  /** Successful answers longer than one short response go out in chunks fetched with GET RESPONSE. */
  readonly chainsResponses?: boolean;
  /** Drops the applet's session state (the RF field dropped, a refusal, a new SELECT). */
  readonly resetSession: () => void;
}

export function ok(data?: Uint8Array): AppletAnswer {
  return data ? { sw: SW.OK, data } : { sw: SW.OK };
}

/** An answer that ends the session: whatever the transaction had built is gone. */
export function refuse(sw: number): AppletAnswer {
  return { sw, endsSession: true };
}

/** The status word for an error that ended a command. */
export function statusForError(error: unknown): number {
  if (error instanceof SecureMessagingError) return SW.SM_DATA_INCORRECT;
  if (error instanceof VerificationError) return SW.VERIFICATION_FAILED;
  if (error instanceof ProtocolError) return SW.WRONG_DATA;
  return SW.UNKNOWN;
}

const key = (cla: number, ins: number) => (cla << 8) | ins;

export abstract class ApduApplet {
  /** The applet's table and options; read at the first command, once the subclass has built it. */
  protected abstract readonly definition: AppletDefinition;
  #commands: Map<number, AppletCommand> | undefined;
  readonly #chain = new ResponseChain();

  /** Whether part of a chained answer still waits for GET RESPONSE. */
  get responsePending(): boolean {
    return this.#chain.pending;
  }

  /** Ends the session: the RF field dropped, a refusal, a new SELECT. */
  reset(): void {
    this.#chain.clear();
    this.definition.resetSession();
  }

  /** One command APDU in, one response APDU out; never rejects. */
  async process(bytes: Uint8Array): Promise<Uint8Array> {
    let command: CommandApdu;
    try {
      command = parseCommand(bytes);
    } catch {
      this.reset();
      return encodeResponse({ sw: SW.WRONG_LENGTH, data: new Uint8Array(0) });
    }
    if (this.definition.chainsResponses && command.cla === 0x00 && command.ins === INS_GET_RESPONSE) {
      return encodeResponse(this.#chain.next());
    }
    let answer: AppletAnswer;
    try {
      answer = await this.dispatch(command);
    } catch (error) {
      answer = refuse(statusForError(error));
    }
    if (answer.endsSession) this.reset();
    const data = answer.data ?? new Uint8Array(0);
    if (this.definition.chainsResponses && answer.sw === SW.OK)
      return encodeResponse(this.#chain.start(data));
    return encodeResponse({ sw: answer.sw, data });
  }

  private dispatch(c: CommandApdu): AppletAnswer | Promise<AppletAnswer> {
    this.#commands ??= new Map(
      this.definition.commands.map((command) => [key(command.cla, command.ins), command]),
    );
    const command = this.#commands.get(key(c.cla, c.ins));
    if (command) return command.run(c);
    const classes = this.definition.classes;
    if (classes && !classes.includes(c.cla)) return { sw: SW.CLA_NOT_SUPPORTED };
    return { sw: SW.INS_NOT_SUPPORTED };
  }
}
