// The benchmark's pure parts (scripts/bench/format.ts): flags, batch budgets, ratios, targets,
// table layout, kernel aggregation and the tfjs-node reason line. No timing is asserted.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  batchesFor, BLAS_OVERRIDES, checkKerasTargets, checkTargets, coresFor, formatTable, gflopsOf, interleave, markdownSummary, median, parseBenchArgs, parseCpuList, peerEnv,
  ratioTo, ratioToKeras, speedupOver, summarize, tensorflowReason, topKernels, type BenchRow,
} from "../scripts/bench/format";

const row = (backend: string, model: number, batch: number, sps: number, threads = 1): BenchRow => ({
  model, backend, batch, threads, samplesPerSec: sps, msPerStep: (batch * 1000) / sps, peakRssMb: 250,
});

test("flags: both spellings, duplicates dropped, bad values and missing values named", () => {
  const o = parseBenchArgs(["--models=3,1,3", "--batch-sizes", "32", "--batches=5", "--warmup", "0", "--cpu"]);
  assert.deepEqual(o, { models: [3, 1], batchSizes: [32], warmup: 0, steps: 5, cpu: true, profile: false, repeats: 3, minimal: true, peers: true, setupPeers: false, skip: [] });
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

test("new flags: repeats, no-minimal, no-peers, setup-peers; bad repeats named", () => {
  const o = parseBenchArgs(["--repeats", "5", "--no-minimal", "--no-peers"]);
  assert.deepEqual([o.repeats, o.minimal, o.peers, o.setupPeers], [5, false, false, false]);
  assert.equal(parseBenchArgs(["--setup-peers"]).setupPeers, true);
  assert.equal(parseBenchArgs(["--repeats=1"]).repeats, 1);
  assert.deepEqual(parseBenchArgs(["--skip", "tensorflow-1t,pytorch-2t", "--skip=webgpu"]).skip, ["tensorflow-1t", "pytorch-2t", "webgpu"]);
  assert.throws(() => parseBenchArgs(["--skip", "--cpu"]), /--skip needs column names/);
  assert.throws(() => parseBenchArgs(["--repeats", "0"]), /--repeats 0: expected a comma-separated list of positive integers/);
  assert.throws(() => parseBenchArgs(["--repeats"]), /--repeats needs a value/);
});

test("median: odd and even counts, order-free, empty is an error", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([10, 1, 4, 2]), 3);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /empty/);
});

test("summarize: one row per (backend, model, batch, threads), median rate, its ms/step, range, runs in order, largest RSS, GFLOP/s", () => {
  const runs = [
    { ...row("wasm", 1, 32, 1000), peakRssMb: 300, macsPerImage: 5e6 }, row("keras-1t", 1, 32, 2000), row("wasm", 1, 32, 1600),
    row("keras-1t", 1, 32, 1800), row("wasm", 1, 32, 1200), row("wasm-2t", 1, 32, 1500, 2),
  ];
  const s = summarize(runs, { 1: 4e6 });
  assert.deepEqual(s.map((r) => r.backend), ["wasm", "keras-1t", "wasm-2t"]);
  const w = s[0];
  assert.equal(w.samplesPerSec, 1200);
  assert.equal(w.msPerStep, (32 * 1000) / 1200);
  assert.deepEqual(w.runs, [1000, 1600, 1200]);
  assert.deepEqual(w.range, [1000, 1600]);
  assert.equal(w.peakRssMb, 300);
  assert.equal(w.macsPerImage, 5e6, "the row's own count wins over the per-model map");
  assert.equal(w.gflops, (2 * 5e6 * 1200) / 1e9);
  assert.equal(s[1].samplesPerSec, 1900, "even count: mean of the middle two");
  assert.equal(s[1].gflops, gflopsOf(4e6, 1900));
  assert.equal(summarize([row("pytorch-1t", 2, 32, 10)])[0].gflops, undefined, "no count, no GFLOP/s");
});

test("GFLOP/s: two floating-point operations per multiply-add", () => {
  assert.equal(gflopsOf(1e6, 1000), 2);
  assert.equal(gflopsOf(0, 1000), 0);
});

test("interleave: every column once per round, rotated by one each round, groups one after another", () => {
  const order = interleave([["a", "b", "c"], ["x", "y"]], 3).map((x) => `${x.item}${x.round}`);
  assert.deepEqual(order, ["a0", "b0", "c0", "b1", "c1", "a1", "c2", "a2", "b2", "x0", "y0", "y1", "x1", "x2", "y2"]);
  assert.deepEqual(interleave([["a"]], 1).map((x) => x.item), ["a"]);
  assert.deepEqual(interleave([[], ["a"]], 2).map((x) => x.item), ["a", "a"]);
});

test("CPU lists and the cores of a row: 1 thread = one core, 2 threads = two", () => {
  assert.deepEqual(parseCpuList("0-1"), [0, 1]);
  assert.deepEqual(parseCpuList("4,0-2,2\n"), [0, 1, 2, 4]);
  assert.throws(() => parseCpuList("0-a"), /not a CPU list/);
  assert.deepEqual(coresFor(1, [2, 3, 5]), [2]);
  assert.deepEqual(coresFor(2, [2, 3, 5]), [2, 3]);
  assert.throws(() => coresFor(3, [0, 1]), /3 thread\(s\) but 2 allowed core/);
});

test("peers' environment: the OpenBLAS overrides removed (and reported), the rest kept, the parent's untouched", () => {
  const parent = { PATH: "/bin", OPENBLAS_CORETYPE: "Haswell", OPENBLAS_L2_SIZE: "512", OMP_NUM_THREADS: "4" };
  const { env, removed } = peerEnv(parent, { KERAS_BACKEND: "tensorflow" });
  assert.deepEqual(removed, { OPENBLAS_CORETYPE: "Haswell", OPENBLAS_L2_SIZE: "512" });
  assert.deepEqual(env, { PATH: "/bin", OMP_NUM_THREADS: "4", KERAS_BACKEND: "tensorflow" });
  assert.equal(parent.OPENBLAS_CORETYPE, "Haswell");
  assert.deepEqual(peerEnv({ PATH: "/bin" }).removed, {});
  assert.deepEqual(BLAS_OVERRIDES, ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]);
});

test("ratios to Keras: same model, batch and threads; targets for wasm (1 thread) and wasm-2t (2 threads) at batch 32", () => {
  const keras = [row("keras-1t", 1, 32, 2000), row("keras-2t", 1, 32, 4000, 2), row("keras-1t", 2, 32, 1000), row("keras-1t", 3, 32, 0)];
  assert.equal(ratioToKeras(row("wasm", 1, 32, 1000), keras), 0.5);
  assert.equal(ratioToKeras(row("wasm-2t", 1, 32, 2000, 2), keras), 0.5);
  assert.equal(ratioToKeras(row("wasm", 1, 128, 1000), keras), undefined);
  assert.equal(ratioToKeras(row("wasm", 3, 32, 1000), keras), undefined, "no division by a zero rate");
  const ours = [row("wasm", 1, 32, 2100), row("wasm-2t", 1, 32, 2000, 2), row("wasm", 2, 32, 850)];
  assert.deepEqual(checkKerasTargets(ours, keras, [1, 2]).map((t) => [t.model, t.backend, t.threads, t.target, t.ratio, t.verdict]), [
    [1, "wasm", 1, 1.0, 1.05, "PASS"], [1, "wasm-2t", 2, 1.0, 0.5, "MISS"], [2, "wasm", 1, 0.9, 0.85, "MISS"],
  ]);
  assert.deepEqual(checkKerasTargets(ours, [], [1]).map((t) => t.verdict), ["n/a", "n/a"]);
});

test("table with peers: Keras rows after ours and before PyTorch, ratio to Keras, range only for repeated rows, GFLOP/s", () => {
  const runs = [row("wasm", 1, 32, 900), row("wasm", 1, 32, 1000), row("wasm", 1, 32, 1300), row("keras-1t", 1, 32, 2000), row("keras-1t", 1, 32, 2000), row("keras-1t", 1, 32, 2400)];
  const [wasm, keras] = summarize(runs, { 1: 5e6 });
  const torch = [row("pytorch-1t", 1, 32, 1000)];
  const extra = [row("pytorch1.13-1t", 1, 32, 500)];
  const lines = formatTable([wasm], torch, [keras], extra).split("\n");
  assert.match(lines[0], /target \(batch 32, 1 thread\) +range \(runs\) +GFLOP\/s +× Keras \(same threads\) +vs Keras target \(batch 32\)$/);
  assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)[1]), ["wasm", "keras-1t", "pytorch-1t", "pytorch1.13-1t"]);
  assert.match(lines[2], / 1000 .* 1\.00× +≥ 0\.5× PASS +900–1300 +10\.0 +0\.50× +≥ 1× MISS$/);
  assert.match(lines[3], / 2000 .* 2000–2400 +20\.0$/, "Keras's own row: no ratio to itself");
  assert.doesNotMatch(lines[4], /–/, "a single run has no range");
});

test("markdown summary: present columns only, medians with ranges, ratios to Keras at equal threads", () => {
  const runs = [row("wasm", 1, 32, 1000), row("wasm", 1, 32, 1100), row("wasm", 1, 32, 1250), row("wasm-2t", 1, 32, 1500, 2), row("keras-1t", 1, 32, 2000),
    row("keras-2t", 1, 32, 3000, 2), row("wasm", 3, 32, 50), row("keras-1t", 3, 32, 100), row("wasm", 1, 128, 5)];
  const md = markdownSummary(summarize(runs, { 1: 1e6 }), 32, { 1: "conv32 → pool → dense 128" }).split("\n");
  assert.equal(md[0], "| model | wasm | wasm-2t | keras-1t | keras-2t | wasm / keras, 1 thread | wasm-2t / keras, 2 threads | GFLOP/s wasm / keras-1t |");
  assert.equal(md[1], "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  assert.equal(md[2], "| 1: conv32 → pool → dense 128 | 1,100 (1,000–1,250) | 1,500 | 2,000 | 3,000 | 0.55× | 0.50× | 2.2 / 4.0 |");
  assert.equal(md[3], "| 3 | 50.0 | – | 100 | – | 0.50× | – | – / – |");
  assert.equal(md.length, 4, "batch 128 rows are not in the batch-32 table");
  assert.doesNotMatch(markdownSummary([row("wasm", 1, 32, 10)], 32), /wasm \/ keras, 1 thread/, "no Keras: no ratio columns");
});
