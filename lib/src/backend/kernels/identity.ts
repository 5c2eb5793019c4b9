/** Identity (replaces wasm's): no copy, the output shares the input's buffer. */
import { upstreamKernel, type Info, type KernelArgs } from "../kernel-runner";
import type { WasmKernelDef } from "./kernel";

/**
 * Identity without a copy: the output shares the input's buffer, counted twice (as the cpu
 * backend and wasm's own Reshape do; tensors are immutable). The wasm kernel copies, and a
 * tfjs-layers training step of `best` (batch 128) ran about 13 of them on whole activations.
 */
function identityShared(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  if (x.dtype === "string") return upstreamKernel("Identity")(args);
  (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityKernel: WasmKernelDef = {
  name: "Identity",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: identityShared,
};
