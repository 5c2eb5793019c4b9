/**
 * Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks (tensorflow/tfjs#8474), so wasm can
 * train a CNN at all. "fast": the register-tiled SIMD loops of ../tiled-conv.ts for stride 1, else
 * wasm's XNNPACK-backed kernels (below). "minimal" (the benchmark's "before" column): stride 1 as a
 * reshape onto the upstream Conv3DBackpropFilterV2 kernel, the least that lets wasm train a CNN.
 */
import * as tf from "@tensorflow/tfjs";
import { asAttrs, asInputs, kernelRunner, wasmKernel, type HeapBackend, type Info, type KernelArgs } from "../kernel-runner";
import { heapOffset } from "../simd-kernels";
import { tiledConv2DBackpropFilter } from "../tiled-conv";
import { batchMatMulFast } from "./batch-mat-mul";
import { CONV_LOOPS } from "./conv2d";
import type { WasmKernelDef } from "./kernel";

/**
 * Conv2DBackpropFilter from wasm kernels, so the work runs on XNNPACK. Stride 1: one forward
 * convolution of transposed tensors (below). Larger strides: per filter tap (kh, kw),
 * dW[kh, kw] = Xᵀ(kh, kw) · dY, where X(kh, kw) is the strided input window that tap sees,
 * reshaped to [N·OH·OW, C]. (The wasm Conv3DBackpropFilterV2 kernel that a 2-D filter gradient
 * could be mapped onto is a scalar loop whose bounds are wrong for strides above 1.)
 */
function conv2dBackpropFilter(args: KernelArgs): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as { strides: [number, number] | number; pad: "valid" | "same" | number; filterShape: [number, number, number, number]; dataFormat?: string; dimRoundingMode?: "floor" | "round" | "ceil" };
  if (attrs.dataFormat && attrs.dataFormat !== "NHWC") throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${attrs.dataFormat}.`);
  const tiled = tiledConv2DBackpropFilter(args);
  if (tiled) return tiled;
  const backend = args.backend as unknown as HeapBackend;
  const run = kernelRunner(args.backend);
  const temps: Info[] = [];
  const keep = (t: Info): Info => (temps.push(t), t);
  try {
    const [n, , , c] = x.shape;
    const [fh, fw, , f] = attrs.filterShape;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const { top, left, bottom, right } = info.padInfo;
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    if (c === 1 && sh === 1 && sw === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) return filterGradientOneChannel(x, dy, info, args.backend);
    const padded = top || left || bottom || right ? keep(run("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })) : x;
    if (sh === 1 && sw === 1) {
      // dW[kh, kw, c, f] = Σ_{n,i,j} x[n, i+kh, j+kw, c] · dy[n, i, j, f] is a stride-1 "valid"
      // convolution of xᵀ = [c, H, W, n] with the filter dyᵀ = [oh, ow, n, f], giving [c, kh, kw, f].
      // XNNPACK does not block its products along the reduction (here N·OH·OW, e.g. 100,352 at batch
      // 128), so one product streams its operands from memory once per output tile; images are
      // therefore taken a few at a time (a reduction of about 4,096) and the partial gradients added
      // up. Measured at batch 128: 49 → 38 ms on 14×14×32 → 64, 117 → 84 ms on 28×28×32 → 32; at
      // batch 32 within ±10% either way.
      const per = imagesPerProduct(n, oh, ow);
      const [, hp, wp] = padded.shape;
      const sum = new Float64Array(c * fh * fw * f);
      for (let b0 = 0; b0 < n; b0 += per) {
        const nb = Math.min(per, n - b0);
        withHeapScope(backend, (scope) => {
          const xt = scope.temp(run("Transpose", { x: scope.view(padded, b0 * hp * wp * c, [nb, hp, wp, c]) }, { perm: [3, 1, 2, 0] }));
          const dyt = scope.temp(run("Transpose", { x: scope.view(dy, b0 * oh * ow * f, [nb, oh, ow, f]) }, { perm: [1, 2, 0, 3] }));
          const part = scope.temp(run("Conv2D", { x: xt, filter: dyt }, { strides: [1, 1], pad: "valid", dilations: [1, 1], dataFormat: "NHWC" }));
          addInto(sum, backend.typedArrayFromHeap(part));
        });
      }
      const total = keep(backend.makeOutput([c, fh, fw, f], "float32"));
      backend.typedArrayFromHeap(total).set(sum);
      return run("Transpose", { x: total }, { perm: [1, 2, 0, 3] });
    }
    const m = n * oh * ow;
    const dy3: Info = { dataId: dy.dataId, dtype: dy.dtype, shape: [1, m, f] };
    const taps: Info[] = [];
    for (let kh = 0; kh < fh; kh++) {
      for (let kw = 0; kw < fw; kw++) {
        const window = keep(run("StridedSlice", { x: padded }, {
          begin: [0, kh, kw, 0], end: [n, kh + (oh - 1) * sh + 1, kw + (ow - 1) * sw + 1, c], strides: [1, sh, sw, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        }));
        const x3: Info = { dataId: window.dataId, dtype: window.dtype, shape: [1, m, c] };
        taps.push(keep(batchMatMulFast({ inputs: asInputs({ a: x3, b: dy3 }), backend: args.backend, attrs: asAttrs({ transposeA: true, transposeB: false }) })));
      }
    }
    const flat = taps.map((t): Info => ({ dataId: t.dataId, dtype: t.dtype, shape: [c, f] }));
    const out = flat.length === 1 ? run("Identity", { x: flat[0] }, {}) : run("Concat", flat, { axis: 0 });
    return { dataId: out.dataId, dtype: out.dtype, shape: [fh, fw, c, f] };
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Stride-1 filter gradient of a 1-channel layer (the input layer) as XNNPACK matrix products,
 * dWᵀ = dYᵀ·P, with P [M, T] the im2col patches of x (T filter taps, M = N·OH·OW output positions)
 * written straight into the wasm heap, a few images per product. XNNPACK repacks the second operand
 * of a product on every call; here that is the narrow P, where the convolution route below hands it
 * an [OH, OW, N, F] filter the size of dy. Measured (fresh dy each call, 1 thread): [32, 28, 28, 1]
 * → 64 filters 3.3 vs 8.0 ms; [128, 28, 28, 1] → 32 filters, "same", about 10 vs 35 ms. At 4
 * channels the convolution route was faster.
 */
function filterGradientOneChannel(x: Info, dy: Info, info: tf.backend_util.Conv2DInfo, backendArg: KernelArgs["backend"]): Info {
  const backend = backendArg as unknown as HeapBackend;
  const run = kernelRunner(backendArg);
  const [n, h, w] = x.shape;
  const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, outChannels: f } = info;
  const taps = fh * fw;
  // A few images per product, as in conv2dBackpropFilter (XNNPACK does not block the reduction).
  const per = imagesPerProduct(n, oh, ow);
  const sum = new Float64Array(f * taps);
  const p = backend.makeOutput([1, per * oh * ow, taps], "float32");
  try {
    for (let b0 = 0; b0 < n; b0 += per) {
      const nb = Math.min(per, n - b0);
      const mc = nb * oh * ow;
      fillPatches(backend.typedArrayFromHeap(p), backend.typedArrayFromHeap(x).subarray(b0 * h * w), nb, h, w, oh, ow, fh, fw, info.padInfo.top, info.padInfo.left);
      withHeapScope(backend, (scope) => {
        const dyt = scope.temp(run("Transpose", { x: scope.view(dy, b0 * oh * ow * f, [mc, f]) }, { perm: [1, 0] }));
        const product = scope.temp(run("BatchMatMul", { a: { dataId: dyt.dataId, dtype: dyt.dtype, shape: [1, f, mc] }, b: scope.view(p, 0, [1, mc, taps]) }, { transposeA: false, transposeB: false }));
        addInto(sum, backend.typedArrayFromHeap(product));
      });
    }
  } finally {
    backend.disposeData(p.dataId);
  }
  // sum is dWᵀ [F, T]; the result is [FH, FW, 1, F] = [T, F].
  const out = backend.makeOutput([fh, fw, 1, f], "float32");
  const ov = backend.typedArrayFromHeap(out);
  for (let t = 0; t < taps; t++) for (let k = 0; k < f; k++) ov[t * f + k] = sum[k * taps + t];
  return out;
}

/** im2col of a 1-channel input: P[(b·OH + i)·OW + j, kh·FW + kw] = x[b, i+kh-top, j+kw-left], 0 outside the image. */
function fillPatches(p: Float32Array, xv: Float32Array, n: number, h: number, w: number, oh: number, ow: number, fh: number, fw: number, top: number, left: number): void {
  let o = 0;
  for (let b = 0; b < n; b++) {
    const image = b * h * w;
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let kh = 0; kh < fh; kh++) {
          const r = i + kh - top;
          const inside = r >= 0 && r < h;
          const row = image + r * w;
          for (let kw = 0; kw < fw; kw++, o++) {
            const q = j + kw - left;
            p[o] = inside && q >= 0 && q < w ? xv[row + q] : 0;
          }
        }
      }
    }
  }
}

/** Images per filter-gradient product, for a reduction of about 4,096 (see conv2dBackpropFilter). */
function imagesPerProduct(n: number, oh: number, ow: number): number {
  return Math.min(n, Math.max(1, Math.round(4096 / (oh * ow))));
}

/** The wasm backend's bookkeeping that views need (tfjs-backend-wasm 4.22 internals). */
type ViewBackend = HeapBackend & {
  makeOutput(shape: number[], dtype: "float32", memoryOffset?: number): Info;
  dataIdMap: { get(id: object): { id: number }; delete(id: object): void };
  wasm: { tfjs: { disposeData(id: number): void } };
};

/** Tensors made for one step of a kernel: heap views (no copy) and temporaries, all released when the step ends. */
interface HeapScope {
  /** A tensor over `base`'s memory from element `offset` on, with `shape`; forgotten, not freed, at the end. */
  view(base: Info, offset: number, shape: number[]): Info;
  /** Disposes `t` at the end. */
  temp(t: Info): Info;
}

function withHeapScope(backend: HeapBackend, step: (scope: HeapScope) => void): void {
  const b = backend as ViewBackend;
  const views: Info[] = [];
  const temps: Info[] = [];
  try {
    step({
      view: (base, offset, shape) => {
        const v = b.makeOutput(shape, "float32", heapOffset(b, base) + 4 * offset);
        views.push(v);
        return v;
      },
      temp: (t) => (temps.push(t), t),
    });
  } finally {
    for (const t of temps) b.disposeData(t.dataId);
    // A view's memory belongs to its base tensor: unregister it without freeing.
    for (const v of views) {
      b.wasm.tfjs.disposeData(b.dataIdMap.get(v.dataId).id);
      b.dataIdMap.delete(v.dataId);
    }
  }
}

/** sum[k] += part[k] (float64 accumulation of float32 partial results). */
function addInto(sum: Float64Array, part: Float32Array): void {
  for (let k = 0; k < sum.length; k++) sum[k] += part[k];
}

/** Minimal-mode Conv2DBackpropFilter: stride 1 via the upstream 3-D kernel, else per-tap products. */
function conv2dBackpropFilterMinimal(args: KernelArgs): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as { strides: [number, number] | number; pad: unknown; filterShape: [number, number, number, number] };
  const [sh, sw] = typeof attrs.strides === "number" ? [attrs.strides, attrs.strides] : attrs.strides;
  if (sh !== 1 || sw !== 1) return conv2dBackpropFilter(args);
  const [fh, fw, inC, outC] = attrs.filterShape;
  const x5: Info = { dataId: x.dataId, dtype: x.dtype, shape: [x.shape[0], 1, x.shape[1], x.shape[2], x.shape[3]] };
  const dy5: Info = { dataId: dy.dataId, dtype: dy.dtype, shape: [dy.shape[0], 1, dy.shape[1], dy.shape[2], dy.shape[3]] };
  const out = wasmKernel("Conv3DBackpropFilterV2")({
    inputs: asInputs({ x: x5, dy: dy5 }),
    backend: args.backend,
    attrs: asAttrs({ strides: [1, 1, 1], pad: attrs.pad, filterShape: [1, fh, fw, inC, outC] }),
  });
  return { dataId: out.dataId, dtype: out.dtype, shape: [fh, fw, inC, outC] };
}

export const conv2dBackpropFilterKernel: WasmKernelDef = {
  name: "Conv2DBackpropFilter",
  requires: { sets: ["fast"], upstream: "adds" },
  impl: conv2dBackpropFilter,
  loops: [CONV_LOOPS],
};

export const conv2dBackpropFilterMinimalKernel: WasmKernelDef = {
  name: "Conv2DBackpropFilter",
  requires: { sets: ["minimal"], upstream: "adds" },
  impl: conv2dBackpropFilterMinimal,
};
