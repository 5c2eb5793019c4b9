/**
 * Chooses and initialises the TensorFlow.js backend: tfjs-node-gpu (when it loads and sees a
 * GPU), tfjs-node, webgpu on a hardware adapter (webgpu.ts), wasm, then cpu. A forced backend that cannot load is an error, never a
 * silent fallback; "auto" falls back only past backends that cannot load, and says so in the
 * backend line. Invalid FMNIST_WASM_* settings are errors under every request.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { registerTransformFallback } from "./transform-fallback";
import { registerNativeTrainingKernels } from "./native-kernels";
import type { BackendRequest, Config, WasmSettings } from "../config";
import { BACKEND_REQUESTS, wasmSettings, wasmSettingsOf } from "../config";
import { registerWasmTrainingKernels, startWasmKernelLoops, usesTileHelpers } from "./kernels/registry";
import { tileHelperCount } from "./tile-helpers";
import { prepareWasmThreads, unrefWasmWorkers } from "./wasm-threads";
import type { WebGpuAdapterInfo } from "./webgpu";
import { WebGpuUnavailableError, adapterLine, hardwareGpuPossible, startWebGpu, webgpuAdapterSetting } from "./webgpu";

/**
 * The wasm backend itself could not start (its .wasm files missing or refused by this Node):
 * the only wasm failure after which "auto" may fall back to cpu. Settings errors and bugs are
 * other errors and propagate.
 */
class WasmUnavailableError extends Error {}

/** What was chosen, and why; recorded with every result. */
export interface BackendInfo {
  name: "tensorflow" | "webgpu" | "wasm" | "cpu";
  /** The npm package that provides it. */
  package: string;
  gpu: boolean;
  reason: string;
  versions: Record<string, string>;
  threads: number;
  /** webgpu only: the adapter it runs on. */
  adapter?: WebGpuAdapterInfo;
}

let current: BackendInfo | undefined;
let currentRequest: BackendRequest | undefined;

/** Loads tfjs-node or tfjs-node-gpu; null when it is absent or its native part is missing. */
function tryNative(pkg: "@tensorflow/tfjs-node" | "@tensorflow/tfjs-node-gpu"): { error?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
  } catch (err) {
    return { error: (err as Error).message.split("\n")[0] };
  }
  // node_modules/@tensorflow/tfjs-node may be an alias of plain tfjs (danfojs-node's
  // override); only a registered "tensorflow" backend proves the native binding loaded.
  if (!tf.findBackendFactory("tensorflow")) return { error: `${pkg} resolved to a package without native TensorFlow` };
  return {};
}

/**
 * Whether node_modules/@tensorflow/tfjs-node is the real package (npm run native) rather than npm
 * ci's alias of plain tfjs; read from its package.json, without loading it.
 */
function realTfjsNodeInstalled(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("@tensorflow/tfjs-node/package.json") as { name?: string }).name === "@tensorflow/tfjs-node";
  } catch {
    return false;
  }
}

/**
 * tfjs-node switches tfjs to its backend when it first loads, and danfojs-node loads it: with the
 * native build installed, a notebook that chose another backend and then imports danfo would
 * silently continue on "tensorflow". Loading it before the chosen backend is set makes that import
 * a no-op (costs the library's load time, about a second, only where npm run native was run).
 */
function settleNative(): void {
  if (realTfjsNodeInstalled()) tryNative("@tensorflow/tfjs-node");
}

function gpuVisible(): boolean {
  try {
    const devices = (tf.backend() as unknown as { binding?: { getDevices?: () => string[] } }).binding?.getDevices?.() ?? [];
    return devices.some((d) => /GPU/i.test(d));
  } catch {
    return false;
  }
}

function versions(pkg: string): Record<string, string> {
  const v: Record<string, string> = { "tfjs-core": tf.version_core, node: process.versions.node };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    v[pkg.replace("@tensorflow/", "")] = (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    // cpu is part of tfjs itself
  }
  return v;
}

async function useWasm(reason: string, settings: WasmSettings): Promise<BackendInfo> {
  let dist: string;
  try {
    dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  } catch (err) {
    throw new WasmUnavailableError(`its .wasm file is not installed (${(err as Error).message.split("\n")[0]})`);
  }
  // Load the .wasm files from the installed package, never from a CDN.
  wasm.setWasmPaths(`${dist}${path.sep}`);
  const set = settings.kernels;
  registerWasmTrainingKernels(set);
  const wanted = settings.threads;
  let threadNote = "";
  let prepared: ReturnType<typeof prepareWasmThreads>;
  try {
    // Our kernels bring their own helper threads; XNNPACK's pool then only gets in their way.
    prepared = prepareWasmThreads(wanted, usesTileHelpers(set) ? 1 : wanted);
  } catch (err) {
    threadNote = `; 1 thread instead of ${wanted}: ${(err as Error).message}`;
  }
  try {
    let ok: boolean;
    try {
      ok = await tf.setBackend("wasm");
      if (ok) await tf.ready();
    } catch (err) {
      throw new WasmUnavailableError(`it failed to initialise (${(err as Error).message.split("\n")[0]})`);
    }
    if (!ok) throw new WasmUnavailableError("it failed to initialise (see the messages above)");
  } finally {
    prepared?.restore();
  }
  if (prepared) unrefWasmWorkers();
  // The SIMD loops, the kernels that need them and the convolution helper threads (kernels/registry.ts).
  const poolThreads = wasm.getThreadsCount();
  const started = await startWasmKernelLoops(set, tf.backend(), prepared ? wanted : 1);
  threadNote += started.notes;
  const loops = started.loops;
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const info: BackendInfo = {
    name: "wasm",
    package: "@tensorflow/tfjs-backend-wasm",
    gpu: false,
    reason: reason + threadNote,
    versions: { ...versions("@tensorflow/tfjs-backend-wasm"), simd: String(simd), kernels: set, loops },
    // The threads training runs on: ours (this one and the helpers that started) or XNNPACK's pool.
    threads: Math.max(poolThreads, 1 + tileHelperCount()),
  };
  return info;
}

async function useWebGpu(adapter: WebGpuAdapterInfo, reason: string): Promise<BackendInfo> {
  const v = { ...versions("@tensorflow/tfjs-backend-webgpu"), ...versions("webgpu") };
  return { name: "webgpu", package: "@tensorflow/tfjs-backend-webgpu", gpu: !adapter.software, reason: `${reason}; adapter ${adapterLine(adapter)}`, versions: v, threads: 0, adapter };
}

async function useNative(gpu: boolean, reason: string): Promise<BackendInfo> {
  await tf.setBackend("tensorflow");
  await tf.ready();
  registerTransformFallback("tensorflow"); // tfjs-node has no Transform kernel: augmentation needs one
  registerNativeTrainingKernels("tensorflow"); // batch norm and ReLU's gradient as single TensorFlow ops
  const pkg = gpu ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
  return { name: "tensorflow", package: pkg, gpu, reason, versions: versions(pkg), threads: 0 };
}

const INSTALL_HINT =
  "Install it on a machine that can reach Google's storage (its installer downloads libtensorflow): " +
  "npm install --no-save @tensorflow/tfjs-node@4.22.0 (or @tensorflow/tfjs-node-gpu@4.22.0 with CUDA 11.2 + cuDNN 8.1).";

/**
 * Initialises TensorFlow.js on the requested backend (argument, else FMNIST_BACKEND, else
 * "auto") and prints one line saying what was chosen and why. Given a Config, its backend and
 * wasm settings (wasmKernels, wasmThreads) are used; given a backend name, the wasm settings come
 * from FMNIST_WASM_KERNELS and FMNIST_WASM_THREADS (validated by config.ts either way). Calling it
 * again with the same request returns the same info.
 * @example const backend = await initBackend(cfg); // or initBackend(cfg.backend)
 */
export async function initBackend(request?: BackendRequest | Pick<Config, "backend" | "wasmKernels" | "wasmThreads">): Promise<BackendInfo> {
  const fromConfig = typeof request === "object" ? request : undefined;
  const req = ((fromConfig ? fromConfig.backend : request) ?? process.env.FMNIST_BACKEND ?? "auto") as BackendRequest;
  if (!BACKEND_REQUESTS.includes(req)) throw new Error(`Unknown backend "${req}"; choose one of ${BACKEND_REQUESTS.join(", ")}.`);
  // Before anything loads, and whatever the request: a bad wasm setting must never pass for an
  // unavailable backend (under "auto" it used to become a silent cpu fallback).
  const settings = fromConfig ? wasmSettingsOf(fromConfig) : wasmSettings();
  const adapterKind = webgpuAdapterSetting();
  if (current && currentRequest === req) return current;
  let info: BackendInfo;
  switch (req) {
    case "tensorflow-gpu": {
      const r = tryNative("@tensorflow/tfjs-node-gpu");
      if (r.error) throw new Error(`Backend "tensorflow-gpu" was requested but @tensorflow/tfjs-node-gpu does not load (${r.error}). ${INSTALL_HINT}`);
      info = await useNative(true, "requested");
      if (!gpuVisible()) throw new Error(`Backend "tensorflow-gpu" was requested but TensorFlow sees no GPU (check CUDA 11.2 / cuDNN 8.1 and CUDA_VISIBLE_DEVICES).`);
      break;
    }
    case "tensorflow": {
      const r = tryNative("@tensorflow/tfjs-node");
      if (r.error) throw new Error(`Backend "tensorflow" was requested but @tensorflow/tfjs-node does not load (${r.error}). ${INSTALL_HINT}`);
      info = await useNative(false, "requested");
      break;
    }
    case "webgpu":
      settleNative();
      try {
        info = await useWebGpu(await startWebGpu(adapterKind), `requested (FMNIST_WEBGPU_ADAPTER=${adapterKind})`);
      } catch (err) {
        if (err instanceof WebGpuUnavailableError) throw new Error(`Backend "webgpu" was requested but ${err.message}`);
        throw err;
      }
      break;
    case "wasm":
      settleNative();
      try {
        info = await useWasm("requested", settings);
      } catch (err) {
        if (err instanceof WasmUnavailableError) throw new Error(`Backend "wasm" was requested but ${err.message}. Reinstall the dependencies (npm ci).`);
        throw err;
      }
      break;
    case "cpu":
      settleNative();
      await tf.setBackend("cpu");
      await tf.ready();
      info = { name: "cpu", package: "@tensorflow/tfjs-backend-cpu", gpu: false, reason: "requested", versions: versions("@tensorflow/tfjs-backend-cpu"), threads: 1 };
      break;
    default: {
      const gpuTry = tryNative("@tensorflow/tfjs-node-gpu");
      if (!gpuTry.error) {
        info = await useNative(true, "auto: tfjs-node-gpu loaded");
        if (gpuVisible()) break;
      }
      const cpuTry = gpuTry.error ? tryNative("@tensorflow/tfjs-node") : {};
      if (!cpuTry.error) {
        info = await useNative(false, gpuTry.error ? "auto: tfjs-node loaded" : "auto: tfjs-node-gpu loaded but sees no GPU");
        break;
      }
      // A hardware adapter only: a software one (llvmpipe, lavapipe) is far slower than wasm.
      const possible = hardwareGpuPossible();
      let gpuNote = possible.why;
      if (possible.possible) {
        try {
          info = await useWebGpu(await startWebGpu("hardware"), `auto: native TensorFlow unavailable (${cpuTry.error})`);
          break;
        } catch (err) {
          if (!(err instanceof WebGpuUnavailableError)) throw err;
          gpuNote = err.message;
        }
      }
      try {
        info = await useWasm(`auto: native TensorFlow unavailable (${cpuTry.error}); webgpu: ${gpuNote}`, settings);
      } catch (err) {
        // Only a wasm backend that cannot start falls back; anything else is a real error.
        if (!(err instanceof WasmUnavailableError)) throw err;
        await tf.setBackend("cpu");
        await tf.ready();
        info = {
          name: "cpu",
          package: "@tensorflow/tfjs-backend-cpu",
          gpu: false,
          reason: `auto: FALLBACK to pure JavaScript, several times slower: native TensorFlow unavailable (${cpuTry.error}) and wasm unavailable: ${err.message}`,
          versions: versions("@tensorflow/tfjs-backend-cpu"),
          threads: 1,
        };
      }
    }
  }
  current = info;
  currentRequest = req;
  console.log(`TensorFlow.js backend: ${info.name} (${info.package}${info.gpu ? ", GPU" : ""}; ${info.reason})`);
  if (info.name === "webgpu") console.log("  webgpu: tensors live on the GPU; read them with await t.data() / t.array() (dataSync/arraySync fail in Node)");
  return info;
}

/** The backend chosen by the last initBackend call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
