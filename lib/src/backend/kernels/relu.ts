/**
 * Relu (replaces wasm's) and FmnistReluGrad (wasm only): ReLU and its gradient as one WebAssembly
 * SIMD pass each, shared out among the wasm threads. In a step of `best` the ReLU after each batch
 * norm ran on XNNPACK's one-thread pool, and its gradient, tfjs's `dy · cast(step(x))`, as a Step,
 * a Cast and a Multiply over the whole activation, all on the calling thread: ~8 ms of a
 * two-thread step at batch 128 that the second thread could not help with. The same numbers:
 * max(x, 0) and "dy where x > 0, else 0" are exact (only the sign of a zero may differ).
 */
import { infoSize, upstreamKernel, type HeapBackend, type Info, type KernelArgs } from "../kernel-runner";
import { elementwiseShared } from "../row-loops";
import { heapOffset, simdKernels } from "../simd-kernels";
import type { WasmKernelDef, WasmLoop } from "./kernel";

/** Kernel name: {dy, x} → dy where x > 0, else 0 (the gradient of Relu with respect to its input x; wasm). */
export const RELU_GRAD = "FmnistReluGrad";

/** `reluForward(x, out, vectors)`: out = max(x, 0), `vectors` groups of 4 float32. */
const RELU_FORWARD: WasmLoop = {
  name: "reluForward",
  wat: () => `
  ;; ReLU: out = max(x, 0) over \`vectors\` groups of four float32 (byte offsets).
  (func (export "reluForward") (param $x i32) (param $out i32) (param $vectors i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $vectors) (i32.const 4))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $out) (f32x4.max (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $l)))
  )`,
};

/** `reluGrad(x, dy, out, vectors)`: out = dy where x > 0, else 0, `vectors` groups of 4 float32. */
const RELU_GRAD_LOOP: WasmLoop = {
  name: "reluGrad",
  wat: () => `
  ;; ReLU's gradient: out = dy where x > 0, else 0, over \`vectors\` groups of four float32 (byte offsets).
  (func (export "reluGrad") (param $x i32) (param $dy i32) (param $out i32) (param $vectors i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $vectors) (i32.const 4))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $out)
        (v128.and (v128.load (local.get $dy)) (f32x4.gt (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $l)))
  )`,
};

function reluWasm(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const simd = simdKernels(args.backend);
  if (!simd || x.dtype !== "float32") return upstreamKernel("Relu")(args);
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const n = infoSize(x);
  const vectors = n >> 2;
  elementwiseShared(simd, "reluForward", [heapOffset(backend, x), heapOffset(backend, out)], vectors);
  if (n !== vectors << 2) {
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    for (let i = vectors << 2; i < n; i++) ov[i] = xv[i] > 0 ? xv[i] : 0;
  }
  return out;
}

function reluGradWasm(args: KernelArgs): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const n = infoSize(x);
  if (x.dtype !== "float32" || dy.dtype !== "float32" || infoSize(dy) !== n) {
    throw new Error(`${RELU_GRAD}: x and dy must be float32 of the same size, got ${x.dtype} [${x.shape}] and ${dy.dtype} [${dy.shape}]`);
  }
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const simd = simdKernels(args.backend);
  const vectors = simd ? n >> 2 : 0;
  if (simd) elementwiseShared(simd, "reluGrad", [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out)], vectors);
  // Views after makeOutput (growing the heap detaches earlier ones); the tail, or everything without SIMD.
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const ov = backend.typedArrayFromHeap(out);
  for (let i = vectors << 2; i < n; i++) ov[i] = xv[i] > 0 ? dyv[i] : 0;
  return out;
}

export const reluKernel: WasmKernelDef = {
  name: "Relu",
  requires: { sets: ["fast"], upstream: "replaces" },
  impl: reluWasm,
  loops: [RELU_FORWARD],
};

export const reluGradKernel: WasmKernelDef = {
  name: RELU_GRAD,
  requires: { sets: ["fast"], upstream: "adds" },
  impl: reluGradWasm,
  loops: [RELU_GRAD_LOOP],
};
