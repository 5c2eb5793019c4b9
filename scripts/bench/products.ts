/**
 * The bench's products table: model 2's dense-layer products (43,264 → 128, batch 32) on one wasm
 * thread, the old route (XNNPACK, transposed operands copied first: kernels/batch-mat-mul.ts
 * `batchMatMulXnnpack`) against the tiled SIMD loops (tiled-gemm.ts), old and new interleaved in
 * every round, median and range of the rounds. Each call gets fresh copies of its operands, as a
 * training step does (new activations, weights updated in place of the old): XNNPACK keeps the
 * packed second operand of a tensor it saw before, which a step never reuses. It exists because these three products were 80% of
 * model 2's training step (tf.profile: 86 of 107 ms) at 9–21 GFLOP/s; issue 17 asks ≥ 25.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { batchMatMulXnnpack } from "../../lib/src/backend/kernels/batch-mat-mul";
import type { Info, KernelArgs } from "../../lib/src/backend/kernel-runner";
import { tiledGemmCalls, tiledMatMul } from "../../lib/src/backend/tiled-gemm";
import { median } from "./format";

/** One product: both routes' times per round (ms) and their medians as GFLOP/s. */
export interface ProductRow {
  product: string;
  shapes: string;
  macs: number;
  oldMs: number[];
  newMs: number[];
  oldGflops: number;
  newGflops: number;
}

/** model 2's dense layer: x [32, 43264] · W [43264, 128]. */
const [B, F, U] = [32, 43264, 128];

/** Times both routes of the three products, `rounds` interleaved rounds after one warm-up call each (the wasm backend must be running). */
export function measureProducts(tf: typeof tfjs, rounds = 7): ProductRow[] {
  const backend = tf.backend() as unknown as KernelArgs["backend"] & { disposeData(id: object): void };
  const x = tf.randomNormal([B, F], 0, 1, "float32", 1);
  const w = tf.randomNormal([F, U], 0, 0.01, "float32", 2);
  const dy = tf.randomNormal([B, U], 0, 1, "float32", 3);
  const cases: Array<{ product: string; a: Info; b: Info; ta: boolean; tb: boolean }> = [
    { product: "forward x·W", a: x, b: w, ta: false, tb: false },
    { product: "input gradient dy·Wᵀ", a: dy, b: w, ta: false, tb: true },
    { product: "weight gradient xᵀ·dy", a: x, b: dy, ta: true, tb: false },
  ];
  const rows: ProductRow[] = [];
  try {
    for (const c of cases) {
      let args = {} as KernelArgs;
      const tiled = (): Info => {
        const calls = tiledGemmCalls.nn + tiledGemmCalls.nt + tiledGemmCalls.tn;
        const out = tiledMatMul(args);
        if (!out || tiledGemmCalls.nn + tiledGemmCalls.nt + tiledGemmCalls.tn !== calls + 1) throw new Error(`${c.product}: the tiled route did not run (no SIMD loops?)`);
        return out;
      };
      const time = (f: () => Info): number => {
        const [a, b] = [tf.mul(c.a as tfjs.Tensor, 1), tf.mul(c.b as tfjs.Tensor, 1)];
        args = { inputs: { a, b }, backend, attrs: { transposeA: c.ta, transposeB: c.tb } } as unknown as KernelArgs;
        const t = performance.now();
        const out = f();
        const ms = performance.now() - t;
        backend.disposeData(out.dataId);
        tf.dispose([a, b]);
        return ms;
      };
      time(() => batchMatMulXnnpack(args));
      time(tiled);
      const oldMs: number[] = [];
      const newMs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate which route goes first, so neither always runs on a cache the other warmed.
        if (r % 2 === 0) oldMs.push(time(() => batchMatMulXnnpack(args)));
        newMs.push(time(tiled));
        if (r % 2 === 1) oldMs.push(time(() => batchMatMulXnnpack(args)));
      }
      const macs = B * F * U;
      const gflops = (ms: number[]): number => (2 * macs) / median(ms) / 1e6;
      rows.push({ product: c.product, shapes: `[${c.a.shape}]${c.ta ? "ᵀ" : ""}·[${c.b.shape}]${c.tb ? "ᵀ" : ""}`, macs, oldMs, newMs, oldGflops: gflops(oldMs), newGflops: gflops(newMs) });
    }
  } finally {
    tf.dispose([x, w, dy]);
  }
  return rows;
}

/** The table's lines: product, old and new route GFLOP/s (median, with the rounds' range in ms), and new/old. */
export function formatProducts(rows: ProductRow[]): string[] {
  const range = (ms: number[]): string => `${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)} ms`;
  return rows.map((r) =>
    `  ${r.product.padEnd(24)} ${r.shapes.padEnd(26)} old ${r.oldGflops.toFixed(1).padStart(5)} GFLOP/s (${range(r.oldMs)})  new ${r.newGflops.toFixed(1).padStart(5)} GFLOP/s (${range(r.newMs)})  ${(r.newGflops / r.oldGflops).toFixed(2)}×`);
}
