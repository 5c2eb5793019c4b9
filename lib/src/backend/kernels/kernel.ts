/**
 * The shape of one wasm kernel of ours (one file per kernel in this folder, listed in registry.ts):
 * its tfjs name, its implementation, what it requires, and the WebAssembly SIMD loops it runs.
 */
import type { WasmKernelSet } from "../../config";
import type { Info, KernelArgs } from "../kernel-runner";

export type { WasmKernelSet } from "../../config";

/**
 * One exported WebAssembly function (or a few that belong together), as text for the SIMD module
 * (simd-kernels.ts assembles every loop the registered kernels list, each once).
 */
export interface WasmLoop {
  /** The export the kernels call (simd-kernels.ts `SimdKernels`); loops are de-duplicated by it. */
  name: string;
  /** The functions' WebAssembly text. */
  wat(): string;
}

/** What a kernel needs to be registered. */
export interface KernelRequirements {
  /** The FMNIST_WASM_KERNELS sets that install it. */
  sets: readonly WasmKernelSet[];
  /**
   * "replaces": it replaces wasm's own kernel, which it can still run as `upstreamKernel(name)`
   * (skipped when wasm has none); "adds": wasm lacks it (skipped when wasm has one).
   */
  upstream: "replaces" | "adds";
  /** "required": registered only once its SIMD loops loaded; otherwise it falls back to JavaScript or upstream without them. */
  loops?: "required";
}

export interface WasmKernelDef {
  /** The tfjs kernel name. */
  name: string;
  requires: KernelRequirements;
  impl(args: KernelArgs): Info | Info[];
  /** The SIMD loops it runs when they loaded. */
  loops?: readonly WasmLoop[];
}
