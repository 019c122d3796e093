// The OS's user authentication (Face ID, passcode) as the SE sees it: fresh
// for a short window after it succeeded, and used up by the one operation it
// was asked for — a transaction of a non-express key, or a share.

/** How long a user authentication stays fresh for a non-express key. */
export const USER_AUTH_WINDOW_MS = 60_000;

export class UserAuthentication {
  #until = 0;

  constructor(private readonly now: () => number) {}

  succeeded(): void {
    this.#until = this.now() + USER_AUTH_WINDOW_MS;
  }

  get fresh(): boolean {
    return this.now() <= this.#until;
  }

  /** A fresh authentication covers one operation. */
  consume(): void {
    this.#until = 0;
  }
}
