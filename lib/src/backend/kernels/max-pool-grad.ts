/**
 * MaxPoolGrad (replaces wasm's): one pass over the backend's heap that follows the cpu backend
 * exactly; 2×2 windows of stride 2 run as a WebAssembly SIMD loop (below) when C is a multiple of 4.
 */
import * as tf from "@tensorflow/tfjs";
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { maxPoolGrad2x2Shared } from "../row-loops";
import { heapOffset, simdKernels } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { windows2x2Loop } from "./wat";

/** `maxPoolGrad2x2(x, dy, dx, n, h, w, c, oh, ow)`: the 2×2, stride-2 case as f32x4 lanes over the channels. */
const MAX_POOL_GRAD_2X2: WasmLoop = {
  name: "maxPoolGrad2x2",
  wat: () => `
  ;; MaxPoolGrad, 2×2 windows, stride 2, no padding, NHWC, C a multiple of 4. Byte offsets.
  ;; Each window's gradient goes to its first maximum in row-major order (strict >, as the cpu
  ;; backend); the other three positions get 0. Rows/columns no window covers are not written.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $cb i32) (local $row i32) (local $b i32) (local $i i32) (local $j i32) (local $k i32)
    (local $p i32) (local $o i32) (local $d i32)
    (local $v00 v128) (local $v01 v128) (local $v10 v128) (local $v11 v128)
    (local $g v128) (local $best v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local.set $d (local.get $dy))${windows2x2Loop(`
            (local.set $v00 (v128.load (i32.add (local.get $x) (local.get $o))))
            (local.set $v01 (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $cb)))))
            (local.set $v10 (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $row)))))
            (local.set $v11 (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $o) (local.get $row)) (local.get $cb)))))
            (local.set $g (v128.load (local.get $d)))
            (local.set $m1 (f32x4.gt (local.get $v01) (local.get $v00)))
            (local.set $best (v128.bitselect (local.get $v01) (local.get $v00) (local.get $m1)))
            (local.set $m2 (f32x4.gt (local.get $v10) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v10) (local.get $best) (local.get $m2)))
            (local.set $m3 (f32x4.gt (local.get $v11) (local.get $best)))
            ;; winner 3: m3; 2: m2 and not m3; 1: m1 and neither; 0: none of them
            (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $o) (local.get $row)) (local.get $cb)))
              (v128.and (local.get $g) (local.get $m3)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $o) (local.get $row)))
              (v128.and (local.get $g) (v128.andnot (local.get $m2) (local.get $m3))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $o) (local.get $cb)))
              (v128.and (local.get $g) (v128.andnot (v128.andnot (local.get $m1) (local.get $m2)) (local.get $m3))))
            (v128.store (i32.add (local.get $dx) (local.get $o))
              (v128.andnot (local.get $g) (v128.or (v128.or (local.get $m1) (local.get $m2)) (local.get $m3))))`, `
            (local.set $d (i32.add (local.get $d) (i32.const 16)))`)}
  )`,
};

/**
 * MaxPoolGrad as one pass over the backend's heap. The upstream wasm kernel returns wrong
 * gradients for all but tiny inputs (26×26 feature maps, odd sizes: see the tests), so every
 * pooled CNN trained on it got corrupted updates; this follows the cpu backend exactly: for each
 * window, the first maximum in row-major order receives the window's gradient (padding never
 * wins), and overlapping windows add up. One pass over the heap is used because no combination
 * of wasm kernels expresses "first argmax" cheaply (strided views made it 6× slower than a loop);
 * the 2×2/stride-2 case runs as a SIMD loop (7× faster than the JavaScript one on [32, 26, 26, 32]).
 */
function maxPoolGrad(args: KernelArgs): Info {
  const { dy, input: x } = args.inputs as { dy: Info; input: Info };
  const attrs = args.attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: unknown; dimRoundingMode?: "floor" | "round" | "ceil" };
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad as "valid", attrs.dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, dilationHeight, dilationWidth } = info;
  if (dilationHeight !== 1 || dilationWidth !== 1) throw new Error("MaxPoolGrad on wasm: dilated pooling is not supported.");
  const { top, left } = info.padInfo;
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  // Views only after makeOutput: growing the heap detaches earlier views.
  const dx = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const [n, h, w, c] = x.shape;
  if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h && 2 * ow <= w) {
    const simd = simdKernels(args.backend);
    if (simd && c % 4 === 0) {
      if (2 * oh < h || 2 * ow < w) dx.fill(0);
      maxPoolGrad2x2Shared(simd, heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), n, h, w, c, oh, ow);
    } else {
      maxPoolGrad2x2(xv, dyv, dx, n, h, w, c, oh, ow);
    }
    return out;
  }
  dx.fill(0);
  // Channels innermost, as NHWC stores them: each window position is one contiguous run of c values.
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r0 = i * sh - top;
      const rLo = Math.max(r0, 0);
      const rHi = Math.min(r0 + kh, h);
      for (let j = 0; j < ow; j++) {
        const c0 = j * sw - left;
        const qLo = Math.max(c0, 0);
        const qHi = Math.min(c0 + kw, w);
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = rLo; r < rHi; r++) {
          for (let q = qLo; q < qHi; q++) {
            const base = ((b * h + r) * w + q) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = xv[base + ch];
              if (v > best[ch] || at[ch] < 0) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let ch = 0; ch < c; ch++) if (at[ch] >= 0) dx[at[ch]] += dyv[dyBase + ch];
      }
    }
  }
  return out;
}

/**
 * The common case (2×2 windows, stride 2, no padding). Windows do not overlap, so every element of dx
 * is written exactly once (the window's gradient to the first maximum in row-major order, 0 to the
 * other three); only a last odd row or column, which no window covers, is zero-filled. The same loop
 * runs as WebAssembly SIMD (MAX_POOL_GRAD_2X2 above) when C is a multiple of 4; this is the fallback.
 */
function maxPoolGrad2x2(xv: Float32Array, dyv: Float32Array, dx: Float32Array, n: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const row = w * c;
  if (2 * oh < h || 2 * ow < w) dx.fill(0);
  let d = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      let p00 = (b * h + 2 * i) * row;
      for (let j = 0; j < ow; j++, p00 += 2 * c) {
        const p01 = p00 + c;
        const p10 = p00 + row;
        const p11 = p10 + c;
        for (let ch = 0; ch < c; ch++, d++) {
          const g = dyv[d];
          const v00 = xv[p00 + ch];
          const v01 = xv[p01 + ch];
          const v10 = xv[p10 + ch];
          const v11 = xv[p11 + ch];
          // Index of the first maximum: 0, 1, 2 or 3 (strict > keeps the earlier one on ties).
          let best = v00;
          let k = 0;
          if (v01 > best) { best = v01; k = 1; }
          if (v10 > best) { best = v10; k = 2; }
          if (v11 > best) k = 3;
          dx[p00 + ch] = k === 0 ? g : 0;
          dx[p01 + ch] = k === 1 ? g : 0;
          dx[p10 + ch] = k === 2 ? g : 0;
          dx[p11 + ch] = k === 3 ? g : 0;
        }
      }
    }
  }
}

export const maxPoolGradKernel: WasmKernelDef = {
  name: "MaxPoolGrad",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: maxPoolGrad,
  loops: [MAX_POOL_GRAD_2X2],
};
