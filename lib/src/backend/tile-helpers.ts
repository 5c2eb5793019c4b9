/**
 * Helper threads for the SIMD convolution and matrix-product tiles when the wasm backend runs on
 * several threads. The threaded build's memory is a shared WebAssembly.Memory, so a Node worker
 * can instantiate the same compiled loops against it and work on the same tensors: a kernel hands
 * each helper a share of the images (or of a product's output) and does its own share on the
 * calling thread. Hand-over is a small shared control
 * block (Atomics wait/notify), no messages, so a call costs microseconds. Helpers are unref'ed
 * (scripts still exit), and a helper that fails or does not answer turns them off for the rest of
 * the process with the reason, after which XNNPACK runs those layers again.
 */
import { Worker } from "node:worker_threads";

/** The loops a helper can run (exports of the SIMD module). */
export type TileLoop = "convForward" | "convFilterGrad" | "gemmNN" | "gemmTN" | "gemmNT";
const LOOPS: readonly TileLoop[] = ["convForward", "convFilterGrad", "gemmNN", "gemmTN", "gemmNT"];

// Control block (Int32): [0] job sequence number (−1: stop), [1] last finished job, [2] loop,
// [3] 1 when the last job threw, [4..] arguments.
const JOB = 0;
const DONE = 1;
const LOOP = 2;
const FAILED = 3;
const ARGS = 4;
const MAX_ARGS = 16;

/** How long a caller waits for a helper's share before giving up on helpers (ms). */
const ANSWER_TIMEOUT_MS = 120_000;

const HELPER = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, control, loops } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctrl = new Int32Array(control);
const fns = loops.map((name) => exports[name]);
parentPort.postMessage("ready");
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${JOB}, seen);
  seen = Atomics.load(ctrl, ${JOB});
  if (seen < 0) break;
  try {
    fns[ctrl[${LOOP}]](...ctrl.subarray(${ARGS}, ${ARGS + MAX_ARGS}));
    ctrl[${FAILED}] = 0;
  } catch (err) {
    ctrl[${FAILED}] = 1;
  }
  Atomics.store(ctrl, ${DONE}, seen);
  Atomics.notify(ctrl, ${DONE});
}
`;

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
  seq: number;
}

let helpers: Helper[] = [];
let failure: string | undefined;

/** Number of helper threads ready (0 when none were started or they were turned off). */
export function tileHelperCount(): number {
  return helpers.length;
}

/** Why the helpers are off, if they failed. */
export function tileHelpersFailure(): string | undefined {
  return failure;
}

function turnOff(reason: string): void {
  failure = reason;
  const stopping = helpers;
  helpers = [];
  for (const h of stopping) {
    Atomics.store(h.ctrl, JOB, -1);
    Atomics.notify(h.ctrl, JOB);
    void h.worker.terminate();
  }
}

/**
 * Starts `count` helpers on `module` (the compiled SIMD loops) over the shared `memory`. Resolves
 * to undefined when all are ready, else to the reason they are not used (never throws).
 */
export async function startTileHelpers(count: number, module: object, memory: object): Promise<string | undefined> {
  if (helpers.length >= count || count < 1) return undefined;
  try {
    const started = await Promise.all(
      Array.from({ length: count - helpers.length }, async () => {
        const control = new SharedArrayBuffer(4 * (ARGS + MAX_ARGS));
        const worker = new Worker(HELPER, { eval: true, workerData: { module, memory, control, loops: LOOPS } });
        await new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`helper thread exited with code ${code}`)));
        });
        worker.on("error", (err) => turnOff(`a convolution helper thread failed (${err.message})`));
        worker.unref();
        return { worker, ctrl: new Int32Array(control), seq: 0 };
      }),
    );
    helpers.push(...started);
    return undefined;
  } catch (err) {
    turnOff(`convolution helper threads unavailable (${(err as Error).message})`);
    return failure;
  }
}

/**
 * Runs `shares[i]` (a loop and its arguments) on helper i and `own()` on this thread, and returns
 * when all are done. There must be at most {@link tileHelperCount} shares. Throws if a helper's
 * loop failed or it did not answer (and turns helpers off).
 */
export function runWithHelpers(shares: Array<{ loop: TileLoop; args: number[] }>, own: () => void): void {
  if (shares.length > helpers.length) throw new Error(`runWithHelpers: ${shares.length} shares for ${helpers.length} helper thread(s).`);
  const busy = shares.map((share, i) => {
    const h = helpers[i];
    if (share.args.length > MAX_ARGS) throw new Error(`runWithHelpers: ${share.args.length} arguments, at most ${MAX_ARGS}.`);
    h.ctrl.fill(0, ARGS);
    h.ctrl.set(share.args, ARGS);
    h.ctrl[LOOP] = LOOPS.indexOf(share.loop);
    h.seq = h.seq === 0x7fffffff ? 1 : h.seq + 1;
    Atomics.store(h.ctrl, JOB, h.seq);
    Atomics.notify(h.ctrl, JOB);
    return h;
  });
  let ownError: unknown;
  try {
    own();
  } catch (err) {
    ownError = err;
  }
  for (const h of busy) {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(h.ctrl, DONE);
      if (done === h.seq) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        turnOff(`a convolution helper thread did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
        throw new Error(`${failure}; the layer's result is incomplete. Run again: XNNPACK takes these layers now.`);
      }
      Atomics.wait(h.ctrl, DONE, done, left);
    }
    if (h.ctrl[FAILED]) {
      turnOff("a convolution helper thread's loop failed");
      throw new Error(`${failure}; the layer's result is incomplete. Run again: XNNPACK takes these layers now.`);
    }
  }
  if (ownError) throw ownError;
}
