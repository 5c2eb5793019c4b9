/**
 * WebAssembly SIMD loops that run on the wasm backend's own memory. Some training steps have no
 * XNNPACK kernel to build on (the max-pool gradient, Adam's update); as JavaScript loops over the
 * heap they were among the costliest kernels of a step, and as ten separate elementwise wasm
 * kernels (Adam upstream) they allocate and traverse full-size tensors ten times. Here each is one
 * pass of 128-bit vector code, assembled at start-up (wabt) from the text below and instantiated
 * against the backend's WebAssembly.Memory, so pointers are the backend's tensor offsets and no
 * data is copied. Every float operation is the one the JavaScript or upstream version does, in
 * the same order (IEEE float32, no fused multiply-add), so results are bit for bit the same.
 * The same module carries the register-tiled convolutions of conv-wat.ts (tiled-conv.ts), which
 * sum in their own order: equal to XNNPACK's results within float32 rounding, not bit for bit.
 */
import type * as tf from "@tensorflow/tfjs";
import { convWat } from "./conv-wat";
import type { HeapBackend } from "./kernel-runner";

// Node's WebAssembly global, typed here (the project's type libraries do not declare it).
interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }
declare const WebAssembly: {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

const WAT = String.raw`
(module
  (import "env" "memory" (memory 0 MAX SHARED))

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
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $row (i32.mul (local.get $w) (local.get $cb)))
    (local.set $d (local.get $dy))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $p (i32.mul
          (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1)))
          (local.get $row)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jl
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $ow)))
          (local.set $k (i32.const 0))
          (block $kdone (loop $kl
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
            (local.set $o (i32.add (local.get $p) (local.get $k)))
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
              (v128.andnot (local.get $g) (v128.or (v128.or (local.get $m1) (local.get $m2)) (local.get $m3))))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $kl)))
          (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cb) (i32.const 1))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl)))
  )

  ;; acc[k] += x[r·cols + k] in float64 for every row r < rows (cols a multiple of 4; acc: cols float64).
  (func (export "sumRows") (param $x i32) (param $rows i32) (param $cols i32) (param $acc i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $p i32) (local $a i32) (local $v v128)
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $p (local.get $x))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
        (local.set $v (v128.load (i32.add (local.get $p) (local.get $k))))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 1))))
        (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $a) (f64x2.add (v128.load offset=16 (local.get $a))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $p (i32.add (local.get $p) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; Batch-norm gradient sums in float64: sdy[k] += dy; sdyx[k] += dy·(x − mean[k]) over every row
  ;; (cols a multiple of 4; mean, sdy, sdyx: cols float64).
  (func (export "batchNormGradSums") (param $x i32) (param $dy i32) (param $mean i32) (param $rows i32) (param $cols i32) (param $sdy i32) (param $sdyx i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $o i32) (local $k2 i32)
    (local $g v128) (local $xv v128) (local $glo v128) (local $ghi v128) (local $a i32)
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
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
            (v128.load offset=16 (i32.add (local.get $mean) (local.get $k2)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $o (i32.add (local.get $o) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; Batch norm with per-channel constants: out = (x − mean[k])·a[k] + offset[k] over rows × cols
  ;; (cols a multiple of 4; p: mean, a, offset, each cols float32).
  (func (export "batchNormApply") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $p i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $o i32)
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
        (v128.store (i32.add (local.get $out) (i32.add (local.get $o) (local.get $k)))
          (f32x4.add
            (f32x4.mul
              (f32x4.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $k))))
                         (v128.load (i32.add (local.get $p) (local.get $k))))
              (v128.load (i32.add (i32.add (local.get $p) (local.get $cb)) (local.get $k))))
            (v128.load (i32.add (i32.add (local.get $p) (i32.shl (local.get $cb) (i32.const 1))) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $o (i32.add (local.get $o) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; Training-mode batch-norm input gradient, one pass: out = dy·a[k] + ((x − mean[k])·b[k] + c[k])
  ;; over rows × cols (cols a multiple of 4; p: mean, a, b, c, each cols float32).
  (func (export "batchNormInputGrad") (param $x i32) (param $dy i32) (param $out i32) (param $rows i32) (param $cols i32) (param $p i32)
    (local $r i32) (local $k i32) (local $cb i32) (local $o i32) (local $q i32)
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kl
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cb)))
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
              (v128.load (i32.add (local.get $q) (i32.mul (local.get $cb) (i32.const 3)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      (local.set $o (i32.add (local.get $o) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; One Adam step over len float32 values, tf.train.adam's operations in its order:
  ;;   m' = m·b1 + g·c1;  v' = v·b2 + (g·g)·c2;  p' = ((m'/bc1) / (sqrt(v'/bc2) + eps))·nlr + p
  ;; (c = 1 − b, bc = 1 − b^t, nlr = −learning rate). Outputs must not overlap the inputs.
  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32)
    (param $po i32) (param $mo i32) (param $vo i32) (param $len i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $bc1 f32) (param $bc2 f32) (param $eps f32) (param $nlr f32)
    (local $o i32) (local $end i32) (local $all i32)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128)
    (local $BC1 v128) (local $BC2 v128) (local $EPS v128) (local $NLR v128)
    (local $G v128) (local $M v128) (local $V v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (local.get $c1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (local.get $c2)))
    (local.set $BC1 (f32x4.splat (local.get $bc1)))
    (local.set $BC2 (f32x4.splat (local.get $bc2)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    (local.set $NLR (f32x4.splat (local.get $nlr)))
    (local.set $all (i32.shl (local.get $len) (i32.const 2)))
    (local.set $end (i32.and (local.get $all) (i32.const -16)))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $G (v128.load (i32.add (local.get $g) (local.get $o))))
      (local.set $M (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $B1))
        (f32x4.mul (local.get $G) (local.get $C1))))
      (local.set $V (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $B2))
        (f32x4.mul (f32x4.mul (local.get $G) (local.get $G)) (local.get $C2))))
      (v128.store (i32.add (local.get $mo) (local.get $o)) (local.get $M))
      (v128.store (i32.add (local.get $vo) (local.get $o)) (local.get $V))
      (v128.store (i32.add (local.get $po) (local.get $o))
        (f32x4.add
          (f32x4.mul
            (f32x4.div
              (f32x4.div (local.get $M) (local.get $BC1))
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $V) (local.get $BC2))) (local.get $EPS)))
            (local.get $NLR))
          (v128.load (i32.add (local.get $p) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $vl)))
    (block $sdone (loop $sl
      (br_if $sdone (i32.ge_u (local.get $o) (local.get $all)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
      (local.set $ms (f32.add
        (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
        (f32.mul (local.get $gs) (local.get $c1))))
      (local.set $vs (f32.add
        (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
        (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
      (f32.store (i32.add (local.get $mo) (local.get $o)) (local.get $ms))
      (f32.store (i32.add (local.get $vo) (local.get $o)) (local.get $vs))
      (f32.store (i32.add (local.get $po) (local.get $o))
        (f32.add
          (f32.mul
            (f32.div
              (f32.div (local.get $ms) (local.get $bc1))
              (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $bc2))) (local.get $eps)))
            (local.get $nlr))
          (f32.load (i32.add (local.get $p) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $sl)))
  )
${convWat()}
)`;

/** The exported loops; every pointer is a byte offset into the backend's memory. */
export interface SimdKernels {
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
  /** Adds the filter gradient of that convolution to dw, one buffer per `chunk` images, `block` output rows at a time (conv-wat.ts). */
  convFilterGrad(x: number, dy: number, dw: number, n: number, chunk: number, hp: number, wp: number, c: number, oh: number, ow: number, f: number, fh: number, fw: number, block: number): void;
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
 * Assembles and instantiates the loops against `backend`'s memory (once per process). Never
 * throws: on failure the callers keep their JavaScript versions, and the reason is returned.
 */
export async function loadSimdKernels(backend: unknown): Promise<string | undefined> {
  if (loaded || failure) return failure;
  try {
    const emscripten = (backend as WasmBackendInternals).wasm;
    const memory = emscripten.wasmMemory ?? emscripten.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the wasm backend does not expose its WebAssembly.Memory");
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    // A shared memory import must declare a maximum; 65536 pages (4 GiB) admits any actual maximum.
    const text = WAT.replace("MAX", shared ? "65536" : "").replace("SHARED", shared ? "shared" : "");
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
