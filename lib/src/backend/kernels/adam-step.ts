/**
 * FmnistAdamStep (wasm only): one Adam update of a variable as a single WebAssembly SIMD pass,
 * tf.train.adam's float32 operations in its order, so results are bit for bit upstream's. Used by
 * FusedAdamOptimizer (../fused-adam.ts); registered only when the SIMD loops loaded (without
 * them the upstream update runs: a JavaScript loop was measured slower than upstream).
 */
import type { HeapBackend, Info, KernelArgs } from "../kernel-runner";
import { heapOffset, simdKernels } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";
import { get, SCALAR, VECTOR, type Lanes } from "./wat";

/** Kernel name of the fused Adam step (wasm only). */
export const ADAM_STEP = "FmnistAdamStep";

/** The kernel's attributes: the optimizer's settings and this step's bias corrections. */
export interface AdamStepAttrs { beta1: number; beta2: number; oneMinusAccBeta1: number; oneMinusAccBeta2: number; epsilon: number; learningRate: number }

/** The constants of the update (c = 1 − b, bc = 1 − b^t, nlr = −learning rate), in parameter order. */
const CONSTANTS = ["b1", "c1", "b2", "c2", "bc1", "bc2", "eps", "nlr"];

/**
 * One step of the update on lanes `l`, for every byte offset $o below $<end>:
 *   m' = m·b1 + g·c1;  v' = v·b2 + (g·g)·c2;  p' = ((m'/bc1) / (sqrt(v'/bc2) + eps))·nlr + p
 */
function update(l: Lanes, loop: string, end: string): string {
  const { f } = l;
  const at = (base: string): string => `(i32.add ${get(base)} ${get("o")})`;
  const k = (name: string): string => get(l.constant(name));
  const [G, M, V] = ["g", "m", "v"].map((name) => l.value(name));
  return `
    (block $${loop}done (loop $${loop}l
      (br_if $${loop}done (i32.ge_u ${get("o")} ${get(end)}))
      (local.set $${G} (${l.load} ${at("g")}))
      (local.set $${M} (${f}.add
        (${f}.mul (${l.load} ${at("m")}) ${k("b1")})
        (${f}.mul ${get(G)} ${k("c1")})))
      (local.set $${V} (${f}.add
        (${f}.mul (${l.load} ${at("v")}) ${k("b2")})
        (${f}.mul (${f}.mul ${get(G)} ${get(G)}) ${k("c2")})))
      (${l.store} ${at("mo")} ${get(M)})
      (${l.store} ${at("vo")} ${get(V)})
      (${l.store} ${at("po")}
        (${f}.add
          (${f}.mul
            (${f}.div
              (${f}.div ${get(M)} ${k("bc1")})
              (${f}.add (${f}.sqrt (${f}.div ${get(V)} ${k("bc2")})) ${k("eps")}))
            ${k("nlr")})
          (${l.load} ${at("p")})))
      (local.set $o (i32.add ${get("o")} (i32.const ${l.bytes})))
      (br $${loop}l)))`;
}

/** `adam`: the update over len float32 values, 4 at a time and then one at a time. Outputs must not overlap the inputs. */
const ADAM_LOOP: WasmLoop = {
  name: "adam",
  wat: () => `
  ;; One Adam step over len float32 values (see adam-step.ts).
  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32)
    (param $po i32) (param $mo i32) (param $vo i32) (param $len i32)
    ${CONSTANTS.map((c) => `(param $${c} f32)`).join(" ")}
    (local $o i32) (local $end i32) (local $all i32)
    ${CONSTANTS.map((c) => `(local $${VECTOR.constant(c)} v128)`).join(" ")}
    ${["g", "m", "v"].map((x) => `(local $${VECTOR.value(x)} v128)`).join(" ")}
    ${["g", "m", "v"].map((x) => `(local $${SCALAR.value(x)} f32)`).join(" ")}
    ${CONSTANTS.map((c) => `(local.set $${VECTOR.constant(c)} (f32x4.splat ${get(c)}))`).join("\n    ")}
    (local.set $all (i32.shl ${get("len")} (i32.const 2)))
    (local.set $end (i32.and ${get("all")} (i32.const -16)))${update(VECTOR, "v", "end")}${update(SCALAR, "s", "all")}
  )`,
};

/** value, m, v, gradient → [new value, new m, new v], exactly as AdamOptimizer.applyGradients computes them. */
function adamStep(args: KernelArgs): Info[] {
  const simd = simdKernels(args.backend);
  if (!simd) throw new Error(`${ADAM_STEP} needs the WebAssembly SIMD loops, which are not loaded.`);
  const { value, m, v, gradient } = args.inputs as Record<"value" | "m" | "v" | "gradient", Info>;
  const a = args.attrs as unknown as AdamStepAttrs;
  const backend = args.backend as unknown as HeapBackend;
  const outs = [backend.makeOutput(value.shape, "float32"), backend.makeOutput(value.shape, "float32"), backend.makeOutput(value.shape, "float32")];
  const at = (t: Info): number => heapOffset(backend, t);
  const len = value.shape.reduce((p, q) => p * q, 1);
  // The scalars as tfjs makes them: JS doubles turned into float32 tensors (the call rounds f32 parameters).
  simd.adam(
    at(value), at(m), at(v), at(gradient), at(outs[0]), at(outs[1]), at(outs[2]), len,
    a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, -a.learningRate,
  );
  return outs;
}

export const adamStepKernel: WasmKernelDef = {
  name: ADAM_STEP,
  requires: { sets: ["fast"], upstream: "adds", loops: "required" },
  impl: adamStep,
  loops: [ADAM_LOOP],
};

