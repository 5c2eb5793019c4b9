// Every backend can run the library and the notebooks: on webgpu in Node, synchronous reads of GPU
// tensors (dataSync, arraySync, bufferSync) fail, so lib/src and the notebooks' code read tensors with
// await (lib/src/async-reads.ts). Comments and strings may name the calls; code may not, except in
// code that runs only on wasm (listed here with the reason).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readAndDispose } from "../lib/src/async-reads";
import * as tf from "@tensorflow/tfjs";

const ROOT = path.resolve(__dirname, "..");
const SYNC_READ = /\.(dataSync|arraySync|bufferSync)\s*\(/;

/** Files allowed a synchronous read, and why it cannot reach a GPU tensor. */
const WASM_ONLY: Record<string, string> = {
  "lib/src/backend/fused-adam.ts": "the fused step runs only when the backend is wasm (else upstream Adam)",
};

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** Code lines with comments removed (line comments and block-comment lines; enough for this codebase's style). */
function codeLines(text: string): string[] {
  return text.split("\n").map((l) => (/^\s*(\*|\/\*\*?|\/\/)/.test(l) ? "" : l.replace(/\/\/.*$/, "")));
}

function syncReads(file: string, lines: string[]): string[] {
  return lines.flatMap((l, i) => (SYNC_READ.test(l.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""')) ? [`${file}:${i + 1}: ${l.trim()}`] : []));
}

test("lib/src reads tensors asynchronously (wasm-only code excepted)", () => {
  const found = tsFiles(path.join(ROOT, "lib", "src")).flatMap((f) => {
    const rel = path.relative(ROOT, f).split(path.sep).join("/");
    return WASM_ONLY[rel] ? [] : syncReads(rel, codeLines(fs.readFileSync(f, "utf8")));
  });
  assert.deepEqual(found, [], "use await t.data() (or readAndDispose) instead");
  for (const f of Object.keys(WASM_ONLY)) assert.ok(syncReads(f, codeLines(fs.readFileSync(path.join(ROOT, f), "utf8"))).length > 0, `${f} no longer reads synchronously: drop it from WASM_ONLY`);
});

test("the notebooks' code cells read tensors asynchronously", () => {
  const dir = path.join(ROOT, "notebooks");
  const found = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).flatMap((f) => {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { cells: { cell_type: string; source: string[] | string }[] };
    return nb.cells.flatMap((c, k) => (c.cell_type === "code" ? syncReads(`${f} cell ${k}`, codeLines(Array.isArray(c.source) ? c.source.join("") : c.source)) : []));
  });
  assert.deepEqual(found, [], "use await t.data() in notebooks");
});

test("the check sees a synchronous read, and not one in a comment or a string", () => {
  assert.equal(syncReads("x", codeLines("const v = t.dataSync()[0];")).length, 1);
  assert.equal(syncReads("x", codeLines("// t.dataSync() fails on webgpu")).length, 0);
  assert.equal(syncReads("x", codeLines(" * `dataSync()` fails")).length, 0);
  assert.equal(syncReads("x", codeLines('console.log("read with t.dataSync() nowhere")')).length, 0);
});

test("readAndDispose reads and disposes, also when the read fails", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  assert.deepEqual([...(await readAndDispose(tf.tensor1d([3, 1], "int32")))], [3, 1]);
  assert.equal(tf.memory().numTensors, before);
  const t = tf.tensor1d([1]);
  const broken = Object.assign(t, { data: () => Promise.reject(new Error("device lost")) });
  await assert.rejects(readAndDispose(broken), /device lost/);
  assert.ok(t.isDisposed);
});
