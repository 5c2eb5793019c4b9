/**
 * FmnistBatchNormGradSums (wasm only): the per-channel sums [Σdy, Σdy·(x − mean)] that the
 * FusedBatchNorm gradient (../batchnorm-grad.ts) needs, in one pass over the heap (a WebAssembly
 * SIMD loop, below, when C is a multiple of 4); the batch-norm training kernels use the same sums.
 */
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { addSumBlocks, batchNormGradSumsShared, gradSumsScratch } from "../row-loops";
import { heapOffset, simdKernels, withFloat64Scratch } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";

/** Kernel name of the fused per-channel sums [Σdy, Σdy·(x − mean)] (wasm only). */
export const BATCH_NORM_GRAD_SUMS = "FmnistBatchNormGradSums";

/** Rows per segment of the sums loop: a segment of x and dy stays in cache while each group of four channels is summed over it. */
const SEGMENT_ROWS = 64;

/**
 * `batchNormGradSums(x, dy, mean, rows, cols, sdy, sdyx)`: sdy[k] += dy; sdyx[k] += dy·(x − mean[k])
 * over every row, in float64 (cols a multiple of 4; mean, sdy, sdyx: cols float64). Per segment of
 * rows, each group of four channels is summed down the rows in locals, so every channel still adds
 * its rows one after the other (the same sums, bit for bit, as a row-by-row loop), but the running
 * sums stay in registers: a loop that loaded and stored them per row ran 1.6× slower in the threaded
 * build's shared memory than in the unthreaded one.
 */
const BATCH_NORM_GRAD_SUMS_LOOP: WasmLoop = {
  name: "batchNormGradSums",
  wat: () => `
  ;; Batch-norm gradient sums in float64: sdy[k] += dy; sdyx[k] += dy·(x − mean[k]) over every row
  ;; (cols a multiple of 4; mean, sdy, sdyx: cols float64). Segments of ${SEGMENT_ROWS} rows; in each,
  ;; every group of four channels runs down the rows with its sums in locals.
  (func (export "batchNormGradSums") (param $x i32) (param $dy i32) (param $mean i32) (param $rows i32) (param $cols i32) (param $sdy i32) (param $sdyx i32)
    (local $cb i32) (local $total i32) (local $s i32) (local $segEnd i32) (local $k i32) (local $k2 i32) (local $o i32) (local $end i32)
    (local $g v128) (local $xv v128) (local $glo v128) (local $ghi v128)
    ${[0].map((j) => `(local $a${j}0 v128) (local $a${j}1 v128) (local $b${j}0 v128) (local $b${j}1 v128) (local $m${j}0 v128) (local $m${j}1 v128)`).join(" ")}
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $total (i32.mul (local.get $rows) (local.get $cb)))
    (block $sdone (loop $sl
      (br_if $sdone (i32.ge_u (local.get $s) (local.get $total)))
      (local.set $segEnd (i32.add (local.get $s) (i32.mul (local.get $cb) (i32.const ${SEGMENT_ROWS}))))
      (if (i32.gt_u (local.get $segEnd) (local.get $total)) (then (local.set $segEnd (local.get $total))))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $k2 (i32.shl (local.get $k) (i32.const 1)))
        (local.set $o (i32.add (local.get $s) (local.get $k)))
        (local.set $end (i32.add (local.get $segEnd) (local.get $k)))
${groupSums(1)}
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $s (local.get $segEnd))
      (br $sl)))
  )`,
};

/** The sums of `groups` adjacent groups of four channels (one here; two measured no faster) from row offset $o to $end, accumulators loaded first and stored after. */
function groupSums(groups: number): string {
  const js = Array.from({ length: groups }, (_, j) => j);
  const at = (base: string, j: number, half: number): string => `offset=${32 * j + 16 * half} (i32.add (local.get $${base}) (local.get $k2))`;
  const hi = (v: string): string => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $${v}) (local.get $${v}))`;
  return `${js.map((j) => `
            (local.set $a${j}0 (v128.load ${at("sdy", j, 0)}))
            (local.set $a${j}1 (v128.load ${at("sdy", j, 1)}))
            (local.set $b${j}0 (v128.load ${at("sdyx", j, 0)}))
            (local.set $b${j}1 (v128.load ${at("sdyx", j, 1)}))
            (local.set $m${j}0 (v128.load ${at("mean", j, 0)}))
            (local.set $m${j}1 (v128.load ${at("mean", j, 1)}))`).join("")}
            (block $rdone${groups} (loop $rl${groups}
              (br_if $rdone${groups} (i32.ge_u (local.get $o) (local.get $end)))${js.map((j) => `
              (local.set $g (v128.load offset=${16 * j} (i32.add (local.get $dy) (local.get $o))))
              (local.set $xv (v128.load offset=${16 * j} (i32.add (local.get $x) (local.get $o))))
              (local.set $glo (f64x2.promote_low_f32x4 (local.get $g)))
              (local.set $ghi (f64x2.promote_low_f32x4 ${hi("g")}))
              (local.set $a${j}0 (f64x2.add (local.get $a${j}0) (local.get $glo)))
              (local.set $a${j}1 (f64x2.add (local.get $a${j}1) (local.get $ghi)))
              (local.set $b${j}0 (f64x2.add (local.get $b${j}0)
                (f64x2.mul (local.get $glo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $xv)) (local.get $m${j}0)))))
              (local.set $b${j}1 (f64x2.add (local.get $b${j}1)
                (f64x2.mul (local.get $ghi) (f64x2.sub (f64x2.promote_low_f32x4 ${hi("xv")}) (local.get $m${j}1)))))`).join("")}
              (local.set $o (i32.add (local.get $o) (local.get $cb)))
              (br $rl${groups})))${js.map((j) => `
            (v128.store ${at("sdy", j, 0)} (local.get $a${j}0))
            (v128.store ${at("sdy", j, 1)} (local.get $a${j}1))
            (v128.store ${at("sdyx", j, 0)} (local.get $b${j}0))
            (v128.store ${at("sdyx", j, 1)} (local.get $b${j}1))`).join("")}`;
}

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
