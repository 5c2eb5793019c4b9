/**
 * Stride-1 NHWC convolutions (forward, input gradient, filter gradient) on the register-tiled
 * SIMD loops of conv-wat.ts, which run a CNN's 3×3 layers 1.3–1.6× (forward) and 2–2.4× (filter
 * gradient) faster than XNNPACK's WebAssembly build does on one thread (measured on the deep CNN's
 * layers, batch 32). With several wasm threads, this thread and the helpers (tile-helpers.ts)
 * claim chunks of the images in turn. Each returns undefined when its case is not covered (other strides or dilations, a
 * channel count the tiles do not divide, no SIMD loops, several threads but no helpers), and the
 * caller runs its previous kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { CONV_FILTER_LANES } from "./conv-wat";
import type { HeapBackend, Info, KernelArgs } from "./kernel-runner";
import { heapOffset, simdKernels, type SimdKernels } from "./simd-kernels";
import { runChunked, tileHelperCount, unitJob } from "./tile-helpers";

type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];
interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dilations?: [number, number] | number;
  dataFormat?: string;
  dimRoundingMode?: "floor" | "round" | "ceil";
}
type Shape4 = [number, number, number, number];

/**
 * Images per filter-gradient chunk: each chunk's gradient is summed on its own and the chunks are
 * added in order, so results do not depend on how many threads share the work. 16 keeps batches
 * of 32 and more splitting evenly over 2 threads at little extra summing.
 */
const GRAD_CHUNK = 16;

/** First-level data cache the filter gradient blocks its rows for (bytes; 32–48 KiB on current x86 and ARM cores). */
const L1_BYTES = 32 * 1024;

/** How often each loop ran in this process (for tests and profiles: which route a layer took). */
export const tiledConvCalls = { forward: 0, inputGradient: 0, filterGradient: 0 };

/** Threads the wasm backend runs on in this process. */
let poolThreads = 1;

/**
 * Tells the kernels how many threads the wasm backend runs on: above 1 they use that many
 * threads (this one and helpers) or, without helpers, leave the layers to XNNPACK's pool.
 */
export function setTiledConvThreads(threads: number): void {
  poolThreads = threads;
}

/** How many threads share a convolution (or a matrix product, tiled-gemm.ts): this one and the helpers, at most one per image (or share). */
export function threadsFor(images: number): number {
  return Math.max(1, Math.min(images, poolThreads, 1 + tileHelperCount()));
}

/** Values below which a memory-bound loop (padding, totals, batch norm, pooling, ReLU) stays on the calling thread: a hand-over costs microseconds, these run at about 1 ns per value. */
const SPLIT_VALUES = 1 << 16;

/** Threads for a memory-bound loop over `values` values in `units` units: one below {@link SPLIT_VALUES}, else {@link threadsFor}. */
export function sharedThreads(values: number, units: number): number {
  return values < SPLIT_VALUES ? 1 : threadsFor(units);
}

/** False when wasm runs on several threads but the helpers are missing: the layers are then left to XNNPACK's pool. */
export function tileThreadsReady(): boolean {
  return !(poolThreads > 1 && tileHelperCount() < poolThreads - 1);
}

/** The SIMD loops, when this convolution is one they cover. */
function tiles(backend: unknown, info: tf.backend_util.Conv2DInfo, attrs: ConvAttrs, lanesOf: number): SimdKernels | undefined {
  if (!tileThreadsReady()) return undefined;
  if (attrs.dataFormat && attrs.dataFormat !== "NHWC") return undefined;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  if (lanesOf % CONV_FILTER_LANES !== 0) return undefined;
  return simdKernels(backend);
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
}

/**
 * Runs `body` on x zero-padded by [top, bottom, left, right] (x itself when all are 0): a copy made
 * by the padImages loop, images shared among the threads (an exact copy, as wasm's PadV2 made on
 * the calling thread alone).
 */
function withPadded<T>(args: KernelArgs, simd: SimdKernels, x: Info, pads: [number, number, number, number], body: (padded: Info) => T): T {
  const [top, bottom, left, right] = pads;
  if (!top && !bottom && !left && !right) return body(x);
  const backend = args.backend as unknown as HeapBackend;
  const [n, h, w, c] = x.shape;
  const [hp, wp] = [h + top + bottom, w + left + right];
  const padded = backend.makeOutput([n, hp, wp, c], "float32");
  try {
    const job = unitJob("padImages", [heapOffset(backend, x), heapOffset(backend, padded), n, h, w, c, top, bottom, left, right], [4 * h * w * c, 4 * hp * wp * c], n, { arg: 2, perUnit: 1, total: n }, sharedThreads(n * hp * wp * c, n));
    runChunked(job, simd);
    return body(padded);
  } finally {
    backend.disposeData(padded.dataId);
  }
}

function forward(args: KernelArgs, simd: SimdKernels, x: Info, filter: Info, info: tf.backend_util.Conv2DInfo, bias: Info | undefined, relu: boolean): Info {
  const backend = args.backend as unknown as HeapBackend;
  const { top, bottom, left, right } = info.padInfo;
  const [n, , , c] = x.shape;
  const { outHeight: oh, outWidth: ow, outChannels: f, filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput([n, oh, ow, f], "float32");
  tiledConvCalls.forward++;
  withPadded(args, simd, x, [top, bottom, left, right], (xp) => {
    const [, hp, wp] = xp.shape;
    forwardShared(simd, heapOffset(backend, xp), heapOffset(backend, filter), heapOffset(backend, out), [n, hp, wp, c, oh, ow, f, fh, fw],
      bias ? heapOffset(backend, bias) : 0, (bias ? 1 : 0) | (relu ? 2 : 0));
  });
  return out;
}

/** convForward over all images, in chunks of images that the threads claim in turn. */
function forwardShared(simd: SimdKernels, x: number, w: number, y: number, dims: [number, number, number, number, number, number, number, number, number], bias: number, flags: number): void {
  const [n, hp, wp, c, oh, ow, f, fh, fw] = dims;
  const args = [x, w, y, n, hp, wp, c, oh, ow, f, fh, fw, bias, flags];
  runChunked(unitJob("convForward", args, [4 * hp * wp * c, 0, 4 * oh * ow * f], n, { arg: 3, perUnit: 1, total: n }, threadsFor(n)), simd);
}

/** Conv2D: y = conv(x, filter), or undefined when not covered. */
export function tiledConv2D(args: KernelArgs): Info | undefined {
  const { x, filter } = args.inputs as { x: Info; filter: Info };
  const attrs = args.attrs as unknown as ConvAttrs;
  if (x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  const simd = tiles(args.backend, info, attrs, info.outChannels);
  return simd && forward(args, simd, x, filter, info, undefined, false);
}

/** FusedConv2D with a per-filter bias and a linear or relu activation, or undefined. */
export function tiledFusedConv2D(args: KernelArgs): Info | undefined {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Info | undefined> as { x: Info; filter: Info; bias?: Info; preluActivationWeights?: Info };
  const attrs = args.attrs as unknown as ConvAttrs & { activation?: string };
  const activation = attrs.activation ?? "linear";
  if (preluActivationWeights || (activation !== "linear" && activation !== "relu")) return undefined;
  if (x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  if (bias && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return undefined;
  const simd = tiles(args.backend, info, attrs, info.outChannels);
  return simd && forward(args, simd, x, filter, info, bias, activation === "relu");
}

/**
 * Conv2DBackpropInput as the forward loop over dy, padded for the "full" correlation, with the
 * filter rotated by 180° and its channel axes swapped; undefined when not covered.
 */
export function tiledConv2DBackpropInput(args: KernelArgs): Info | undefined {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: Shape4 };
  if (dy.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  const [n, h, w, c] = attrs.inputShape;
  const [fh, fw, , f] = filter.shape;
  const { top, bottom, left, right } = info.padInfo;
  const pads: [number, number, number, number] = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (pads.some((p) => p < 0)) return undefined;
  const simd = tiles(args.backend, info, attrs, c);
  if (!simd) return undefined;
  const backend = args.backend as unknown as HeapBackend;
  const turned = backend.makeOutput([fh, fw, f, c], "float32");
  try {
    const src = backend.typedArrayFromHeap(filter);
    const dst = backend.typedArrayFromHeap(turned);
    for (let r = 0; r < fh; r++) {
      for (let s = 0; s < fw; s++) {
        const from = ((fh - 1 - r) * fw + (fw - 1 - s)) * c * f;
        const to = (r * fw + s) * f * c;
        for (let k = 0; k < c; k++) for (let o = 0; o < f; o++) dst[to + o * c + k] = src[from + k * f + o];
      }
    }
    const out = backend.makeOutput([n, h, w, c], "float32");
    tiledConvCalls.inputGradient++;
    withPadded(args, simd, dy, pads, (dyp) => {
      const [, hp, wp] = dyp.shape;
      forwardShared(simd, heapOffset(backend, dyp), heapOffset(backend, turned), heapOffset(backend, out), [n, hp, wp, f, h, w, c, fh, fw], 0, 0);
    });
    return out;
  } finally {
    backend.disposeData(turned.dataId);
  }
}

/** Conv2DBackpropFilter, or undefined when not covered. */
export function tiledConv2DBackpropFilter(args: KernelArgs): Info | undefined {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  if (x.dtype !== "float32" || dy.dtype !== "float32") return undefined;
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  const [n, , , c] = x.shape;
  const [fh, fw, , f] = attrs.filterShape;
  const simd = tiles(args.backend, info, attrs, f);
  if (!simd) return undefined;
  const backend = args.backend as unknown as HeapBackend;
  const { top, bottom, left, right } = info.padInfo;
  const { outHeight: oh, outWidth: ow } = info;
  const out = backend.makeOutput([fh, fw, c, f], "float32");
  tiledConvCalls.filterGradient++;
  withPadded(args, simd, x, [top, bottom, left, right], (xp) => {
    const [, hp, wp] = xp.shape;
    // Output rows per block: the block's gradient rows and input rows fit the first-level cache.
    const block = Math.max(1, Math.floor(L1_BYTES / (4 * (ow * f + wp * c))));
    // The gradient is summed per chunk of GRAD_CHUNK images, each into its own buffer, and the chunks'
    // buffers are added in order: the same sums whichever thread did which chunk, so the result does
    // not depend on the thread count. Threads take consecutive chunks.
    const chunks = Math.ceil(n / GRAD_CHUNK);
    const dwSize = fh * fw * c * f;
    const sums = chunks === 1 ? out : backend.makeOutput([chunks * dwSize], "float32");
    try {
      // Zeroed here (the loop adds to it); with several chunks `out` is then written, not added to.
      const heap = backend.typedArrayFromHeap(sums);
      heap.fill(0);
      // Units of GRAD_CHUNK images, each summed into its own buffer by whichever thread claims it.
      const args = [heapOffset(backend, xp), heapOffset(backend, dy), heapOffset(backend, sums), n, GRAD_CHUNK, hp, wp, c, oh, ow, f, fh, fw, block];
      const steps = [4 * GRAD_CHUNK * hp * wp * c, 4 * GRAD_CHUNK * oh * ow * f, 4 * dwSize];
      runChunked(unitJob("convFilterGrad", args, steps, chunks, { arg: 3, perUnit: GRAD_CHUNK, total: n }, threadsFor(chunks)), simd);
      if (sums !== out) {
        // The chunks' sums added in order (a shared loop: each thread totals its own band of values).
        const vectors = dwSize / 4;
        const add = [heapOffset(backend, sums), heapOffset(backend, out), vectors, chunks, 4 * dwSize];
        runChunked(unitJob("addChunks", add, [16, 16], vectors, { arg: 2, perUnit: 1, total: vectors }, sharedThreads(dwSize * chunks, vectors)), simd);
      }
    } finally {
      if (sums !== out) backend.disposeData(sums.dataId);
    }
  });
  return out;
}
