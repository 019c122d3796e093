// A device command that breaks the hex line protocol on purpose, for the
// reader side's tests: `node misbehaving-device.mjs <mode> <pid-file>`.
// It writes its own pid (and that of any helper it starts) to <pid-file>, one
// per line, so a test can check that nothing of it is left running.
// Plain JavaScript, no tsx: it starts fast and depends on nothing.
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";

const [mode, pidFile] = process.argv.slice(2);
if (pidFile) appendFileSync(pidFile, `${process.pid}\n`);

/** Calls `answer` with each complete input line (LF-terminated). */
function onLines(answer) {
  let buffered = "";
  process.stdin.on("data", (chunk) => {
    buffered += chunk.toString("latin1");
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      answer(line);
      newline = buffered.indexOf("\n");
    }
  });
}

/** Writes `A` forever without a newline, as fast as the reader takes it. */
function flood() {
  const chunk = Buffer.alloc(1 << 16, 0x41);
  const more = () => {
    while (process.stdout.write(chunk));
    process.stdout.once("drain", more);
  };
  more();
}

/** Stays alive whatever happens to its input, and ignores SIGTERM. */
function linger() {
  process.on("SIGTERM", () => {});
  setInterval(() => {}, 60_000);
}

switch (mode) {
  case "flood":
    onLines(() => flood());
    break;
  case "over-limit":
    // 70,000 bytes: longer than any legal response APDU.
    onLines(() => process.stdout.write(`${"AB".repeat(70_000)}\n`));
    break;
  case "long-answer":
    // 35,000 bytes (a 70,000-character line) ending in 9000: legal length, wrong content.
    onLines(() => process.stdout.write(`${"AB".repeat(34_999)}9000\n`));
    break;
  case "not-hex":
    onLines(() => process.stdout.write("hello\n"));
    break;
  case "odd":
    onLines(() => process.stdout.write("900\n"));
    break;
  case "blank":
    onLines(() => process.stdout.write("\r\n"));
    break;
  case "unasked":
    // A good SELECT answer, then a second line in the same write that no command asked for.
    onLines(() => process.stdout.write("5C04020001009000\n9000\n"));
    break;
  case "exit":
    onLines(() => {
      process.stderr.write("the device broke down\n");
      process.exit(3);
    });
    break;
  case "silent":
    // Reads every command, answers none, ignores the end of its input and SIGTERM, and has a helper.
    {
      const helper = spawn(process.execPath, ["-e", "setInterval(() => {}, 60000)"], { stdio: "ignore" });
      if (pidFile) appendFileSync(pidFile, `${helper.pid}\n`);
      onLines(() => {});
      linger();
    }
    break;
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(2);
}
