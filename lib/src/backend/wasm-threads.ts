/**
 * Two (or more) threads for the wasm backend under Node.js. tfjs-backend-wasm 4.22 ships a
 * threaded XNNPACK build but never uses it in Node (tensorflow/tfjs#3830), for three reasons
 * this module works around, each checked so that a different tfjs version fails loudly and falls
 * back to one thread instead of misbehaving:
 * 1. its pthread worker script is handed to `new Worker` as a blob: URL, which Node refuses: the
 *    script is written to a file in a private folder (see privateWorkerDir) and that path handed over;
 * 2. the worker loads the main script from a Blob it cannot read synchronously: the worker is
 *    pointed at the installed threaded-simd.js file instead;
 * 3. the C++ side caps threads at half of `os.cpus().length` (it assumes hyper-threading), so a
 *    2-core machine got one thread: os.cpus is reported doubled while the module initialises.
 * Worker threads are unref'ed so that scripts still exit when their work is done.
 */
import * as fs from "node:fs";
import * as nodeOs from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { wasmSettings } from "../config";
import { isProcessAlive } from "../process-alive";

export { MAX_WASM_THREADS } from "../config";

/**
 * Threads asked for by FMNIST_WASM_THREADS: "auto" (default) = one per core, or a whole number
 * from 1 to 8. The notebook runner sets 1 per notebook when it runs several at once. Invalid
 * values throw (validated in config.ts's wasmSettings).
 */
export function requestedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  return wasmSettings(env, nodeOs.cpus().length).threads;
}

// The exact statement of the 4.22 worker script that loads the main script (reason 2 above).
const WORKER_LOAD =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** Prefix of the private folders; the pid in the name lets a later process spot dead owners' leftovers. */
const PRIVATE_PREFIX = "fmnist-wasm-";
let privateDir: string | undefined;
let workerFileWritten: string | undefined;


/**
 * Removes private folders of ours whose process has died without its exit handler (SIGKILL,
 * SIGTERM to a kernel): only real folders (not symlinks) owned by this user, of a dead pid.
 */
function removeDeadOwnersFolders(tmp: string): void {
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PRIVATE_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || isProcessAlive(Number(m[1]))) continue;
    try {
      const st = fs.lstatSync(path.join(tmp, name));
      if (st.isDirectory() && (uid === undefined || st.uid === uid)) fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove: leaving it costs nothing.
    }
  }
}

/**
 * This process's private folder for the worker script. The temp folder is shared with every
 * local user, so a predictable file name there lets another user plant or swap the script
 * that our worker threads execute (issue 16, item 1). mkdtemp makes a new folder with an
 * unguessable name, mode 0700, that nobody else can enter or write; it is checked anyway
 * (owner, no group/other access, not a symlink) because TMPDIR may point anywhere. Removed at
 * exit; folders of processes killed before their exit handler ran are removed by the next one.
 */
function privateWorkerDir(): string {
  if (privateDir !== undefined && fs.existsSync(privateDir)) return privateDir;
  const tmp = nodeOs.tmpdir();
  removeDeadOwnersFolders(tmp);
  const dir = fs.mkdtempSync(path.join(tmp, `${PRIVATE_PREFIX}${process.pid}-`));
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`the private folder ${dir} is not a 0700 folder owned by this user (mode ${(st.mode & 0o777).toString(8)}, uid ${st.uid}); check TMPDIR`);
  }
  if (privateDir === undefined) {
    process.once("exit", () => {
      if (privateDir !== undefined) fs.rmSync(privateDir, { recursive: true, force: true });
    });
  }
  privateDir = dir;
  return dir;
}

/**
 * Writes the worker script into the private folder, once per process. Exclusive create ("wx":
 * O_CREAT|O_EXCL, which also refuses a symlink) with mode 0600: the file is always the one this
 * process wrote, never a pre-existing one, so its content needs no re-check.
 */
function writeWorkerScript(script: string): string {
  if (workerFileWritten !== undefined && fs.existsSync(workerFileWritten)) return workerFileWritten;
  const file = path.join(privateWorkerDir(), "tfjs-wasm-worker.js");
  const fd = fs.openSync(file, "wx", 0o600);
  try {
    fs.writeFileSync(fd, script);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true }); // never leave half a script for a worker to run
    throw err;
  }
  fs.closeSync(fd);
  workerFileWritten = file;
  return file;
}

/** Where this process's worker script was written (undefined before a threaded start); for tests. */
export function wasmWorkerScriptPath(): string | undefined {
  return workerFileWritten;
}

interface Prepared {
  /** Undoes the temporary patches; call once the backend has initialised (or failed to). */
  restore(): void;
}

/**
 * Prepares the threaded build before `tf.setBackend("wasm")`. Returns undefined (one thread,
 * plain SIMD build) when `threads` is 1, and throws with the reason when the installed
 * tfjs-backend-wasm is not the version this was written for.
 *
 * `poolThreads` is the size of XNNPACK's own thread pool (default `threads`). With our kernel
 * set the convolutions, matrix products and batch-norm loops run on our helper threads
 * (tile-helpers.ts) over the threaded build's shared memory, and XNNPACK keeps only small
 * layers (max pooling, elementwise ops): its pool is then best at 1. A pool thread spins for a
 * while after each of those small layers, so on a 2-core machine it took a core from our helper:
 * `best` at batch 128 ran 1.20× faster on two threads than on one with the pool at 2, 1.42×
 * with it at 1 (scripts/bench/scaling.ts, one interleaved run each, quiet machine).
 */
export function prepareWasmThreads(threads: number, poolThreads = threads): Prepared | undefined {
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
  const workerFile = writeWorkerScript(script);

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
  wasm.setThreadsCount(Math.max(1, Math.min(threads, poolThreads)));
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
