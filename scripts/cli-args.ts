// The scripts' shared command-line reading: "--flag value", "--flag=value" and positional arguments, one at a time.

/** One argument: its flag (or the positional text) and, for a flag that takes one, its value. */
export interface Arg {
  flag: string;
  /** The flag's value: after "=" or the next argument; throws "<flag> needs a value." when there is none. */
  value(): string;
}

/** The arguments in order; calling `value()` consumes the next argument when the value was not given inline. */
export function* readArgs(argv: readonly string[]): Generator<Arg> {
  let i = 0;
  while (i < argv.length) {
    const [flag, inline] = argv[i].startsWith("--") ? (argv[i].split(/=(.*)/s, 2) as [string, string | undefined]) : [argv[i], undefined];
    yield {
      flag,
      value: () => {
        const v = inline ?? argv[++i];
        if (v === undefined || v === "" || v.startsWith("--")) throw new Error(`${flag} needs a value.`);
        return v;
      },
    };
    i++;
  }
}
