// The scripts' shared entry point: a usage error exits 2 with the usage, --help prints it and exits 0, a
// refusal (an error a command raises on purpose when its inputs do not fit, e.g. shards of different runs)
// exits 2 with one line, and any other failure exits 1 with one line: "<command>: <message>". A
// programming error (TypeError, RangeError, …: anything but a plain Error or a refusal) prints its stack.

/** A script's command: how it reads its arguments and what it runs. */
export interface Command<O> {
  /** The name its error lines start with, e.g. "merge". */
  name: string;
  usage: string;
  /** The options, or "help"; throws a plain Error on a usage error. */
  parse(argv: string[]): O | "help";
  /** Runs the command; resolves to the exit code. */
  run(opts: O): Promise<number>;
  /** The command's refusal error type and the words its line starts with (e.g. "merge refused"). */
  refusal?: { type: abstract new (...args: never[]) => Error; prefix: string };
}

/** Where the entry point writes (the console, or a test's recorder). */
export interface CommandOutput {
  log(text: string): void;
  error(text: string): void;
}

/** Runs `cmd` on `argv`; resolves to the process's exit code. */
export async function runCommand<O>(cmd: Command<O>, argv: string[], out: CommandOutput = console): Promise<number> {
  let opts: O | "help";
  try {
    opts = cmd.parse(argv);
  } catch (err) {
    out.error(`${cmd.name}: ${err instanceof Error ? err.message : String(err)}\n\n${cmd.usage}`);
    return 2;
  }
  if (opts === "help") {
    out.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(opts);
  } catch (err) {
    if (cmd.refusal && err instanceof cmd.refusal.type) {
      out.error(`${cmd.refusal.prefix}: ${err.message}`);
      return 2;
    }
    const plain = err instanceof Error && (err.constructor === Error || !err.stack);
    out.error(plain ? `${cmd.name}: ${(err as Error).message}` : err instanceof Error ? (err.stack ?? String(err)) : `${cmd.name}: ${String(err)}`);
    return 1;
  }
}

/** The script's main: runs `cmd` on the process's arguments and sets the exit code (no process.exit: output is flushed). */
export function runMain<O>(cmd: Command<O>): void {
  void runCommand(cmd, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
