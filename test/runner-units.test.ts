// Unit tests of the runner's parts that need no kernel: arguments, output conversion, error synthesis,
// signature filtering, the kernelspec installer.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHmac } from "node:crypto";
import * as zmq from "zeromq";
import { Socket as JmpSocket } from "enchannel-zmq-backend/lib/jmp";
import type { JupyterMessage } from "@nteract/messaging";
import { envKey, globToRegExp, parseArgs } from "../scripts/runner/args";
import { OutputCollector, synthesizeError, toLines } from "../scripts/runner/nbformat";
import { freeLoopbackPorts, isVerifiedMessage } from "../scripts/runner/kernel-client";
import { keyMetrics } from "../scripts/runner/summary";
import { selectNotebooks } from "../scripts/run-notebooks";
import { installKernelSpec, kernelSpec, kernelSpecDir, uninstallKernelSpec, userJupyterDataDir } from "../scripts/kernel";

function msg(type: string, content: Record<string, unknown>): JupyterMessage {
  return {
    header: { msg_id: Math.random().toString(36), msg_type: type, username: "u", session: "s", date: "", version: "5.3" },
    parent_header: {},
    metadata: {},
    content,
    channel: "iopub",
  } as unknown as JupyterMessage;
}

test("--set keys become FMNIST_* variables; bad input is rejected with a clear message", () => {
  assert.equal(envKey("epochs"), "FMNIST_EPOCHS");
  assert.equal(envKey("trainSize"), "FMNIST_TRAIN_SIZE");
  assert.equal(envKey("FMNIST_BATCH_SIZE"), "FMNIST_BATCH_SIZE");
  assert.throws(() => envKey("no spaces"), /not a parameter name/);
  const o = parseArgs(["--profile", "full", "--set", "EPOCHS=3", "--set=backend=wasm", "01*", "--keep-going"], {}, "/repo");
  assert.equal(o.profile, "full");
  assert.deepEqual(o.overrides, { FMNIST_EPOCHS: "3", FMNIST_BACKEND: "wasm" });
  assert.deepEqual(o.selectors, ["01*"]);
  assert.equal(o.keepGoing, true);
  assert.ok(o.cellTimeoutSec > parseArgs([], {}, "/repo").cellTimeoutSec, "full profile has more generous defaults");
  assert.throws(() => parseArgs(["--profile", "huge"], {}, "/repo"), /quick or full/);
  assert.throws(() => parseArgs(["--cell-timeout", "-1"], {}, "/repo"), /positive number/);
  assert.throws(() => parseArgs(["--frobnicate"], {}, "/repo"), /unknown option/);
  assert.throws(() => parseArgs(["--set", "PROFILE=full"], {}, "/repo"), /--profile/);
  assert.equal(parseArgs([], { FMNIST_PROFILE: "full" }, "/repo").profile, "full");
  assert.equal(parseArgs([], {}, "/repo").jobs, 1);
  assert.equal(parseArgs(["--jobs", "3"], {}, "/repo").jobs, 3);
  assert.equal(parseArgs(["--jobs=auto"], {}, "/repo").jobs, Math.max(1, Math.min(4, os.cpus().length)));
  for (const bad of ["0", "17", "two", "1.5"]) assert.throws(() => parseArgs(["--jobs", bad], {}, "/repo"), /--jobs must be auto or a whole number from 1 to 16/, bad);
});

test("notebooks are selected by name, prefix, glob or path, in file-name order", () => {
  const dir = path.resolve(__dirname, "fixtures", "notebooks");
  const names = (sel: string[]) => selectNotebooks(sel, dir).map((f) => path.basename(f));
  assert.deepEqual(names([]), ["hangs.ipynb", "kernel-dies.ipynb", "ok.ipynb", "throws.ipynb"]);
  assert.deepEqual(names(["throws", "ok"]), ["ok.ipynb", "throws.ipynb"]);
  assert.deepEqual(names(["kern"]), ["kernel-dies.ipynb"]);
  assert.deepEqual(names(["*s"]), ["hangs.ipynb", "kernel-dies.ipynb", "throws.ipynb"]);
  assert.deepEqual(names([path.join(dir, "ok.ipynb")]), ["ok.ipynb"]);
  assert.throws(() => selectNotebooks(["nope"], dir), /no notebook matches "nope".*available: hangs\.ipynb/);
});

test("globs select notebooks by name", () => {
  assert.ok(globToRegExp("0[1-3]*").test("02-preprocess"));
  assert.ok(!globToRegExp("0[1-3]*").test("04-dense"));
  assert.ok(globToRegExp("01-explore").test("01-explore"));
  assert.ok(!globToRegExp("01.explore").test("01-explore"), "dots are literal");
});

test("outputs: streams merge, display updates replace by display_id, clear_output(wait) clears at the next output", () => {
  const c = new OutputCollector();
  c.add(msg("stream", { name: "stdout", text: "a\n" }));
  c.add(msg("stream", { name: "stdout", text: "b\n" }));
  c.add(msg("display_data", { data: { "text/plain": "v1" }, metadata: {}, transient: { display_id: "d1" } }));
  c.add(msg("stream", { name: "stderr", text: "warn\n" }));
  c.add(msg("update_display_data", { data: { "text/plain": "v2" }, metadata: {}, transient: { display_id: "d1" } }));
  c.add(msg("status", { execution_state: "idle" }));
  assert.deepEqual(c.finalOutputs(), [
    { output_type: "stream", name: "stdout", text: ["a\n", "b\n"] },
    { output_type: "display_data", data: { "text/plain": "v2" }, metadata: {} },
    { output_type: "stream", name: "stderr", text: ["warn\n"] },
  ]);
  assert.equal(c.stderr, "warn\n");
  c.add(msg("clear_output", { wait: true }));
  assert.equal(c.outputs.length, 3, "wait: kept until the next output");
  c.add(msg("execute_result", { data: { "text/plain": "3" }, metadata: {}, execution_count: 7 }));
  assert.deepEqual(c.outputs, [{ output_type: "execute_result", data: { "text/plain": "3" }, metadata: {}, execution_count: 7 }]);
  assert.deepEqual(toLines("x\ny"), ["x\n", "y"]);
});

test("tslab's stderr becomes an error output: runtime errors and compile errors", () => {
  const runtime = synthesizeError(
    "evalmachine.<anonymous>:6\n    throw new RangeError(\"bad: value\");\n    ^\n\nRangeError: bad: value\n    at evalmachine.<anonymous>:6:11\n",
  );
  assert.equal(runtime.ename, "RangeError");
  assert.equal(runtime.evalue, "bad: value");
  assert.equal(runtime.traceback[0], "evalmachine.<anonymous>:6");
  const compile = synthesizeError("1:7 - Type 'number' is not assignable to type 'string'.\n");
  assert.equal(compile.ename, "TypeScriptCompileError");
  assert.match(compile.evalue, /^1:7 - Type 'number'/);
  const unknown = synthesizeError("");
  assert.equal(unknown.ename, "CellError");
  assert.match(unknown.evalue, /without a message/);
});

test("key metrics prefer test accuracies", () => {
  assert.deepEqual(Object.keys(keyMetrics({ "a.val_loss": 1, "rows.train": 5, "a.test_acc": 0.9, "a.val_acc": 0.8, "b.test_acc": 0.7 })), [
    "a.test_acc",
    "b.test_acc",
    "a.val_acc",
  ]);
});

test("free loopback ports are distinct", async () => {
  const ports = await freeLoopbackPorts(5);
  assert.equal(new Set(ports).size, 5);
  assert.ok(ports.every((p) => p > 0 && p < 65536));
});

test("messages with a bad signature reach the filter undecoded and are dropped", async () => {
  const key = "right-key";
  const [port] = await freeLoopbackPorts(1);
  const pub = new zmq.Publisher();
  await pub.bind(`tcp://127.0.0.1:${port}`);
  const sub = new JmpSocket("sub", "sha256", key);
  const seen: unknown[] = [];
  sub.on("message", (m: unknown) => seen.push(m));
  sub.connect(`tcp://127.0.0.1:${port}`);
  sub.subscribe("");
  const frames = (signKey: string, id: string) => {
    const parts = [JSON.stringify({ msg_id: id, msg_type: "stream", username: "k", session: "s", date: "", version: "5.3" }), "{}", "{}", JSON.stringify({ name: "stdout", text: id })];
    const h = createHmac("sha256", signKey);
    parts.forEach((p) => h.update(p));
    return ["topic", "<IDS|MSG>", h.digest("hex"), ...parts];
  };
  try {
    // PUB/SUB drops messages until the subscription has propagated: repeat until both a good and a forged one
    // have arrived (stopping at the first good one could miss every forged one; a loaded machine needs seconds).
    const deadline = Date.now() + 15_000;
    for (let i = 0; Date.now() < deadline && !(seen.some(isVerifiedMessage) && seen.some((m) => !isVerifiedMessage(m))); i++) {
      await pub.send(frames("wrong-key", `forged-${i}`));
      await pub.send(frames(key, `good-${i}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    const verified = seen.filter(isVerifiedMessage);
    assert.ok(verified.length > 0, "a correctly signed message gets through");
    assert.ok(verified.every((m) => m.header.msg_id.startsWith("good-")), "no forged message passes the filter");
    assert.ok(seen.some((m) => !isVerifiedMessage(m)), "forged messages were received and rejected");
  } finally {
    sub.close();
    pub.close();
  }
});

test("kernelspec: argv runs this checkout's tslab with node; install is idempotent; uninstall removes it", () => {
  const spec = kernelSpec("/repo", "/usr/bin/node");
  assert.deepEqual(spec.argv, ["/usr/bin/node", "/repo/node_modules/tslab/bin/tslab", "kernel", "--config-path", "{connection_file}"]);
  assert.equal(spec.language, "typescript");
  assert.equal(userJupyterDataDir({ JUPYTER_DATA_DIR: "/x/j" }, "linux", "/home/u"), "/x/j");
  assert.equal(userJupyterDataDir({}, "linux", "/home/u"), "/home/u/.local/share/jupyter");
  assert.equal(userJupyterDataDir({}, "darwin", "/Users/u"), "/Users/u/Library/Jupyter");
  assert.equal(userJupyterDataDir({ APPDATA: "C:\\AppData" }, "win32", "C:\\u"), path.join("C:\\AppData", "jupyter"));

  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-kernelspec-"));
  try {
    const first = installKernelSpec({ prefix });
    assert.equal(first.dir, path.join(prefix, "share", "jupyter", "kernels", "fmnist-tslab"));
    assert.equal(first.changed, true);
    const written = JSON.parse(fs.readFileSync(path.join(first.dir, "kernel.json"), "utf8")) as { argv: string[] };
    assert.equal(written.argv[0], process.execPath);
    assert.ok(fs.existsSync(written.argv[1]), "the tslab script it names exists");
    assert.equal(installKernelSpec({ prefix }).changed, false);
    assert.deepEqual(fs.readdirSync(first.dir), ["kernel.json"], "no temp files left");
    assert.equal(kernelSpecDir({ env: { JUPYTER_DATA_DIR: "/j" } }), path.join("/j", "kernels", "fmnist-tslab"));
    assert.equal(uninstallKernelSpec({ prefix }).removed, true);
    assert.equal(fs.existsSync(first.dir), false);
    assert.equal(uninstallKernelSpec({ prefix }).removed, false);
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});
