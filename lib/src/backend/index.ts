/** Backends: selection and initialisation, and the wasm training kernels. */
export * from "./select";
export * from "./wasm-kernels";
export * from "./batchnorm-grad";
export * from "./batchnorm-train";
export * from "./wasm-threads";
export * from "./fused-adam";
export { simdKernelsFailure } from "./simd-kernels";
