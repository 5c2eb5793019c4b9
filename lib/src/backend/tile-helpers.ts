/**
 * Helper threads for the SIMD convolution and matrix-product tiles when the wasm backend runs on
 * several threads. The threaded build's memory is a shared WebAssembly.Memory, so a Node worker
 * can instantiate the same compiled loops against it and work on the same tensors.
 *
 * A kernel cuts its work into chunks (a few images, a band of a product's output, a filter-gradient
 * chunk of images) and every thread, this one and the helpers, claims the next chunk from a shared
 * counter until none are left. Which thread computes a chunk never changes what it computes (each
 * output element belongs to one chunk, summed in the loop's fixed order), so results are the same
 * bits on any thread count. The claiming replaced fixed shares (one per thread) because a fixed
 * share waits for the slowest thread: on this shared 2-core machine a helper is often descheduled
 * for milliseconds, and model 3's convolutions at batch 128 ran no faster on two threads than on
 * one (tf.profile: Conv2D 120 ms at 1 thread, 135 at 2). Now a late helper finds less work left:
 * `best` at batch 128 (scripts/bench/scaling.ts, one interleaved run, quiet machine), two threads
 * 734 → 806 samples/s against 675 on one; its convolutions 1.2–1.4× → 1.4–1.5× on two threads.
 *
 * Hand-over is a small shared control block (Atomics wait/notify), no messages. (A helper that
 * spun ~100 µs before sleeping measured no better on the shared machine and burns a core the other
 * jobs on it need.) Helpers are unref'ed (scripts still exit), and a loop that fails or a helper that does
 * not answer turns them off for the rest of the process with the reason, after which XNNPACK runs
 * those layers again.
 */
import { Worker } from "node:worker_threads";

/** The loops a helper can run (exports of the SIMD module). */
export type TileLoop = "convForward" | "convFilterGrad" | "gemmNN" | "gemmTN" | "gemmNT" | "maxPoolGrad2x2" | "batchNormApply" | "batchNormInputGrad" | "batchNormGradSums" | "maxPool2x2" | "reluForward" | "reluGrad" | "padImages" | "addChunks";
const LOOPS: readonly TileLoop[] = ["convForward", "convFilterGrad", "gemmNN", "gemmTN", "gemmNT", "maxPoolGrad2x2", "batchNormApply", "batchNormInputGrad", "batchNormGradSums", "maxPool2x2", "reluForward", "reluGrad", "padImages", "addChunks"];

/**
 * One job: chunk i runs `loop` with `args[j] + i·steps[j]`; the last chunk's argument `countArg`
 * is `lastCount` (the remainder), when given.
 */
export interface ChunkedJob {
  loop: TileLoop;
  args: number[];
  steps: number[];
  chunks: number;
  countArg?: number;
  lastCount?: number;
}

// Control block (Int32): [JOB] job number (−1: stop); [CLAIM] (job number & 0x7fff) << 16 | next
// chunk, next = CLOSED once the job is over (a late helper can then never claim a chunk of a job
// whose description is being rewritten); [DONE] chunks finished; [FAILED] 1 when a chunk threw;
// then the loop, chunk count, count argument, last count, arguments and their steps.
const [JOB, CLAIM, DONE, FAILED, LOOP, CHUNKS, COUNT_ARG, LAST_COUNT, ARGS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const MAX_ARGS = 16;
const STEPS = ARGS + MAX_ARGS;
const CLOSED = 0xffff;
/** At most this many chunks per job (the claim counter's 16 bits, less the closed mark). */
export const MAX_CHUNKS = 0xfff0;

/** How long a caller waits for a helper's chunk before giving up on helpers (ms). */
const ANSWER_TIMEOUT_MS = 120_000;

/** Claims and runs chunks of the current job `seen` until none are left (the same text runs in the helpers). */
const WORK = `function work(ctrl, fns, seen) {
  const tag = seen & 0x7fff;
  const chunks = ctrl[${CHUNKS}], countArg = ctrl[${COUNT_ARG}], lastCount = ctrl[${LAST_COUNT}];
  const fn = fns[ctrl[${LOOP}]];
  const args = Array.from(ctrl.subarray(${ARGS}, ${ARGS + MAX_ARGS}));
  const steps = ctrl.subarray(${STEPS}, ${STEPS + MAX_ARGS});
  const a = args.slice();
  for (;;) {
    const w = Atomics.load(ctrl, ${CLAIM});
    const next = w & 0xffff;
    if (w >>> 16 !== tag || next === ${CLOSED} || next >= chunks) return;
    if (Atomics.compareExchange(ctrl, ${CLAIM}, w, w + 1) !== w) continue;
    for (let j = 0; j < ${MAX_ARGS}; j++) a[j] = args[j] + next * steps[j];
    if (countArg >= 0 && next === chunks - 1) a[countArg] = lastCount;
    try { fn(...a); } catch (err) { Atomics.store(ctrl, ${FAILED}, 1); }
    if (Atomics.add(ctrl, ${DONE}, 1) + 1 === chunks) Atomics.notify(ctrl, ${DONE});
  }
}`;

const HELPER = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, control, loops } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctrl = new Int32Array(control);
const fns = loops.map((name) => exports[name]);
${WORK}
parentPort.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${JOB}, seen);
  seen = Atomics.load(ctrl, ${JOB});
  if (seen < 0) break;
  work(ctrl, fns, seen);
}
`;

// eslint-disable-next-line @typescript-eslint/no-implied-eval
const work = new Function(`${WORK}; return work;`)() as (ctrl: Int32Array, fns: Array<(...a: number[]) => void>, seen: number) => void;

interface Pool { workers: Worker[]; ctrl: Int32Array; seq: number }

let pool: Pool | undefined;
let failure: string | undefined;

/** Number of helper threads ready (0 when none were started or they were turned off). */
export function tileHelperCount(): number {
  return pool?.workers.length ?? 0;
}

/** Why the helpers are off, if they failed. */
export function tileHelpersFailure(): string | undefined {
  return failure;
}

function turnOff(reason: string): void {
  failure = reason;
  const stopping = pool;
  pool = undefined;
  if (!stopping) return;
  Atomics.store(stopping.ctrl, JOB, -1);
  Atomics.notify(stopping.ctrl, JOB);
  for (const w of stopping.workers) void w.terminate();
}

/**
 * Starts `count` helpers on `module` (the compiled SIMD loops) over the shared `memory`. Resolves
 * to undefined when all are ready, else to the reason they are not used (never throws).
 */
export async function startTileHelpers(count: number, module: object, memory: object): Promise<string | undefined> {
  if (tileHelperCount() >= count || count < 1) return undefined;
  if (pool) turnOff("restarted");
  failure = undefined;
  const control = new SharedArrayBuffer(4 * (STEPS + MAX_ARGS));
  const ctrl = new Int32Array(control);
  ctrl[CLAIM] = CLOSED;
  try {
    const workers = await Promise.all(
      Array.from({ length: count }, async () => {
        const worker = new Worker(HELPER, { eval: true, workerData: { module, memory, control, loops: LOOPS } });
        await new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`helper thread exited with code ${code}`)));
        });
        worker.on("error", (err) => turnOff(`a convolution helper thread failed (${err.message})`));
        worker.unref();
        return worker;
      }),
    );
    pool = { workers, ctrl, seq: 0 };
    return undefined;
  } catch (err) {
    turnOff(`convolution helper threads unavailable (${(err as Error).message})`);
    return failure;
  }
}

/**
 * Runs every chunk of `job`, on this thread and the helpers (this thread alone when there are
 * none, one chunk, or `alone`), and returns when all are done. Throws if a chunk's loop failed or a helper
 * did not answer (and turns helpers off).
 */
export function runChunked(job: ChunkedJob, own: Record<TileLoop, (...args: number[]) => void>, alone = false): void {
  const { args, steps, chunks } = job;
  if (args.length > MAX_ARGS || steps.length > args.length) throw new Error(`runChunked: ${args.length} arguments and ${steps.length} steps, at most ${MAX_ARGS}.`);
  if (!(chunks >= 1 && chunks <= MAX_CHUNKS)) throw new Error(`runChunked: ${chunks} chunks, 1 to ${MAX_CHUNKS}.`);
  const p = pool;
  if (!p || chunks === 1 || alone) {
    const a = args.slice();
    for (let i = 0; i < chunks; i++) {
      for (let j = 0; j < steps.length; j++) a[j] = args[j] + i * steps[j];
      if (job.countArg !== undefined && i === chunks - 1) a[job.countArg] = job.lastCount!;
      own[job.loop](...a);
    }
    return;
  }
  const c = p.ctrl;
  p.seq = p.seq === 0x7fffffff ? 1 : p.seq + 1;
  c.fill(0, ARGS);
  c.set(args, ARGS);
  c.set(steps, STEPS);
  c[LOOP] = LOOPS.indexOf(job.loop);
  c[CHUNKS] = chunks;
  c[COUNT_ARG] = job.countArg ?? -1;
  c[LAST_COUNT] = job.lastCount ?? 0;
  c[FAILED] = 0;
  c[DONE] = 0;
  Atomics.store(c, CLAIM, (p.seq & 0x7fff) << 16);
  Atomics.store(c, JOB, p.seq);
  Atomics.notify(c, JOB);
  work(c, LOOPS.map((l) => own[l]), p.seq);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  for (;;) {
    const done = Atomics.load(c, DONE);
    if (done === chunks) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      turnOff(`a convolution helper thread did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
      throw new Error(`${failure}; the layer's result is incomplete. Run again: XNNPACK takes these layers now.`);
    }
    Atomics.wait(c, DONE, done, left);
  }
  Atomics.store(c, CLAIM, ((p.seq & 0x7fff) << 16) | CLOSED);
  if (c[FAILED]) {
    turnOff("a tile loop failed");
    throw new Error(`${failure}; the layer's result is incomplete. Run again: XNNPACK takes these layers now.`);
  }
}

/**
 * A job over `units` equal units of work (images, tile bands, gradient chunks): `args` are the
 * first unit's, `unitSteps` how each argument moves per unit, `countArg` the argument that says
 * how much one call does (`perUnit` per unit, `total` in all, so the last chunk gets the remainder).
 * About `perThread` chunks per thread, so a thread that starts late finds work left; one chunk on one thread.
 */
export function unitJob(loop: TileLoop, args: number[], unitSteps: number[], units: number, count: { arg: number; perUnit: number; total: number }, threads: number, perThread = 6): ChunkedJob {
  const wanted = Math.max(1, Math.min(units, MAX_CHUNKS, threads <= 1 ? 1 : threads * perThread));
  const per = Math.ceil(units / wanted);
  const chunks = Math.ceil(units / per);
  const first = args.slice();
  first[count.arg] = Math.min(count.total, per * count.perUnit);
  return { loop, args: first, steps: unitSteps.map((s) => s * per), chunks, countArg: count.arg, lastCount: count.total - (chunks - 1) * per * count.perUnit };
}
