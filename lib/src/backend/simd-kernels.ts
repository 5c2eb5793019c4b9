/**
 * WebAssembly SIMD loops that run on the wasm backend's own memory. Some training steps have no
 * XNNPACK kernel to build on (the max-pool gradient, Adam's update); as JavaScript loops over the
 * heap they were among the costliest kernels of a step, and as ten separate elementwise wasm
 * kernels (Adam upstream) they allocate and traverse full-size tensors ten times. Here each is one
 * pass of 128-bit vector code, assembled at start-up (wabt) from the text each kernel of
 * kernels/ generates for its loops, and instantiated against the backend's WebAssembly.Memory, so
 * pointers are the backend's tensor offsets and no data is copied. Every float operation is the one
 * the JavaScript or upstream version does, in the same order (IEEE float32, no fused multiply-add),
 * so results are bit for bit the same. The same module carries the register-tiled convolutions of
 * conv-wat.ts (tiled-conv.ts) and matrix products of gemm-wat.ts (tiled-gemm.ts), which sum in
 * their own order: equal to XNNPACK's results within float32 rounding, not bit for bit.
 */
import type * as tf from "@tensorflow/tfjs";
import type { HeapBackend } from "./kernel-runner";

// Node's WebAssembly global, typed here (the project's type libraries do not declare it).
interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }
declare const WebAssembly: {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** The exported loops (each written next to the kernel that runs it, in kernels/); every pointer is a byte offset into the backend's memory. */
export interface SimdKernels {
  maxPool2x2(x: number, y: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
  reluForward(x: number, out: number, vectors: number): void;
  reluGrad(x: number, dy: number, out: number, vectors: number): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void;
  sumRows(x: number, rows: number, cols: number, acc: number): void;
  batchNormGradSums(x: number, dy: number, mean: number, rows: number, cols: number, sdy: number, sdyx: number): void;
  batchNormApply(x: number, out: number, rows: number, cols: number, params: number): void;
  batchNormInputGrad(x: number, dy: number, out: number, rows: number, cols: number, params: number): void;
  adam(
    p: number, m: number, v: number, g: number, pOut: number, mOut: number, vOut: number, len: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    oneMinusAccBeta1: number, oneMinusAccBeta2: number, epsilon: number, negLearningRate: number,
  ): void;
  /** Stride-1 "valid" convolution of a padded input (conv-wat.ts); flags: 1 add bias, 2 relu. */
  convForward(x: number, w: number, y: number, n: number, hp: number, wp: number, c: number, oh: number, ow: number, f: number, fh: number, fw: number, bias: number, flags: number): void;
  /** Copies n NHWC images into out with top/bottom zero rows and left/right zero columns (conv-wat.ts). */
  padImages(x: number, out: number, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): void;
  /** out = parts[0] + … + parts[chunks − 1] in that order, `vectors` groups of four float32, parts `stride` bytes apart (conv-wat.ts). */
  addChunks(parts: number, out: number, vectors: number, chunks: number, stride: number): void;
  /** Adds the filter gradient of that convolution to dw, one buffer per `chunk` images, `block` output rows at a time (conv-wat.ts). */
  convFilterGrad(x: number, dy: number, dw: number, n: number, chunk: number, hp: number, wp: number, c: number, oh: number, ow: number, f: number, fh: number, fw: number, block: number): void;
  /** C[m×n] = A[m×k]·B[k×n], the reduction in blocks of kc (gemm-wat.ts); leading dimensions in elements. */
  gemmNN(a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number, kc: number): void;
  /** C[m×n] = Aᵀ·B with A stored [k×m], B [k×n], the reduction in blocks of kc (gemm-wat.ts). */
  gemmTN(a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number, kc: number): void;
  /** C[m×n] = A·Bᵀ with A [m×k], B stored [n×k] (gemm-wat.ts). */
  gemmNT(a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number): void;
}

/** The parts of the wasm backend these loops use. */
interface WasmBackendInternals {
  wasm: { wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } };
  getMemoryOffset(dataId: object): number;
}

let loaded: SimdKernels | undefined;
let loadedFor: unknown;
let compiled: { module: object; memory: WasmMemory } | undefined;
let failure: string | undefined;

/**
 * The loops, once {@link loadSimdKernels} succeeded; with `backend`, only if they were instantiated
 * against that backend's memory (a re-created wasm backend has a new memory, which they must not touch).
 */
export function simdKernels(backend?: unknown): SimdKernels | undefined {
  return backend === undefined || backend === loadedFor ? loaded : undefined;
}

/** The compiled loops and the shared memory they run on, when the backend's memory is shared (threaded build). */
export function sharedSimdModule(): { module: object; memory: object } | undefined {
  return compiled;
}

/** Why the loops are not in use (undefined when they are, or before loading). */
export function simdKernelsFailure(): string | undefined {
  return failure;
}

/** The heap byte offset of a tensor on the wasm backend. */
export function heapOffset(backend: unknown, t: tf.TensorInfo): number {
  return (backend as WasmBackendInternals).getMemoryOffset(t.dataId);
}

/**
 * Runs `loop(offset)` on `count` float64 values in the backend's heap (2 float32 slots each),
 * zeroed and then starting with `init`, and returns a copy of them: the loops' accumulators.
 */
export function withFloat64Scratch(backend: HeapBackend, count: number, loop: (offset: number) => void, init?: ArrayLike<number>): Float64Array {
  const scratch = backend.makeOutput([2 * count], "float32");
  try {
    const f32 = backend.typedArrayFromHeap(scratch);
    const f64 = new Float64Array(f32.buffer, f32.byteOffset, count);
    f64.fill(0);
    if (init) f64.set(init);
    loop(heapOffset(backend, scratch));
    const after = backend.typedArrayFromHeap(scratch);
    return new Float64Array(after.buffer, after.byteOffset, count).slice();
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * Assembles `functions` (the loops' WebAssembly text, kernels/registry.ts) into one module and
 * instantiates it against `backend`'s memory (once per process). Never throws: on failure the
 * callers keep their JavaScript versions, and the reason is returned.
 */
export async function loadSimdKernels(backend: unknown, functions: string): Promise<string | undefined> {
  if (loaded || failure) return failure;
  try {
    const emscripten = (backend as WasmBackendInternals).wasm;
    const memory = emscripten.wasmMemory ?? emscripten.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the wasm backend does not expose its WebAssembly.Memory");
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    // A shared memory import must declare a maximum; 65536 pages (4 GiB) admits any actual maximum.
    const text = `(module\n  (import "env" "memory" (memory 0 ${shared ? "65536 shared" : ""}))\n${functions}\n)`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wabt = await (require("wabt") as () => Promise<WabtModule>)();
    const features = { simd: true, threads: shared };
    const parsed = wabt.parseWat("fmnist-simd.wat", text, features);
    let binary: Uint8Array;
    try {
      parsed.validate(features);
      binary = parsed.toBinary({}).buffer;
    } finally {
      parsed.destroy();
    }
    const module = new WebAssembly.Module(binary);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    loaded = instance.exports as unknown as SimdKernels;
    if (shared) compiled = { module, memory };
    loadedFor = backend;
    return undefined;
  } catch (err) {
    failure = `WebAssembly SIMD loops unavailable (${(err as Error).message}); JavaScript loops used instead`;
    return failure;
  }
}

interface WabtModule {
  parseWat(filename: string, text: string, features: Record<string, boolean>): {
    validate(features: Record<string, boolean>): void;
    toBinary(options: Record<string, unknown>): { buffer: Uint8Array };
    destroy(): void;
  };
}
