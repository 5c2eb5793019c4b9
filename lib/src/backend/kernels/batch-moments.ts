/**
 * FmnistBatchMoments (wasm only): x [..., C] → [2, C] = [mean, variance (biased)] over every axis
 * but the last, from one pass of the batch-norm sums; used by ../batchnorm-train.ts.
 */
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { channelGradSums, channelsAndRows } from "./batch-norm-grad-sums";
import type { WasmKernelDef } from "./kernel";

/** Kernel name: x [..., C] → [2, C] = [mean, variance (biased)] over every axis but the last (wasm). */
export const BATCH_MOMENTS = "FmnistBatchMoments";

function momentsWasm(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { c, rows } = channelsAndRows(x);
  // Σx and Σx·(x − 0): one pass; the variance as E[x²] − μ² is exact enough in float64.
  const { sDy: s1, sDyX: s2 } = channelGradSums(args.backend, x, x, new Float64Array(c));
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([2, c], "float32");
  const ov = backend.typedArrayFromHeap(out);
  for (let k = 0; k < c; k++) {
    const mean = s1[k] / rows;
    ov[k] = mean;
    ov[c + k] = Math.max(0, s2[k] / rows - mean * mean);
  }
  return out;
}

export const batchMomentsKernel: WasmKernelDef = {
  name: BATCH_MOMENTS,
  requires: { sets: ["fast"], upstream: "adds" },
  impl: momentsWasm,
};
