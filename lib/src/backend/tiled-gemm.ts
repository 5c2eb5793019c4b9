/**
 * Float32 matrix products on the register-tiled SIMD loops of gemm-wat.ts, for BatchMatMul
 * (kernels/batch-mat-mul.ts): a dense layer's forward x·W, input gradient dy·Wᵀ and weight
 * gradient xᵀ·dy, each operand read where it lies (no transposed copy, no packing). XNNPACK packs
 * the second operand on every call (22 MB of weights for model 2's forward) and the old route
 * transposed operands first. Measured on model 2's 43,264×128 layer inside training steps (batch
 * 32, one thread, tf.profile, median of 5): forward 32 → 10.3 ms, input gradient 12.8 → 10.1 ms,
 * weight gradient 11.3 → 8.6 ms, i.e. 11 / 28 / 31 → 34 / 35 / 41 GFLOP/s; `npm run bench` prints
 * the same products in isolation.
 *
 * With several wasm threads the output is cut along its longer side into bands of whole tiles that
 * this thread and the helpers claim in turn (tile-helpers.ts); each element is still summed by one
 * thread in the order gemm-wat.ts fixes, so results are the same bits whatever the thread count.
 * {@link tiledMatMul} returns undefined when a product is not covered (another dtype, both
 * operands transposed, broadcast batch dimensions, an empty dimension, no SIMD loops, several
 * threads but no helpers) and the caller runs its previous route.
 */
import type { HeapBackend, Info, KernelArgs } from "./kernel-runner";
import { heapOffset, simdKernels, type SimdKernels } from "./simd-kernels";
import { runChunked, unitJob } from "./tile-helpers";
import { threadsFor, tileThreadsReady } from "./tiled-conv";

/**
 * Multiply-adds from which a product is split among the threads (below, a helper's hand-over, a
 * few microseconds, is not worth it). There is no lower limit for the tiled route itself: with
 * fresh operands, as in training, it beat the old route at every size measured, down to
 * 8×16×64 (4 µs against 7) and the 10-class output layer's 32×10×128 (9–16 µs against 26–81).
 */
export const GEMM_SPLIT_MACS = 1 << 20;

/**
 * Reduction block of the broadcast tiles (gemmNN, gemmTN): each block of KC steps is summed in
 * registers from zero and then added to C (shallower rounding on long sums; 64–512 measured within
 * 5% on model 2's forward). The blocks depend on k alone, never on the thread count; a batch up
 * to KC (the weight gradient's reduction) is one plain sequential sum.
 */
const KC = 128;

/** How often the tiled product ran in this process, by case (tests and profiles: which route a product took). */
export const tiledGemmCalls = { nn: 0, tn: 0, nt: 0 };

type Case = "nn" | "tn" | "nt";

/** One product's dimensions: C[m×n] = op(A)·op(B) over k, and the leading dimensions (elements) of A, B, C. */
interface Dims { m: number; n: number; k: number; lda: number; ldb: number; ldc: number }

/** The loop and its arguments for the output rows [m0, m1) × columns [n0, n1). */
function part(c: Case, a: number, b: number, out: number, d: Dims, m0: number, m1: number, n0: number, n1: number): { loop: "gemmNN" | "gemmTN" | "gemmNT"; args: number[] } {
  // Where row m0 of op(A) and column n0 of op(B) start, in bytes.
  const aAt = a + 4 * m0 * (c === "tn" ? 1 : d.lda);
  const bAt = b + 4 * n0 * (c === "nt" ? d.ldb : 1);
  const cAt = out + 4 * (m0 * d.ldc + n0);
  const rest = [m1 - m0, n1 - n0, d.k, d.lda, d.ldb, d.ldc];
  if (c === "nt") return { loop: "gemmNT", args: [aAt, bAt, cAt, ...rest] };
  return { loop: c === "nn" ? "gemmNN" : "gemmTN", args: [aAt, bAt, cAt, ...rest, KC] };
}

/** Runs one product, its output cut along the longer side into bands of whole tiles that the threads claim in turn. */
function runShared(simd: SimdKernels, c: Case, a: number, b: number, out: number, d: Dims): void {
  const alongN = d.n >= d.m;
  const [len, unit] = alongN ? [d.n, c === "nt" ? 4 : 16] : [d.m, 2];
  const units = Math.ceil(len / unit);
  const threads = d.m * d.n * d.k < GEMM_SPLIT_MACS ? 1 : threadsFor(units);
  const whole = part(c, a, b, out, d, 0, d.m, 0, d.n);
  // One unit further along: rows of A and C, or columns of B and C.
  const next = alongN ? part(c, a, b, out, d, 0, d.m, unit, d.n) : part(c, a, b, out, d, unit, d.m, 0, d.n);
  const steps = whole.args.slice(0, 3).map((x, i) => next.args[i] - x);
  runChunked(unitJob(whole.loop, whole.args, steps, units, { arg: alongN ? 4 : 3, perUnit: unit, total: len }, threads), simd);
}

/** BatchMatMul on the tiled loops, or undefined when not covered (see the header). */
export function tiledMatMul(args: KernelArgs): Info | undefined {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
  if (a.dtype !== "float32" || b.dtype !== "float32" || (transposeA && transposeB)) return undefined;
  const r = a.shape.length;
  if (r < 2 || b.shape.length !== r || a.shape.slice(0, -2).some((s, i) => s !== b.shape[i])) return undefined;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = transposeB ? [bc, br] : [br, bc];
  if (k !== kb || m === 0 || n === 0 || k === 0) return undefined;
  if (!tileThreadsReady()) return undefined;
  const simd = simdKernels(args.backend);
  if (!simd) return undefined;
  const c: Case = transposeA ? "tn" : transposeB ? "nt" : "nn";
  const backend = args.backend as unknown as HeapBackend;
  const batchDims = a.shape.slice(0, -2);
  const batches = batchDims.reduce((x, y) => x * y, 1);
  const out = backend.makeOutput([...batchDims, m, n], "float32");
  const d: Dims = { m, n, k, lda: ac, ldb: bc, ldc: n };
  const [pa, pb, pc] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out)];
  for (let i = 0; i < batches; i++) runShared(simd, c, pa + 4 * i * ar * ac, pb + 4 * i * br * bc, pc + 4 * i * m * n, d);
  tiledGemmCalls[c]++;
  return out;
}
