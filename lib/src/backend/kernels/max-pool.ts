/**
 * MaxPool (replaces wasm's): 2×2 windows of stride 2 without padding, channels a multiple of 4, as
 * one WebAssembly SIMD pass shared out among the wasm threads by image; everything else runs wasm's
 * own kernel. XNNPACK's pooling ran on its one-thread pool (wasm-threads.ts), 3–4 ms of a step of
 * `best` at batch 128 that a second thread could not share. The maximum of four values is exact,
 * so the results are XNNPACK's bits (only the sign of a zero maximum may differ).
 */
import * as tf from "@tensorflow/tfjs";
import { upstreamKernel, type HeapBackend, type Info, type KernelArgs } from "../kernel-runner";
import { maxPool2x2Shared } from "../row-loops";
import { heapOffset, simdKernels } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { windows2x2Loop } from "./wat";

/** `maxPool2x2(x, y, n, h, w, c, oh, ow)`: y = the maximum of each 2×2 window, stride 2, NHWC, C a multiple of 4 (byte offsets). */
const MAX_POOL_2X2: WasmLoop = {
  name: "maxPool2x2",
  wat: () => `
  ;; MaxPool, 2×2 windows, stride 2, no padding, NHWC, C a multiple of 4 (byte offsets): the
  ;; oh × ow windows from the top-left corner; rows and columns no window covers are skipped.
  (func (export "maxPool2x2")
    (param $x i32) (param $y i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $cb i32) (local $row i32) (local $b i32) (local $i i32) (local $j i32) (local $k i32)
    (local $p i32) (local $o i32)
${windows2x2Loop(`
            (v128.store (local.get $y)
              (f32x4.max
                (f32x4.max (v128.load (i32.add (local.get $x) (local.get $o)))
                           (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $cb)))))
                (f32x4.max (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $row))))
                           (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $o) (local.get $row)) (local.get $cb)))))))`, `
            (local.set $y (i32.add (local.get $y) (i32.const 16)))`)}
  )`,
};

function maxPool(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const simd = simdKernels(args.backend);
  const attrs = args.attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: unknown; dimRoundingMode?: "floor" | "round" | "ceil" };
  if (!simd || x.dtype !== "float32" || x.shape.length !== 4 || x.shape[3] % 4 !== 0) return upstreamKernel("MaxPool")(args);
  const [n, h, w, c] = x.shape;
  const info = tf.backend_util.computePool2DInfo([n, h, w, c], attrs.filterSize, attrs.strides, 1, attrs.pad as "valid", attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const plain = kh === 2 && kw === 2 && sh === 2 && sw === 2 && padInfo.top === 0 && padInfo.left === 0 && 2 * oh <= h && 2 * ow <= w;
  if (!plain || oh === 0 || ow === 0) return upstreamKernel("MaxPool")(args);
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([n, oh, ow, c], "float32");
  maxPool2x2Shared(simd, heapOffset(backend, x), heapOffset(backend, out), n, h, w, c, oh, ow);
  return out;
}

export const maxPoolKernel: WasmKernelDef = {
  name: "MaxPool",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: maxPool,
  loops: [MAX_POOL_2X2],
};
