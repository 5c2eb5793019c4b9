/**
 * BatchMatMul (replaces wasm's): float32 products on the register-tiled SIMD loops
 * (../tiled-gemm.ts, text from ../gemm-wat.ts), which read every operand in place and beat XNNPACK
 * at every size measured; the rest (both operands transposed, broadcast batches, no SIMD loops)
 * through XNNPACK, with transposed products made untransposed first (its transposed path is slow).
 */
import { gemmWat } from "../gemm-wat";
import { asAttrs, asInputs, infoSize, upstreamKernel, wasmKernel, type Info, type KernelArgs } from "../kernel-runner";
import { tiledMatMul } from "../tiled-gemm";
import type { WasmKernelDef, WasmLoop } from "./kernel";


/**
 * BatchMatMul that never asks XNNPACK for a transposed product (its slow path). C = op(A)·op(B)
 * is computed either directly, transposing whichever operand is marked transposed, or as
 * (op(B)ᵀ·op(A)ᵀ)ᵀ, whichever copies fewer elements: XNNPACK also packs the second operand on
 * every call, so a large second operand (a dense layer's weights in dx = dy·Wᵀ) costs twice.
 * Measured on the 64-filter CNN's 43,264×128 dense layer: see `npm run bench`. The route of the
 * products the SIMD loops do not take (and the bench's "old route").
 */
export function batchMatMulXnnpack(args: KernelArgs): Info {
  const original = upstreamKernel("BatchMatMul");
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (!attrs.transposeA && !attrs.transposeB) return original(args);
  const backend = args.backend as unknown as { disposeData(id: object): void };
  const { a, b } = args.inputs as { a: Info; b: Info };
  const flip = (t: Info): Info => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return wasmKernel("Transpose")({ inputs: asInputs({ x: t }), backend: args.backend, attrs: asAttrs({ perm }) });
  };
  const temps: Info[] = [];
  const product = (x: Info, transposeX: boolean, y: Info, transposeY: boolean): Info => {
    const x2 = transposeX ? flip(x) : x;
    const y2 = transposeY ? flip(y) : y;
    if (x2 !== x) temps.push(x2);
    if (y2 !== y) temps.push(y2);
    return original({ inputs: asInputs({ a: x2, b: y2 }), backend: args.backend, attrs: asAttrs({ ...(args.attrs ?? {}), transposeA: false, transposeB: false }) });
  };
  const [ta, tb] = [attrs.transposeA, attrs.transposeB];
  const outElems = (infoSize(a) / (ta ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1])) * (tb ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1]);
  const direct = (ta ? infoSize(a) : 0) + (tb ? infoSize(b) : 0) + infoSize(b);
  const swapped = (tb ? 0 : infoSize(b)) + (ta ? 0 : infoSize(a)) + infoSize(a) + outElems;
  try {
    if (direct <= swapped) return product(a, ta, b, tb);
    // C = (op(B)ᵀ · op(A)ᵀ)ᵀ, where op(B)ᵀ is B itself when B was marked transposed, and likewise A.
    const ct = product(b, !tb, a, !ta);
    temps.push(ct);
    return flip(ct);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** BatchMatMul: the tiled SIMD product when it covers the case, else {@link batchMatMulXnnpack}. */
export function batchMatMulFast(args: KernelArgs): Info {
  return tiledMatMul(args) ?? batchMatMulXnnpack(args);
}

/** `gemmNN`, `gemmTN` and `gemmNT` (../gemm-wat.ts). */
export const GEMM_LOOPS: WasmLoop = { name: "gemmNN, gemmTN, gemmNT", wat: gemmWat };

export const batchMatMulKernel: WasmKernelDef = {
  name: "BatchMatMul",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: batchMatMulFast,
  loops: [GEMM_LOOPS],
};
