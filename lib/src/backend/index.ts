/** Backends: selection and initialisation, and the wasm training kernels (one table: kernels/registry.ts). */
export * from "./select";
export { registerWasmTrainingKernels, wasmKernelSet, WASM_KERNELS, WASM_TRAINING_KERNELS, type WasmKernelSet } from "./kernels/registry";
export type { WasmKernelDef, KernelRequirements, WasmLoop } from "./kernels/kernel";
export type { HeapBackend } from "./kernel-runner";
export { BATCH_NORM_GRAD_SUMS, channelGradSums } from "./kernels/batch-norm-grad-sums";
export { BATCH_MOMENTS } from "./kernels/batch-moments";
export { BATCH_NORM_TRAIN_GRAD } from "./kernels/batch-norm-train-grad";
export { ADAM_STEP } from "./kernels/adam-step";
export * from "./batchnorm-grad";
export * from "./batchnorm-train";
export * from "./wasm-threads";
export * from "./fused-adam";
export { simdKernelsFailure } from "./simd-kernels";
