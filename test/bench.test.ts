// The benchmark's pure parts: flags, ratios to PyTorch, and the PASS/MISS column.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable, parseBenchArgs, PEER_PINS, ratioTo, ratioToKeras, summarize, type BenchRow } from "../scripts/bench";

const row = (backend: string, model: number, batch: number, sps: number, threads = 1): BenchRow => ({ model, backend, batch, threads, samplesPerSec: sps, msPerStep: (batch * 1000) / sps, peakRssMb: 200 });

test("flags parse, and bad ones are named", () => {
  assert.deepEqual(parseBenchArgs([]), { models: [1, 2, 3], batchSizes: [32, 128], warmup: 3, steps: 20, cpu: false, profile: false, repeats: 3, minimal: true, peers: true, setupPeers: false, skip: [] });
  const o = parseBenchArgs(["--models", "1,3", "--batch-sizes", "64", "--batches", "5", "--profile"]);
  assert.deepEqual([o.models, o.batchSizes, o.steps, o.profile], [[1, 3], [64], 5, true]);
  assert.throws(() => parseBenchArgs(["--models", "4"]), /--models 4: expected a comma-separated list of 1\/2\/3/);
  assert.throws(() => parseBenchArgs(["--fast"]), /unknown option --fast; valid: --models/);
});

test("ratios compare the same model, batch and thread count only", () => {
  const torch = [row("pytorch-1t", 1, 32, 2000), row("pytorch-2t", 1, 32, 3000, 2)];
  assert.equal(ratioTo(row("wasm", 1, 32, 1000), torch), 0.5);
  assert.equal(ratioTo(row("wasm", 1, 128, 1000), torch), undefined);
  assert.equal(ratioTo(row("wasm", 2, 32, 1000), torch), undefined);
});

test("the table marks the target rows PASS or MISS", () => {
  const torch = [row("pytorch-1t", 1, 32, 2000), row("pytorch-1t", 2, 32, 1000)];
  const text = formatTable([row("wasm", 1, 32, 1100), row("wasm", 2, 32, 300), row("wasm-minimal", 1, 32, 300)], torch);
  const lines = text.split("\n");
  assert.match(lines.find((l) => l.startsWith("1 ") && l.includes(" wasm "))!, /0\.55× +≥ 0\.5× PASS/);
  assert.match(lines.find((l) => l.startsWith("2 ") && l.includes(" wasm "))!, /0\.30× +≥ 0\.35× MISS/);
  assert.doesNotMatch(lines.find((l) => l.includes("wasm-minimal"))!, /PASS|MISS/);
});

test("the peers' pins name the versions compared with: TensorFlow 2.21, Keras 3, PyTorch 2 (CPU build)", () => {
  assert.ok(PEER_PINS.includes("tensorflow-cpu==2.21.0"));
  assert.ok(PEER_PINS.some((p) => /^keras==3\./.test(p)));
  assert.ok(PEER_PINS.some((p) => /^torch==2\.\d+\.\d+\+cpu$/.test(p)));
});

test("the bench module re-exports the median and Keras-ratio logic it prints", () => {
  const [w] = summarize([row("wasm", 1, 32, 100), row("wasm", 1, 32, 300), row("wasm", 1, 32, 200)]);
  assert.equal(w.samplesPerSec, 200);
  assert.equal(ratioToKeras(w, [row("keras-1t", 1, 32, 400)]), 0.5);
});
