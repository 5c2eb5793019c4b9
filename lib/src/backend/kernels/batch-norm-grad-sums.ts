/**
 * FmnistBatchNormGradSums (wasm only): the per-channel sums [Σdy, Σdy·(x − mean)] that the
 * FusedBatchNorm gradient (../batchnorm-grad.ts) needs, in one pass over the heap (a WebAssembly
 * SIMD loop, below, when C is a multiple of 4); the batch-norm training kernels use the same sums.
 */
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { addSumBlocks, batchNormGradSumsShared, gradSumsScratch } from "../row-loops";
import { heapOffset, simdKernels, withFloat64Scratch } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { rowsLoop } from "./wat";

/** Kernel name of the fused per-channel sums [Σdy, Σdy·(x − mean)] (wasm only). */
export const BATCH_NORM_GRAD_SUMS = "FmnistBatchNormGradSums";

/** `batchNormGradSums(x, dy, mean, rows, cols, sdy, sdyx)`: sdy[k] += dy; sdyx[k] += dy·(x − mean[k]) over every row, in float64 (cols a multiple of 4; mean, sdy, sdyx: cols float64). */
const BATCH_NORM_GRAD_SUMS_LOOP: WasmLoop = {
  name: "batchNormGradSums",
  wat: () => `
  ;; Batch-norm gradient sums in float64: sdy[k] += dy; sdyx[k] += dy·(x − mean[k]) over every row
  ;; (cols a multiple of 4; mean, sdy, sdyx: cols float64).
  (func (export "batchNormGradSums") (param $x i32) (param $dy i32) (param $mean i32) (param $rows i32) (param $cols i32) (param $sdy i32) (param $sdyx i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $o i32) (local $k2 i32)
    (local $g v128) (local $xv v128) (local $glo v128) (local $ghi v128) (local $a i32)${rowsLoop("o", `
        (local.set $g (v128.load (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $k)))))
        (local.set $xv (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $k)))))
        (local.set $glo (f64x2.promote_low_f32x4 (local.get $g)))
        (local.set $ghi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
        (local.set $k2 (i32.shl (local.get $k) (i32.const 1)))
        (local.set $a (i32.add (local.get $sdy) (local.get $k2)))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (local.get $glo)))
        (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a)) (local.get $ghi)))
        (local.set $a (i32.add (local.get $sdyx) (local.get $k2)))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a))
          (f64x2.mul (local.get $glo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $xv)) (v128.load (i32.add (local.get $mean) (local.get $k2)))))))
        (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a))
          (f64x2.mul (local.get $ghi) (f64x2.sub
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv)))
            (v128.load offset=16 (i32.add (local.get $mean) (local.get $k2)))))))`)}
  )`,
};

/** Channels (the last axis) and rows (everything else) of x. */
export function channelsAndRows(x: Info): { c: number; rows: number } {
  const c = x.shape[x.shape.length - 1];
  return { c, rows: x.shape.reduce((p, q) => p * q, 1) / c };
}

/**
 * Per-channel sums in float64 over every axis but the last of x and dy ([..., C], on the wasm heap):
 * [Σdy, Σdy·(x − mean)] (SIMD loop when C is a multiple of 4, JavaScript otherwise).
 */
export function channelGradSums(kernelBackend: KernelArgs["backend"], x: Info, dy: Info, mean: ArrayLike<number>): { sDy: Float64Array; sDyX: Float64Array } {
  const c = x.shape[x.shape.length - 1];
  const backend = kernelBackend as unknown as HeapBackend;
  const rows = x.shape.reduce((p, q) => p * q, 1) / c;
  const simd = simdKernels(kernelBackend);
  if (simd && c % 4 === 0) {
    // Float64 [mean, then Σdy, Σdy·(x − mean) per block of rows], the mean copied in (../row-loops.ts).
    const all = withFloat64Scratch(backend, gradSumsScratch(rows, c), (base) => batchNormGradSumsShared(simd, heapOffset(backend, x), heapOffset(backend, dy), rows, c, base), mean);
    return addSumBlocks(all, rows, c);
  }
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const m = Float64Array.from(mean);
  const sDy = new Float64Array(c);
  const sDyX = new Float64Array(c);
  for (let r = 0, base = 0; r < rows; r++, base += c) {
    for (let k = 0; k < c; k++) {
      const g = dyv[base + k];
      sDy[k] += g;
      sDyX[k] += g * (xv[base + k] - m[k]);
    }
  }
  return { sDy, sDyX };
}

/** x, dy: [..., C]; mean: [C] → [2, C] = [Σdy, Σdy·(x − mean)] over every axis but the last. */
function gradSumsWasm(args: KernelArgs): Info {
  const { x, dy, mean } = args.inputs as { x: Info; dy: Info; mean: Info };
  const c = x.shape[x.shape.length - 1];
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([2, c], "float32");
  // Sums after makeOutput: growing the heap detaches earlier views.
  const { sDy, sDyX } = channelGradSums(args.backend, x, dy, Float64Array.from(backend.typedArrayFromHeap(mean)));
  const ov = backend.typedArrayFromHeap(out);
  for (let k = 0; k < c; k++) {
    ov[k] = sDy[k];
    ov[c + k] = sDyX[k];
  }
  return out;
}

export const batchNormGradSumsKernel: WasmKernelDef = {
  name: BATCH_NORM_GRAD_SUMS,
  requires: { sets: ["fast"], upstream: "adds" },
  impl: gradSumsWasm,
  loops: [BATCH_NORM_GRAD_SUMS_LOOP],
};
