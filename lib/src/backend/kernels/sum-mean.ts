/**
 * Sum and Mean (replace wasm's) over the leading axes of a float32 tensor, as one pass over the
 * heap with float64 accumulators (a WebAssembly SIMD loop, below, when the row length is a
 * multiple of 4); any other reduction runs wasm's own kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { upstreamKernel, type HeapBackend, type Info, type KernelArgs } from "../kernel-runner";
import { heapOffset, simdKernels, withFloat64Scratch } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { rowsLoop } from "./wat";

/** `sumRows(x, rows, cols, acc)`: acc[k] += x[r·cols + k] in float64 for every row r < rows (cols a multiple of 4; acc: cols float64). */
const SUM_ROWS: WasmLoop = {
  name: "sumRows",
  wat: () => `
  ;; acc[k] += x[r·cols + k] in float64 for every row r < rows (cols a multiple of 4; acc: cols float64).
  (func (export "sumRows") (param $x i32) (param $rows i32) (param $cols i32) (param $acc i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $p i32) (local $a i32) (local $v v128)${rowsLoop("p", `
        (local.set $v (v128.load (i32.add (local.get $p) (local.get $k))))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 1))))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))`, `
    (local.set $p (local.get $x))`)}
  )`,
};

/**
 * Sum or mean over the LEADING axes of a float32 tensor (bias and batch-norm gradients, batch-norm
 * moments: [N, H, W, C] reduced to [C]). The wasm kernels reduce innermost axes only, so they first
 * transpose the whole activation; here one pass over the heap adds each row of C values into
 * float64 accumulators. Any other reduction goes to the original kernel.
 */
function leadingAxesReduction(kind: "sum" | "mean", args: KernelArgs): Info {
  const original = upstreamKernel(kind === "sum" ? "Sum" : "Mean");
  const { x } = args.inputs as { x: Info };
  const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== "float32" || !leading) return original(args);
  const rows = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
  const kept = x.shape.slice(axes.length);
  const cols = kept.reduce((p, q) => p * q, 1);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput(shape, "float32");
  const simd = simdKernels(args.backend);
  let acc: Float64Array;
  if (simd && cols % 4 === 0) {
    acc = withFloat64Scratch(backend, cols, (accumulators) => simd.sumRows(heapOffset(backend, x), rows, cols, accumulators));
  } else {
    const xv = backend.typedArrayFromHeap(x);
    acc = new Float64Array(cols);
    for (let r = 0, base = 0; r < rows; r++, base += cols) {
      for (let k = 0; k < cols; k++) acc[k] += xv[base + k];
    }
  }
  const ov = backend.typedArrayFromHeap(out);
  const scale = kind === "mean" ? 1 / rows : 1;
  for (let k = 0; k < cols; k++) ov[k] = acc[k] * scale;
  return out;
}

export const sumKernel: WasmKernelDef = {
  name: "Sum",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: (args) => leadingAxesReduction("sum", args),
  loops: [SUM_ROWS],
};

export const meanKernel: WasmKernelDef = {
  name: "Mean",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: (args) => leadingAxesReduction("mean", args),
  loops: [SUM_ROWS],
};
