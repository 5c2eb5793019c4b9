/**
 * Training kernels for the TensorFlow.js wasm backend. As shipped, wasm cannot train a CNN
 * (no Conv2DBackpropFilter, tensorflow/tfjs#8474), and its matrix product is slow when an
 * operand is transposed, which is exactly what dense-layer gradients ask for. Stride-1
 * convolutions go first to the register-tiled SIMD loops of tiled-conv.ts; the other kernels
 * here are built from the backend's own XNNPACK-backed kernels where one fits, and otherwise are
 * single passes over the backend's heap: WebAssembly SIMD loops (simd-kernels.ts) when they
 * loaded, JavaScript loops with the same results when not.
 */
import * as tf from "@tensorflow/tfjs";
import { heapOffset, simdKernels, withFloat64Scratch } from "./simd-kernels";
import { tiledConv2D, tiledConv2DBackpropFilter, tiledConv2DBackpropInput, tiledFusedConv2D } from "./tiled-conv";

import { asAttrs, asInputs, kernelRunner, wasmKernel, type HeapBackend, type Info, type KernelArgs, type WasmKernel } from "./kernel-runner";

export type { HeapBackend } from "./kernel-runner";

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

let originalConv2dBackpropInput: WasmKernel | undefined;

/**
 * Conv2DBackpropInput for stride 1 as a forward convolution of dy with the kernel rotated by
 * 180° and its channels swapped (the "full" correlation), on XNNPACK; measured 5–6× faster
 * than the wasm kernel on the deep CNN's layers. Other strides use the original kernel.
 */
function conv2dBackpropInput(args: KernelArgs): Info {
  const original = originalConv2dBackpropInput ?? wasmKernel("Conv2DBackpropInput");
  const tiled = tiledConv2DBackpropInput(args);
  if (tiled) return tiled;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as { strides: [number, number] | number; pad: "valid" | "same" | number; inputShape: [number, number, number, number]; dataFormat?: string; dimRoundingMode?: "floor" | "round" | "ceil" };
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { top, left, bottom, right } = info.padInfo;
  const [fh, fw] = filter.shape;
  const flipped = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || (attrs.dataFormat && attrs.dataFormat !== "NHWC") || flipped.some((p) => p < 0)) {
    return original(args);
  }
  const backend = args.backend as unknown as { disposeData(id: object): void };
  const run = kernelRunner(args.backend);
  const reversed = run("Reverse", { x: filter }, { dims: [0, 1] });
  const swapped = run("Transpose", { x: reversed }, { perm: [0, 1, 3, 2] });
  try {
    const [pt, pb, pl, pr] = flipped;
    return run("Conv2D", { x: dy, filter: swapped }, { strides: [1, 1], pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dilations: [1, 1], dataFormat: "NHWC" });
  } finally {
    backend.disposeData(reversed.dataId);
    backend.disposeData(swapped.dataId);
  }
}


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
      simd.maxPoolGrad2x2(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), n, h, w, c, oh, ow);
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
 * runs as WebAssembly SIMD (simd-kernels.ts) when C is a multiple of 4; this is the fallback.
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

let originalBatchMatMul: WasmKernel | undefined;

const size = (t: Info): number => t.shape.reduce((x, y) => x * y, 1);

/**
 * BatchMatMul that never asks XNNPACK for a transposed product (its slow path). C = op(A)·op(B)
 * is computed either directly, transposing whichever operand is marked transposed, or as
 * (op(B)ᵀ·op(A)ᵀ)ᵀ, whichever copies fewer elements: XNNPACK also packs the second operand on
 * every call, so a large second operand (a dense layer's weights in dx = dy·Wᵀ) costs twice.
 * Measured on the 64-filter CNN's 43,264×128 dense layer: see `npm run bench`.
 */
function batchMatMulFast(args: KernelArgs): Info {
  const original = originalBatchMatMul ?? wasmKernel("BatchMatMul");
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (!attrs.transposeA && !attrs.transposeB) return original(args);
  const backend = args.backend as unknown as { disposeData(id: object): void };
  const { a, b } = args.inputs as { a: Info; b: Info };
  const flip = (t: Info): Info => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return wasmKernel("Transpose")({ inputs: asInputs({ x: t }), backend: args.backend, attrs: asAttrs({ perm }) });
  };
  const temps: Info[] = [];
  const product = (x: Info, transposeX: boolean, y: Info, transposeY: boolean): Info => {
    const x2 = transposeX ? flip(x) : x;
    const y2 = transposeY ? flip(y) : y;
    if (x2 !== x) temps.push(x2);
    if (y2 !== y) temps.push(y2);
    return original({ inputs: asInputs({ a: x2, b: y2 }), backend: args.backend, attrs: asAttrs({ ...(args.attrs ?? {}), transposeA: false, transposeB: false }) });
  };
  const [ta, tb] = [attrs.transposeA, attrs.transposeB];
  const outElems = (size(a) / (ta ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1])) * (tb ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1]);
  const direct = (ta ? size(a) : 0) + (tb ? size(b) : 0) + size(b);
  const swapped = (tb ? 0 : size(b)) + (ta ? 0 : size(a)) + size(a) + outElems;
  try {
    if (direct <= swapped) return product(a, ta, b, tb);
    // C = (op(B)ᵀ · op(A)ᵀ)ᵀ, where op(B)ᵀ is B itself when B was marked transposed, and likewise A.
    const ct = product(b, !tb, a, !ta);
    temps.push(ct);
    return flip(ct);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

let originalSum: WasmKernel | undefined;
let originalMean: WasmKernel | undefined;

/**
 * Sum or mean over the LEADING axes of a float32 tensor (bias and batch-norm gradients, batch-norm
 * moments: [N, H, W, C] reduced to [C]). The wasm kernels reduce innermost axes only, so they first
 * transpose the whole activation; here one pass over the heap adds each row of C values into
 * float64 accumulators. Any other reduction goes to the original kernel.
 */
function leadingAxesReduction(kind: "sum" | "mean", args: KernelArgs): Info {
  const original = (kind === "sum" ? originalSum : originalMean) ?? wasmKernel(kind === "sum" ? "Sum" : "Mean");
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

let originalBatchNorm: WasmKernel | undefined;

/**
 * FusedBatchNorm (forward) with per-channel parameters as one SIMD pass: y = (x − mean)·a + offset,
 * a = scale / √(variance + ε) computed once per channel. The wasm kernel takes 12 ms on a
 * [128, 28, 28, 32] activation (4 ns per value); this about 2 ms. Equal to it within float32
 * rounding (a is rounded once per channel). Other shapes, or no SIMD loops, use the original.
 */
function batchNorm(args: KernelArgs): Info {
  const original = originalBatchNorm ?? wasmKernel("FusedBatchNorm");
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, Info | undefined> as { x: Info; mean: Info; variance: Info; offset?: Info; scale?: Info };
  const simd = simdKernels(args.backend);
  const c = x.shape[x.shape.length - 1];
  const perChannel = [mean, variance, offset, scale].every((t) => t === undefined || (t.shape.length === 1 && t.shape[0] === c && t.dtype === "float32"));
  if (!simd || x.dtype !== "float32" || c % 4 !== 0 || !perChannel) return original(args);
  const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const params = backend.makeOutput([3 * c], "float32");
  try {
    const pv = backend.typedArrayFromHeap(params);
    const m = backend.typedArrayFromHeap(mean);
    const v = backend.typedArrayFromHeap(variance);
    const sc = scale ? backend.typedArrayFromHeap(scale) : undefined;
    const of = offset ? backend.typedArrayFromHeap(offset) : undefined;
    for (let k = 0; k < c; k++) {
      pv[k] = m[k];
      pv[c + k] = (sc ? sc[k] : 1) / Math.sqrt(v[k] + eps);
      pv[2 * c + k] = of ? of[k] : 0;
    }
    simd.batchNormApply(heapOffset(backend, x), heapOffset(backend, out), size(x) / c, c, heapOffset(backend, params));
  } finally {
    backend.disposeData(params.dataId);
  }
  return out;
}

/**
 * Identity without a copy: the output shares the input's buffer, counted twice (as the cpu
 * backend and wasm's own Reshape do; tensors are immutable). The wasm kernel copies, and a
 * tfjs-layers training step of `best` (batch 128) ran about 13 of them on whole activations.
 */
function identityShared(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  if (x.dtype === "string") return (originalIdentity ?? wasmKernel("Identity"))(args);
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

let originalIdentity: WasmKernel | undefined;

/** Names of the kernels this module registers or replaces on wasm. */
export const WASM_TRAINING_KERNELS = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad", "BatchMatMul", "Sum", "Mean", "FusedBatchNorm", "Conv2D", "FusedConv2D", "Identity"] as const;


/**
 * Which kernels to install: "fast" (default) installs everything above; "minimal" only makes
 * wasm able to train (Conv2DBackpropFilter as a reshape onto the upstream
 * Conv3DBackpropFilterV2 kernel for stride 1: the least that lets tfjs-backend-wasm 4.22, which
 * ships no Conv2DBackpropFilter, train a CNN), for the
 * benchmark's "before" column. Chosen by FMNIST_WASM_KERNELS.
 */
export type WasmKernelSet = "fast" | "minimal";

let registered: WasmKernelSet | undefined;

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

function replaceKernel(name: string, impl: (args: KernelArgs) => Info): WasmKernel | undefined {
  const existing = tf.getKernel(name, "wasm");
  if (!existing) return undefined;
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...existing, kernelFunc: impl as unknown as tf.KernelFunc });
  return existing.kernelFunc as WasmKernel;
}

/**
 * Registers the training kernels on the wasm backend. Idempotent; asking for a different set
 * after the first call is an error (kernels are process-wide).
 */
export function registerWasmTrainingKernels(set: WasmKernelSet = "fast"): void {
  if (registered) {
    if (registered !== set) throw new Error(`The "${registered}" wasm kernels are already registered in this process; cannot switch to "${set}" (restart the kernel).`);
    return;
  }
  if (!tf.getKernel("Conv2DBackpropFilter", "wasm")) {
    const impl = set === "fast" ? conv2dBackpropFilter : conv2dBackpropFilterMinimal;
    tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: "wasm", kernelFunc: impl as unknown as tf.KernelFunc });
  }
  if (set === "fast") {
    originalConv2dBackpropInput = replaceKernel("Conv2DBackpropInput", conv2dBackpropInput);
    originalBatchMatMul = replaceKernel("BatchMatMul", batchMatMulFast);
    replaceKernel("MaxPoolGrad", maxPoolGrad);
    originalSum = replaceKernel("Sum", (args) => leadingAxesReduction("sum", args));
    originalMean = replaceKernel("Mean", (args) => leadingAxesReduction("mean", args));
    originalBatchNorm = replaceKernel("FusedBatchNorm", batchNorm);
    originalIdentity = replaceKernel("Identity", identityShared);
    const conv2d = replaceKernel("Conv2D", (args) => tiledConv2D(args) ?? (conv2d ?? wasmKernel("Conv2D"))(args));
    const fusedConv2d = replaceKernel("FusedConv2D", (args) => tiledFusedConv2D(args) ?? (fusedConv2d ?? wasmKernel("FusedConv2D"))(args));
  }
  registered = set;
}

/** The kernel set registered in this process, if any. */
export function wasmKernelSet(): WasmKernelSet | undefined {
  return registered;
}
