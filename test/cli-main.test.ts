// The scripts' shared entry point (scripts/cli-main.ts): exit codes and the one line each failure prints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCommand, type Command } from "../scripts/cli-main";

class Refusal extends Error {}

function recorder(): { log: (t: string) => void; error: (t: string) => void; logs: string[]; errors: string[] } {
  const logs: string[] = [];
  const errors: string[] = [];
  return { log: (t) => logs.push(t), error: (t) => errors.push(t), logs, errors };
}

const command = (run: (n: number) => Promise<number>): Command<number> => ({
  name: "probe",
  usage: "usage: probe N",
  parse: (argv) => {
    if (argv[0] === "--help") return "help";
    const n = Number(argv[0]);
    if (!Number.isInteger(n)) throw new Error(`N must be a whole number, got "${argv[0]}"`);
    return n;
  },
  run,
  refusal: { type: Refusal, prefix: "probe refused" },
});

test("runCommand: the command's own exit code, --help, and a usage error with the usage", async () => {
  const out = recorder();
  assert.equal(await runCommand(command(async (n) => n), ["3"], out), 3);
  assert.equal(await runCommand(command(async () => 0), ["--help"], out), 0);
  assert.deepEqual(out.logs, ["usage: probe N"]);
  assert.equal(await runCommand(command(async () => 0), ["x"], out), 2);
  assert.deepEqual(out.errors, ['probe: N must be a whole number, got "x"\n\nusage: probe N']);
});

test("runCommand: a refusal exits 2 and a plain error 1, each as one line; a programming error shows its stack", async () => {
  const out = recorder();
  assert.equal(await runCommand(command(async () => { throw new Refusal("shards of two runs"); }), ["1"], out), 2);
  assert.equal(await runCommand(command(async () => { throw new Error("no results in /tmp/x"); }), ["1"], out), 1);
  assert.deepEqual(out.errors, ["probe refused: shards of two runs", "probe: no results in /tmp/x"]);
  assert.equal(await runCommand(command(async () => { throw new TypeError("x is undefined"); }), ["1"], out), 1);
  assert.match(out.errors[2], /^TypeError: x is undefined\n\s+at /);
});
