/**
 * FmnistBatchNormTrainGrad (wasm only): {x, dy, mean, variance, scale} → [dx, dscale, doffset] of
 * training-mode batch norm in closed form (../batchnorm-train.ts): one pass for the sums, one for
 * dx (a WebAssembly SIMD loop, below, when C is a multiple of 4).
 */
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { batchNormInputGradShared } from "../row-loops";
import { heapOffset, simdKernels } from "../simd-kernels";
import { channelGradSums, channelsAndRows } from "./batch-norm-grad-sums";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { rowsLoop } from "./wat";

/** Kernel name: {x, dy, mean, variance, scale} → [dx, dscale, doffset] of training-mode batch norm (wasm). */
export const BATCH_NORM_TRAIN_GRAD = "FmnistBatchNormTrainGrad";

/** `batchNormInputGrad(x, dy, out, rows, cols, p)`: out = dy·a[k] + ((x − mean[k])·b[k] + c[k]) over rows × cols (cols a multiple of 4; p: mean, a, b, c, each cols float32). */
const BATCH_NORM_INPUT_GRAD: WasmLoop = {
  name: "batchNormInputGrad",
  wat: () => `
  ;; Training-mode batch-norm input gradient, one pass: out = dy·a[k] + ((x − mean[k])·b[k] + c[k])
  ;; over rows × cols (cols a multiple of 4; p: mean, a, b, c, each cols float32).
  (func (export "batchNormInputGrad") (param $x i32) (param $dy i32) (param $out i32) (param $rows i32) (param $cols i32) (param $p i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $o i32) (local $q i32)${rowsLoop("o", `
        (local.set $q (i32.add (local.get $p) (local.get $k)))
        (v128.store (i32.add (local.get $out) (i32.add (local.get $o) (local.get $k)))
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $dy) (i32.add (local.get $o) (local.get $k))))
                       (v128.load (i32.add (local.get $q) (local.get $cb))))
            (f32x4.add
              (f32x4.mul
                (f32x4.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $k))))
                           (v128.load (local.get $q)))
                (v128.load (i32.add (local.get $q) (i32.shl (local.get $cb) (i32.const 1)))))
              (v128.load (i32.add (local.get $q) (i32.mul (local.get $cb) (i32.const 3)))))))`)}
  )`,
};

function trainGradWasm(args: KernelArgs): Info[] {
  const { x, dy, mean, variance, scale } = args.inputs as { x: Info; dy: Info; mean: Info; variance: Info; scale: Info };
  const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  const backend = args.backend as unknown as HeapBackend;
  const { c, rows } = channelsAndRows(x);
  const mu = Float64Array.from(backend.typedArrayFromHeap(mean));
  const { sDy: s1, sDyX: s2 } = channelGradSums(args.backend, x, dy, mu);
  const dx = backend.makeOutput(x.shape, "float32");
  const dScale = backend.makeOutput([c], "float32");
  const dOffset = backend.makeOutput([c], "float32");
  const params = backend.makeOutput([4 * c], "float32");
  try {
    // Views after every makeOutput: growing the heap detaches earlier ones.
    const v = backend.typedArrayFromHeap(variance);
    const g = backend.typedArrayFromHeap(scale);
    const pv = backend.typedArrayFromHeap(params);
    const ds = backend.typedArrayFromHeap(dScale);
    const dof = backend.typedArrayFromHeap(dOffset);
    for (let k = 0; k < c; k++) {
      const inv = 1 / Math.sqrt(v[k] + eps);
      const a = g[k] * inv;
      pv[k] = mu[k];
      pv[c + k] = a;
      pv[2 * c + k] = (-a * inv * inv * s2[k]) / rows;
      pv[3 * c + k] = (-a * s1[k]) / rows;
      ds[k] = s2[k] * inv;
      dof[k] = s1[k];
    }
    const simd = simdKernels(args.backend);
    if (simd && c % 4 === 0) {
      batchNormInputGradShared(simd, heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dx), rows, c, heapOffset(backend, params));
    } else {
      const xv = backend.typedArrayFromHeap(x);
      const dyv = backend.typedArrayFromHeap(dy);
      const dxv = backend.typedArrayFromHeap(dx);
      const p = backend.typedArrayFromHeap(params);
      for (let r = 0, base = 0; r < rows; r++, base += c) {
        for (let k = 0; k < c; k++) {
          dxv[base + k] = dyv[base + k] * p[c + k] + ((xv[base + k] - p[k]) * p[2 * c + k] + p[3 * c + k]);
        }
      }
    }
  } finally {
    backend.disposeData(params.dataId);
  }
  return [dx, dScale, dOffset];
}

export const batchNormTrainGradKernel: WasmKernelDef = {
  name: BATCH_NORM_TRAIN_GRAD,
  requires: { sets: ["fast"], upstream: "adds" },
  impl: trainGradWasm,
  loops: [BATCH_NORM_INPUT_GRAD],
};
