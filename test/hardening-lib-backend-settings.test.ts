// Issue 16, item 4: invalid FMNIST_WASM_THREADS / FMNIST_WASM_KERNELS are errors under every backend
// request (under "auto" they used to become a silent fallback to the pure-JS cpu backend), and
// "auto" falls back only when a backend genuinely cannot start, saying so in the backend line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { resolveConfig, wasmSettings } from "../lib/src/config";
import { initBackend } from "../lib/src/backend/index";

const BAD: Array<[string, string, RegExp]> = [
  ["FMNIST_WASM_THREADS", "0", /FMNIST_WASM_THREADS = "0": use auto .* 1 to 8/],
  ["FMNIST_WASM_THREADS", "99", /FMNIST_WASM_THREADS = "99"/],
  ["FMNIST_WASM_THREADS", "abc", /FMNIST_WASM_THREADS = "abc"/],
  ["FMNIST_WASM_KERNELS", "turbo", /FMNIST_WASM_KERNELS = "turbo": choose fast .* or minimal/],
];

test("resolveConfig rejects invalid wasm settings up front, naming the variable and the valid values", () => {
  for (const [name, value, pattern] of BAD) {
    assert.throws(() => resolveConfig({ [name]: value }), pattern, `${name}=${value}`);
  }
  assert.deepEqual(wasmSettings({ FMNIST_WASM_THREADS: " 3 ", FMNIST_WASM_KERNELS: "minimal" }), { threads: 3, kernels: "minimal" });
  assert.deepEqual(wasmSettings({}, 16), { threads: 8, kernels: "fast" });
  assert.doesNotThrow(() => resolveConfig({ FMNIST_WASM_THREADS: "auto", FMNIST_WASM_KERNELS: "fast" }));
});

test("initBackend rejects invalid wasm settings under every request, auto included (no silent cpu fallback)", async () => {
  const saved = { t: process.env.FMNIST_WASM_THREADS, k: process.env.FMNIST_WASM_KERNELS };
  try {
    for (const [name, value, pattern] of BAD) {
      delete process.env.FMNIST_WASM_THREADS;
      delete process.env.FMNIST_WASM_KERNELS;
      process.env[name] = value;
      for (const request of ["auto", "wasm", "cpu"] as const) {
        await assert.rejects(initBackend(request), pattern, `${request} with ${name}=${value}`);
      }
    }
  } finally {
    for (const [k, v] of [["FMNIST_WASM_THREADS", saved.t], ["FMNIST_WASM_KERNELS", saved.k]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

// A child in which the wasm backend's files cannot be found: a genuinely unavailable backend. Native
// TensorFlow is hidden too, as on a machine without it (after npm run native, auto would pick it).
const NO_WASM_CHILD = `
const Module = require("node:module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (String(request).endsWith("tfjs-backend-wasm.wasm")) throw new Error("Cannot find module '" + request + "' (removed by the test)");
  if (["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"].some((p) => request === p || String(request).startsWith(p + "/"))) throw new Error("Cannot find module '" + request + "' (hidden by the test)");
  return resolve.call(this, request, ...rest);
};
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
initBackend(process.argv[1]).then((info) => console.log("@@" + JSON.stringify(info)), (err) => { console.log("@@error " + err.message); });
`;

test("auto falls back to cpu only when wasm cannot start, and the backend line says so; a forced wasm fails", () => {
  const run = (request: string): { stdout: string; status: number | null } => {
    const env = { ...process.env };
    delete env.FMNIST_WASM_THREADS;
    delete env.FMNIST_WASM_KERNELS;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", NO_WASM_CHILD, request], { env, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  const auto = run("auto");
  const line = auto.stdout.split("\n").find((l) => l.startsWith("TensorFlow.js backend:"));
  assert.match(line ?? "", /backend: cpu .*auto: FALLBACK to pure JavaScript, several times slower: native TensorFlow unavailable .* wasm unavailable: its \.wasm file is not installed/);
  const forced = run("wasm");
  assert.match(forced.stdout, /@@error Backend "wasm" was requested but its \.wasm file is not installed .*npm ci/);
});
