/**
 * Two (or more) threads for the wasm backend under Node.js. tfjs-backend-wasm 4.22 ships a
 * threaded XNNPACK build but never uses it in Node (tensorflow/tfjs#3830), for three reasons
 * this module works around, each checked so that a different tfjs version fails loudly and falls
 * back to one thread instead of misbehaving:
 * 1. its pthread worker script is handed to `new Worker` as a blob: URL, which Node refuses: the
 *    script is written to a file (atomically, in the OS temp folder) and that path handed over;
 * 2. the worker loads the main script from a Blob it cannot read synchronously: the worker is
 *    pointed at the installed threaded-simd.js file instead;
 * 3. the C++ side caps threads at half of `os.cpus().length` (it assumes hyper-threading), so a
 *    2-core machine got one thread: os.cpus is reported doubled while the module initialises.
 * Worker threads are unref'ed so that scripts still exit when their work is done.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as nodeOs from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { writeFileAtomic } from "../data/atomic";

/** Highest thread count: tfjs pre-creates 8 pthread workers. */
export const MAX_WASM_THREADS = 8;

/**
 * Threads asked for by FMNIST_WASM_THREADS: "auto" (default) = one per core, or a whole number
 * from 1 to 8. The notebook runner sets 1 per notebook when it runs several at once.
 */
export function requestedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = (env.FMNIST_WASM_THREADS ?? "auto").trim();
  if (raw === "auto") return Math.max(1, Math.min(MAX_WASM_THREADS, nodeOs.cpus().length));
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_WASM_THREADS)) {
    throw new Error(`FMNIST_WASM_THREADS = "${raw}": use auto (one thread per core) or a whole number from 1 to ${MAX_WASM_THREADS}.`);
  }
  return n;
}

// The exact statement of the 4.22 worker script that loads the main script (reason 2 above).
const WORKER_LOAD =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

interface Prepared {
  /** Undoes the temporary patches; call once the backend has initialised (or failed to). */
  restore(): void;
}

/**
 * Prepares the threaded build before `tf.setBackend("wasm")`. Returns undefined (one thread,
 * plain SIMD build) when `threads` is 1, and throws with the reason when the installed
 * tfjs-backend-wasm is not the version this was written for.
 */
export function prepareWasmThreads(threads: number): Prepared | undefined {
  if (threads <= 1) return undefined;
  const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  const mainScript = path.join(dir, "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
  const workerModule = path.join(dir, "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js");
  if (!fs.existsSync(mainScript) || !fs.existsSync(workerModule)) throw new Error(`the threaded build is missing from ${dir}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(workerModule) as { wasmWorkerContents?: string };
  if (typeof wasmWorkerContents !== "string" || !wasmWorkerContents.includes(WORKER_LOAD)) {
    throw new Error("the installed tfjs-backend-wasm's worker script is not the 4.22 one this workaround patches");
  }
  // Escaped newlines, as tfjs itself does before making its blob.
  const script = wasmWorkerContents.replace(/\n/g, "\\n").replace(WORKER_LOAD, `importScripts(${JSON.stringify(mainScript)});`);
  const hash = createHash("sha256").update(script).digest("hex").slice(0, 12);
  const workerFile = path.join(nodeOs.tmpdir(), `fmnist-tfjs-wasm-worker-${hash}.js`);
  if (!fs.existsSync(workerFile) || fs.readFileSync(workerFile, "utf8") !== script) writeFileAtomic(workerFile, script);

  const originalObjectUrl = URL.createObjectURL;
  URL.createObjectURL = (obj: Blob): string => (obj instanceof Blob && obj.type === "application/javascript" ? workerFile : originalObjectUrl(obj));
  // The module object itself (an ES namespace import's properties are read-only getters).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const osModule = require("node:os") as { cpus: typeof nodeOs.cpus };
  const originalCpus = osModule.cpus;
  const doubled = (): nodeOs.CpuInfo[] => {
    const real = originalCpus();
    const out: nodeOs.CpuInfo[] = [];
    while (out.length < 2 * threads) out.push(...real);
    return out.slice(0, 2 * threads);
  };
  osModule.cpus = doubled;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  return {
    restore(): void {
      URL.createObjectURL = originalObjectUrl;
      osModule.cpus = originalCpus;
    },
  };
}

/** Lets the process exit while the backend's pthread workers idle (they are terminated with it). */
export function unrefWasmWorkers(): void {
  const pthread = (tf.backend() as unknown as { wasm?: { PThread?: { unusedWorkers?: { unref(): void }[]; runningWorkers?: { unref(): void }[] } } }).wasm?.PThread;
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) w.unref();
}
