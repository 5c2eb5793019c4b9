/**
 * What every wasm kernel of ours is written against: the kernel arguments (declared here only),
 * the backend's heap access, running the backend's own kernels from inside ours, and the upstream
 * kernel a replacement of ours builds on.
 */
import * as tf from "@tensorflow/tfjs";

export type KernelArgs = Parameters<tf.KernelFunc>[0];
export type WasmKernel = (args: KernelArgs) => tf.TensorInfo;
export type Info = tf.TensorInfo;

/** The wasm backend's heap access, for kernels that loop over tensor memory directly. */
export type HeapBackend = { makeOutput(shape: number[], dtype: "float32"): Info; typedArrayFromHeap(t: Info): Float32Array; disposeData(id: object): void };

/** Number of values of a tensor. */
export const infoSize = (t: Info): number => t.shape.reduce((a, b) => a * b, 1);

export const asInputs = (m: Record<string, Info> | Info[]): tf.NamedTensorInfoMap => m as unknown as tf.NamedTensorInfoMap;
export const asAttrs = (m: Record<string, unknown>): tf.NamedAttrMap => m as unknown as tf.NamedAttrMap;

/** The kernel currently registered on wasm under `name`. */
export function wasmKernel(name: string): WasmKernel {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`The wasm backend has no ${name} kernel to build on (is @tensorflow/tfjs-backend-wasm 4.22 installed?).`);
  return config.kernelFunc as WasmKernel;
}

/** The upstream kernels ours replaced, by name (filled in by the registration, kernels/registry.ts). */
const upstream = new Map<string, WasmKernel>();

/**
 * The wasm backend's own kernel `name`: the one ours replaced, or, where ours did not replace it
 * (the "minimal" set, or before registration), the one registered now.
 */
export function upstreamKernel(name: string): WasmKernel {
  return upstream.get(name) ?? wasmKernel(name);
}

/** Records the upstream kernel that ours replaces under `name` (registration only). */
export function rememberUpstream(name: string, kernel: WasmKernel): void {
  upstream.set(name, kernel);
}

/** A function running the wasm kernel registered under a name, on `backend`. */
export function kernelRunner(backend: KernelArgs["backend"]): (name: string, inputs: Record<string, Info> | Info[], attrs: Record<string, unknown>) => Info {
  return (name, inputs, attrs) => wasmKernel(name)({ inputs: asInputs(inputs), backend, attrs: asAttrs(attrs) });
}
