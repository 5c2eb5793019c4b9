/**
 * The wasm training kernels, in one table, and their registration. As shipped, wasm cannot train
 * a CNN (no Conv2DBackpropFilter, tensorflow/tfjs#8474), and its matrix product is slow when an
 * operand is transposed, which is exactly what dense-layer gradients ask for. Each kernel lives in
 * its own file in this folder, exporting its name, implementation, requirements (which set
 * installs it, whether it replaces or adds a wasm kernel, whether it needs the SIMD loops) and the
 * WebAssembly loops it runs. To change a kernel, change its file; to add one, add a file and a row
 * below.
 *
 * Registration has two steps, both run by initBackend (select.ts): {@link registerWasmTrainingKernels}
 * before the backend starts, and {@link startWasmKernelLoops} once it has (the loops are instantiated
 * against the backend's memory, and the kernels that need them registered then).
 */
import * as tf from "@tensorflow/tfjs";
import { registerBatchNormGradient } from "../batchnorm-grad";
import { registerReluGradient } from "../relu-grad";
import { rememberUpstream, type WasmKernel } from "../kernel-runner";
import { loadSimdKernels, sharedSimdModule } from "../simd-kernels";
import { startTileHelpers } from "../tile-helpers";
import { setTiledConvThreads } from "../tiled-conv";
import { adamStepKernel } from "./adam-step";
import { batchMatMulKernel } from "./batch-mat-mul";
import { batchMomentsKernel } from "./batch-moments";
import { batchNormGradSumsKernel } from "./batch-norm-grad-sums";
import { batchNormTrainGradKernel } from "./batch-norm-train-grad";
import { conv2dKernel, fusedConv2dKernel } from "./conv2d";
import { conv2dBackpropFilterKernel, conv2dBackpropFilterMinimalKernel } from "./conv2d-backprop-filter";
import { conv2dBackpropInputKernel } from "./conv2d-backprop-input";
import { fusedBatchNormKernel } from "./fused-batch-norm";
import { identityKernel } from "./identity";
import type { WasmKernelDef, WasmKernelSet, WasmLoop } from "./kernel";
import { maxPoolKernel } from "./max-pool";
import { maxPoolGradKernel } from "./max-pool-grad";
import { reluGradKernel, reluKernel } from "./relu";
import { meanKernel, sumKernel } from "./sum-mean";

export type { WasmKernelSet } from "./kernel";

/**
 * Every wasm kernel of ours. Registration order does not matter (each name is registered once per set);
 * this order puts the loops into the SIMD module in the order they were first written, so the module
 * assembles to the same binary as the hand-written text it replaced.
 */
export const WASM_KERNELS: readonly WasmKernelDef[] = [
  maxPoolGradKernel,
  sumKernel,
  meanKernel,
  batchNormGradSumsKernel,
  fusedBatchNormKernel,
  batchMomentsKernel,
  batchNormTrainGradKernel,
  adamStepKernel, // registered once the SIMD loops loaded
  conv2dKernel,
  fusedConv2dKernel,
  conv2dBackpropInputKernel,
  conv2dBackpropFilterKernel, // fast
  conv2dBackpropFilterMinimalKernel, // minimal: the only kernel of that set
  batchMatMulKernel,
  identityKernel,
  maxPoolKernel,
  reluKernel,
  reluGradKernel,
];

/** Names of the wasm kernels that ours add or replace (the "fast" set). */
export const WASM_TRAINING_KERNELS: readonly string[] = [...new Set(WASM_KERNELS.filter((k) => k.requires.sets.includes("fast")).map((k) => k.name))];

let registered: WasmKernelSet | undefined;

function inSet(set: WasmKernelSet): WasmKernelDef[] {
  return WASM_KERNELS.filter((k) => k.requires.sets.includes(set));
}

function register(k: WasmKernelDef): void {
  const existing = tf.getKernel(k.name, "wasm");
  const kernelFunc = k.impl as unknown as tf.KernelFunc;
  if (k.requires.upstream === "adds") {
    if (!existing) tf.registerKernel({ kernelName: k.name, backendName: "wasm", kernelFunc });
    return;
  }
  if (!existing) return;
  rememberUpstream(k.name, existing.kernelFunc as WasmKernel);
  tf.unregisterKernel(k.name, "wasm");
  tf.registerKernel({ ...existing, kernelFunc });
}

/**
 * Registers the kernels of `set` (FMNIST_WASM_KERNELS, in Config) on the wasm backend, all but
 * those that need the SIMD loops, and with "fast" the FusedBatchNorm and Relu gradients that use them
 * (../batchnorm-grad.ts, ../relu-grad.ts). "fast" is every kernel of the table; "minimal" only makes wasm able to
 * train (the benchmark's "before" column). Idempotent; asking for a different set after the first
 * call is an error (kernels are process-wide).
 */
export function registerWasmTrainingKernels(set: WasmKernelSet = "fast"): void {
  if (registered) {
    if (registered !== set) throw new Error(`The "${registered}" wasm kernels are already registered in this process; cannot switch to "${set}" (restart the kernel).`);
    return;
  }
  for (const k of inSet(set)) if (k.requires.loops !== "required") register(k);
  if (set === "fast") {
    registerBatchNormGradient();
    registerReluGradient();
  }
  registered = set;
}

/** The kernel set registered in this process, if any. */
export function wasmKernelSet(): WasmKernelSet | undefined {
  return registered;
}

/** Whether the kernels of `set` run SIMD loops, and with several threads share them with helper threads (startWasmKernelLoops). */
export function usesTileHelpers(set: WasmKernelSet): boolean {
  return inSet(set).some((k) => (k.loops ?? []).length > 0);
}

/** The WebAssembly text of every loop the kernels of `set` run, each loop once, in table order. */
export function wasmLoopsText(set: WasmKernelSet): string {
  const loops = new Map<string, WasmLoop>();
  for (const k of inSet(set)) for (const loop of k.loops ?? []) loops.set(loop.name, loop);
  return [...loops.values()].map((loop) => loop.wat()).join("\n");
}

/**
 * Once the wasm backend runs on `threads` threads: loads the SIMD loops of `set` into `backend`'s
 * memory, registers the kernels that need them, and with several threads starts the convolution
 * helper threads. Never throws: what could not start is said in `notes` ("; reason" each), and the
 * kernels keep their JavaScript or upstream routes.
 */
export async function startWasmKernelLoops(set: WasmKernelSet, backend: unknown, threads: number): Promise<{ loops: "simd" | "off"; notes: string }> {
  setTiledConvThreads(threads);
  const withLoops = inSet(set).filter((k) => (k.loops ?? []).length > 0 || k.requires.loops === "required");
  if (withLoops.length === 0) return { loops: "off", notes: "" };
  const failure = await loadSimdKernels(backend, wasmLoopsText(set));
  if (failure) return { loops: "off", notes: `; ${failure}` };
  for (const k of withLoops) if (k.requires.loops === "required") register(k);
  let notes = "";
  // The convolution tiles use every thread: helpers over the shared memory of the threaded build.
  const shared = sharedSimdModule();
  if (shared && threads > 1) {
    const helperFailure = await startTileHelpers(threads - 1, shared.module, shared.memory);
    if (helperFailure) notes += `; ${helperFailure}`;
  }
  return { loops: "simd", notes };
}
