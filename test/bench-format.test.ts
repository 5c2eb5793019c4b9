// The benchmark's pure parts (scripts/bench/format.ts): flags, batch budgets, ratios, targets,
// table layout, kernel aggregation and the tfjs-node reason line. No timing is asserted.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  batchesFor, checkTargets, formatTable, parseBenchArgs, ratioTo, speedupOver, tensorflowReason, topKernels, type BenchRow,
} from "../scripts/bench/format";

const row = (backend: string, model: number, batch: number, sps: number, threads = 1): BenchRow => ({
  model, backend, batch, threads, samplesPerSec: sps, msPerStep: (batch * 1000) / sps, peakRssMb: 250,
});

test("flags: both spellings, duplicates dropped, bad values and missing values named", () => {
  const o = parseBenchArgs(["--models=3,1,3", "--batch-sizes", "32", "--batches=5", "--warmup", "0", "--cpu"]);
  assert.deepEqual(o, { models: [3, 1], batchSizes: [32], warmup: 0, steps: 5, cpu: true, profile: false });
  assert.throws(() => parseBenchArgs(["--batches"]), /--batches needs a value/);
  assert.throws(() => parseBenchArgs(["--batches", "--cpu"]), /--batches needs a value/);
  assert.throws(() => parseBenchArgs(["--batches", "0"]), /positive integers/);
  assert.throws(() => parseBenchArgs(["--batches", "2,3"]), /expected one number/);
  assert.throws(() => parseBenchArgs(["--batch-sizes", "32,,128"]), /--batch-sizes 32,,128/);
  assert.throws(() => parseBenchArgs(["--warmup", "-1"]), /integers ≥ 0/);
});

test("the slow columns get few batches; wasm and PyTorch the requested ones", () => {
  const o = { warmup: 3, steps: 20 };
  assert.deepEqual(batchesFor("wasm", o), { warmup: 3, steps: 20 });
  assert.deepEqual(batchesFor("tensorflow", o), { warmup: 3, steps: 20 });
  assert.deepEqual(batchesFor("wasm-minimal", o), { warmup: 1, steps: 4 });
  assert.deepEqual(batchesFor("cpu", o), { warmup: 1, steps: 2 });
  assert.deepEqual(batchesFor("cpu", { warmup: 0, steps: 1 }), { warmup: 0, steps: 1 });
});

test("ratios and speed-ups pair the same model and batch (and threads for PyTorch)", () => {
  const torch = [row("pytorch-1t", 1, 32, 2000), row("pytorch-2t", 1, 32, 4000, 2), row("pytorch-1t", 1, 128, 0)];
  assert.equal(ratioTo(row("wasm", 1, 32, 1000), torch), 0.5);
  assert.equal(ratioTo(row("wasm", 1, 32, 1000, 2), torch), 0.25);
  assert.equal(ratioTo(row("wasm", 1, 128, 1000), torch), undefined, "no division by a zero rate");
  const ours = [row("wasm", 2, 32, 600), row("wasm-minimal", 2, 32, 200), row("wasm-minimal", 2, 128, 100)];
  assert.equal(speedupOver(ours[0], ours, "wasm-minimal"), 3);
  assert.equal(speedupOver(row("wasm", 3, 32, 1), ours, "wasm-minimal"), undefined);
});

test("targets: wasm at batch 32 against PyTorch on 1 thread, n/a when a side is missing", () => {
  const ours = [row("wasm", 1, 32, 1000), row("wasm", 2, 32, 300), row("wasm", 3, 128, 100)];
  const torch = [row("pytorch-1t", 1, 32, 2000), row("pytorch-2t", 2, 32, 300, 2), row("pytorch-1t", 2, 32, 1000)];
  assert.deepEqual(checkTargets(ours, torch, [1, 2, 3]), [
    { model: 1, batch: 32, target: 0.5, ratio: 0.5, verdict: "PASS" },
    { model: 2, batch: 32, target: 0.35, ratio: 0.3, verdict: "MISS" },
    { model: 3, batch: 32, target: 0.35, ratio: undefined, verdict: "n/a" },
  ]);
  assert.deepEqual(checkTargets(ours, [], [1]).map((t) => t.verdict), ["n/a"]);
});

test("table: header, aligned columns, ours before PyTorch, verdicts only on target rows", () => {
  const torch = [row("pytorch-2t", 1, 32, 3000, 2), row("pytorch-1t", 1, 32, 2000)];
  const text = formatTable([row("wasm", 1, 128, 900), row("wasm-minimal", 1, 32, 250), row("wasm", 1, 32, 1000)], torch);
  const lines = text.split("\n");
  assert.match(lines[0], /^model +backend +batch +threads +samples\/s +ms\/step +peak RSS MB +× wasm-minimal +× PyTorch \(same threads\) +target/);
  assert.match(lines[1], /^-+ +-+/);
  const backends = lines.slice(2).map((l) => l.split(/\s+/)[1]);
  assert.deepEqual(backends, ["wasm", "wasm-minimal", "wasm", "pytorch-1t", "pytorch-2t"]);
  const wasm32 = lines.find((l) => / wasm +32 /.test(l))!;
  assert.match(wasm32, / 1000 +32\.0 +250 +4\.00× +0\.50× +≥ 0\.5× PASS$/);
  assert.doesNotMatch(lines.find((l) => / wasm +128 /.test(l))!, /PASS|MISS/);
  assert.doesNotMatch(lines.find((l) => l.includes("pytorch-1t"))!, /×/);
  // right-aligned numbers: the samples/s column ends at the same offset on every row
  const ends = lines.slice(2).map((l) => l.indexOf(l.split(/\s+/)[4]) + l.split(/\s+/)[4].length);
  assert.equal(new Set(ends).size, 1);
  const noTorch = formatTable([row("wasm", 2, 32, 10.5)], []);
  assert.match(noTorch.split("\n")[2], /10\.5 .*≥ 0\.35× n\/a$/);
});

test("kernel profile: summed by name, hottest first, shares of the total, errors count as 0", () => {
  const top = topKernels([
    { name: "Conv2D", kernelTimeMs: 2 }, { name: "Add", kernelTimeMs: 1 }, { name: "Conv2D", kernelTimeMs: 4 },
    { name: "Add", kernelTimeMs: 1 }, { name: "Relu", kernelTimeMs: { error: "no timer" } }, { name: "Mul", kernelTimeMs: 2 },
  ], 3);
  assert.deepEqual(top, [
    { name: "Conv2D", ms: 6, calls: 2, share: 0.6 },
    { name: "Add", ms: 2, calls: 2, share: 0.2 },
    { name: "Mul", ms: 2, calls: 1, share: 0.2 },
  ]);
  assert.deepEqual(topKernels([]), []);
});

test("tfjs-node reason: one line, from initBackend's message", () => {
  const msg = 'Backend "tensorflow" was requested but @tensorflow/tfjs-node does not load (@tensorflow/tfjs-node resolved to a package without native TensorFlow). Install it on a machine that can reach Google\'s storage (…): npm install …';
  const r = tensorflowReason(msg);
  assert.match(r, /^@tensorflow\/tfjs-node resolved to a package without native TensorFlow \(the danfojs override/);
  assert.doesNotMatch(r, /\n|npm install/);
  assert.match(tensorflowReason("Cannot find module '@tensorflow/tfjs-node'\nRequire stack: …"), /^Cannot find module '@tensorflow\/tfjs-node' \(optional;/);
});

test("the two-thread wasm column is compared with PyTorch on 2 threads and never counts for the 1-thread targets", () => {
  const torch = [row("pytorch-1t", 1, 32, 2000), row("pytorch-2t", 1, 32, 3000, 2)];
  const ours = [row("wasm", 1, 32, 1000), row("wasm-2t", 1, 32, 1800, 2), row("wasm-minimal", 1, 32, 300)];
  assert.equal(ratioTo(ours[1], torch), 0.6);
  assert.deepEqual(checkTargets(ours, torch, [1]).map((t) => t.ratio), [0.5]);
  const lines = formatTable(ours, torch).split("\n").slice(2);
  assert.deepEqual(lines.map((l) => l.split(/\s+/)[1]), ["wasm", "wasm-2t", "wasm-minimal", "pytorch-1t", "pytorch-2t"]);
  const twoT = lines[1];
  assert.match(twoT, /6\.00×\s+0\.60×$/, "speed-up over wasm-minimal and ratio to pytorch-2t, no target verdict");
});
