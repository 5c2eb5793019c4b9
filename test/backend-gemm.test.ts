// The tiled SIMD matrix products (lib/src/backend/tiled-gemm.ts, gemm-wat.ts) behind BatchMatMul:
// the forward, input-gradient and weight-gradient cases equal the cpu backend (relative error
// ≤ 1e-4) over odd sizes and every tile remainder, 2-D and batch-1 3-D, the route is really taken,
// and one, two and three wasm threads give the same bits.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { randomTensor } from "./helpers/tensors";
import { tiledGemmCalls } from "../lib/src/backend/tiled-gemm";

before(async () => {
  await initBackend("wasm");
});


/** Largest absolute difference over the largest absolute cpu value. */
function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

async function onBoth(f: () => tf.Tensor): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend("cpu");
  const cpu = tf.tidy(f).dataSync() as Float32Array;
  await tf.setBackend("wasm");
  const wasm = tf.tidy(f).dataSync() as Float32Array;
  return [cpu, wasm];
}

type Case = "nn" | "nt" | "tn";
/** Operand shapes of C[m×n] = op(A)·op(B) over k for each case, with `lead` batch dimensions in front. */
function operands(c: Case, m: number, n: number, k: number, lead: number[]): [number[], number[], boolean, boolean] {
  if (c === "nn") return [[...lead, m, k], [...lead, k, n], false, false];
  if (c === "nt") return [[...lead, m, k], [...lead, n, k], false, true];
  return [[...lead, k, m], [...lead, k, n], true, false];
}

test("the three products match cpu over odd sizes and every tile remainder, 2-D, batch-1 3-D and batched", async () => {
  // [m, n, k]: odd rows past tiles of 2; columns past tiles of 16 that need the 8-, 4-wide and
  // scalar tiles (n mod 16 = 15, 13, 11, 9, 7, 6, …) and past the input gradient's 4 rows of B;
  // k below, at and past the reduction block (128) and not a multiple of the vector width (4).
  const sizes: Array<[number, number, number]> = [
    [32, 128, 300], [37, 131, 129], [33, 125, 130], [35, 127, 131], [34, 9, 257], [5, 301, 67],
    [7, 13, 1030], [1, 1031, 70], [129, 1, 515], [3, 70, 400], [41, 43, 47], [2, 3, 16000], [1, 1, 1], [2, 3, 5], [3, 10, 6],
  ];
  let seed = 1;
  let checked = 0;
  for (const c of ["nn", "nt", "tn"] as const) {
    for (const [i, [m, n, k]] of sizes.entries()) {
      const lead = [[], [1], [3]][i % 3];
      const [sa, sb, ta, tb] = operands(c, m, n, k, lead);
      const a = randomTensor(sa, seed++);
      const b = randomTensor(sb, seed++);
      const calls = tiledGemmCalls[c];
      const [cpu, wasm] = await onBoth(() => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb));
      assert.equal(tiledGemmCalls[c], calls + 1, `${c} ${m}×${n}×${k}: the tiled route taken`);
      assert.equal(wasm.length, cpu.length);
      const e = relErr(wasm, cpu);
      assert.ok(e <= 1e-4, `${c} [${sa}]·[${sb}] (${ta}, ${tb}): relative error ${e}`);
      checked++;
      tf.dispose([a, b]);
    }
  }
  assert.equal(checked, 3 * sizes.length);
});

test("model 2's dense layer: forward, input and weight gradients (43,264 × 128, batch 32) match cpu", async () => {
  const x = randomTensor([32, 43264], 91);
  const w = tf.mul(randomTensor([43264, 128], 92), 0.01);
  const dy = randomTensor([32, 128], 93);
  const before = { ...tiledGemmCalls };
  const [cpu, wasm] = await onBoth(() => {
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D))([x, w], dy);
    return tf.concat([tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D).flatten(), dx.flatten(), dw.flatten()]);
  });
  // The forward twice: once here, once inside tf.grads.
  assert.deepEqual([tiledGemmCalls.nn - before.nn, tiledGemmCalls.nt - before.nt, tiledGemmCalls.tn - before.tn], [2, 1, 1]);
  const parts: Array<[string, number, number]> = [["forward", 0, 32 * 128], ["input gradient", 32 * 128, 32 * 128 + 32 * 43264], ["weight gradient", 32 * 128 + 32 * 43264, cpu.length]];
  for (const [name, from, to] of parts) {
    const e = relErr(wasm.subarray(from, to), cpu.subarray(from, to));
    assert.ok(e <= 1e-4, `${name}: relative error ${e}`);
  }
  tf.dispose([x, w, dy]);
});

test("other products keep the old route: both operands transposed, broadcast batches", async () => {
  const calls = (): number => tiledGemmCalls.nn + tiledGemmCalls.nt + tiledGemmCalls.tn;
  const cases: Array<() => tf.Tensor> = [
    () => tf.matMul(randomTensor([64, 48], 1) as tf.Tensor2D, randomTensor([40, 64], 2) as tf.Tensor2D, true, true),
    () => tf.matMul(randomTensor([2, 40, 48], 3) as tf.Tensor3D, randomTensor([1, 48, 64], 4) as tf.Tensor3D),
  ];
  for (const [i, f] of cases.entries()) {
    const before = calls();
    const [cpu, wasm] = await onBoth(f);
    assert.equal(calls(), before, `case ${i} stays on XNNPACK`);
    assert.ok(relErr(wasm, cpu) <= 1e-4, `case ${i}: ${relErr(wasm, cpu)}`);
  }
});

const CHILD = `
const tf = require("@tensorflow/tfjs");
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
const { tiledGemmCalls } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "tiled-gemm.ts"))});
(async () => {
  const info = await initBackend("wasm");
  // Odd sizes, so the shares end in remainders: x [33, 5003], w [5003, 131], dy [33, 131].
  const x = tf.randomNormal([33, 5003], 0, 1, "float32", 1);
  const w = tf.randomNormal([5003, 131], 0, 1, "float32", 2);
  const dy = tf.randomNormal([33, 131], 0, 1, "float32", 3);
  const y = tf.matMul(x, w);
  const [dx, dw] = tf.grads((a, b) => tf.matMul(a, b))([x, w], dy);
  console.log("@@" + JSON.stringify({ threads: info.threads, calls: tiledGemmCalls, y: Array.from(y.dataSync()), dx: Array.from(dx.dataSync()), dw: Array.from(dw.dataSync()) }));
})();
`;

type Result = { threads: number; calls: Record<Case, number>; y: number[]; dx: number[]; dw: number[] };

function runChild(threads: string): Result {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", CHILD], {
    env: { ...process.env, FMNIST_WASM_THREADS: threads },
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `child with ${threads} thread(s) exited with ${r.status} ${r.signal ?? ""}: ${r.stderr}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@"));
  assert.ok(line, `no result from the child: ${r.stdout}`);
  return JSON.parse(line.slice(2)) as Result;
}

test("one, two and three wasm threads give the same products bit for bit", () => {
  const one = runChild("1");
  assert.equal(one.threads, 1);
  assert.deepEqual(one.calls, { nn: 2, tn: 1, nt: 1 }, "y, and again inside tf.grads");
  for (const threads of ["2", "3"]) {
    const many = runChild(threads);
    assert.equal(many.threads, Number(threads));
    assert.deepEqual(many.calls, one.calls, "the tiled route with helpers too");
    for (const k of ["y", "dx", "dw"] as const) {
      assert.equal(many[k].length, one[k].length);
      const differing = one[k].filter((v, i) => !Object.is(v, many[k][i])).length;
      assert.equal(differing, 0, `${k} with ${threads} threads: ${differing} of ${one[k].length} values differ from one thread's`);
    }
  }
});
