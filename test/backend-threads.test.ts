// Two wasm threads: the setting is validated, the threaded build really starts the threads,
// computes the same numbers as one thread, and lets the process exit by itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_WASM_THREADS, requestedWasmThreads } from "../lib/src/backend/index";

test("FMNIST_WASM_THREADS: auto is one per core (at most 8); bad values are named with the valid ones", () => {
  assert.equal(requestedWasmThreads({}), Math.min(MAX_WASM_THREADS, os.cpus().length));
  assert.equal(requestedWasmThreads({ FMNIST_WASM_THREADS: "auto" }), Math.min(MAX_WASM_THREADS, os.cpus().length));
  assert.equal(requestedWasmThreads({ FMNIST_WASM_THREADS: " 2 " }), 2);
  for (const bad of ["0", "9", "two", "1.5", ""]) {
    assert.throws(() => requestedWasmThreads({ FMNIST_WASM_THREADS: bad }), /FMNIST_WASM_THREADS = .*auto .* 1 to 8/, bad);
  }
});

const CHILD = `
const tf = require("@tensorflow/tfjs");
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
(async () => {
  const info = await initBackend("wasm");
  const x = tf.randomNormal([8, 20, 20, 16], 0, 1, "float32", 1);
  const w = tf.randomNormal([3, 3, 16, 32], 0, 1, "float32", 2);
  const dy = tf.randomNormal([8, 20, 20, 32], 0, 1, "float32", 3);
  const [gx, gw] = tf.grads((a, b) => tf.conv2d(a, b, 1, "same"))([x, w], dy);
  const y = tf.conv2d(x, w, 1, "same");
  console.log("@@" + JSON.stringify({ threads: info.threads, y: Array.from(y.dataSync().slice(0, 64)), gx: Array.from(gx.dataSync().slice(0, 64)), gw: Array.from(gw.dataSync().slice(0, 64)) }));
})();
`;

function runChild(threads: string): { threads: number; y: number[]; gx: number[]; gw: number[] } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", CHILD], {
    env: { ...process.env, FMNIST_WASM_THREADS: threads },
    encoding: "utf8",
    timeout: 60_000, // a worker keeping the process alive would hit this
  });
  assert.equal(r.status, 0, `child with ${threads} thread(s) exited with ${r.status} ${r.signal ?? ""}: ${r.stderr}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@"));
  assert.ok(line, `no result from the child: ${r.stdout}`);
  return JSON.parse(line.slice(2));
}

test("two wasm threads start, match one thread's results and exit on their own", () => {
  const one = runChild("1");
  const two = runChild("2");
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  for (const k of ["y", "gx", "gw"] as const) {
    const scale = Math.max(...one[k].map(Math.abs));
    const diff = Math.max(...one[k].map((v, i) => Math.abs(v - two[k][i])));
    assert.ok(diff <= 1e-5 * scale, `${k}: max difference ${diff}`);
  }
});
