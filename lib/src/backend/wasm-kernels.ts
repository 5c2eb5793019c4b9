/**
 * Training kernels for the TensorFlow.js wasm backend. As shipped, wasm cannot train a CNN
 * (no Conv2DBackpropFilter, tensorflow/tfjs#8474), and its matrix product is slow when an
 * operand is transposed, which is exactly what dense-layer gradients ask for. Each kernel
 * here is built from the backend's own XNNPACK-backed kernels.
 */
import * as tf from "@tensorflow/tfjs";

type KernelArgs = Parameters<tf.KernelFunc>[0];
type WasmKernel = (args: KernelArgs) => tf.TensorInfo;

function wasmKernel(name: string): WasmKernel {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`The wasm backend has no ${name} kernel to build on (is @tensorflow/tfjs-backend-wasm 4.22 installed?).`);
  return config.kernelFunc as WasmKernel;
}

type Info = tf.TensorInfo;
const asInputs = (m: Record<string, Info> | Info[]): tf.NamedTensorInfoMap => m as unknown as tf.NamedTensorInfoMap;
const asAttrs = (m: Record<string, unknown>): tf.NamedAttrMap => m as unknown as tf.NamedAttrMap;

/**
 * For stride 1 and few channels the wasm Conv3DBackpropFilterV2 kernel (a scalar loop) is
 * faster than many small products: NHWC is NDHWC with D = 1, so only shapes change. Its
 * loop bounds are wrong for strides above 1, so it is never used there.
 */
function viaConv3d(args: KernelArgs, x: Info, dy: Info, pad: unknown, filterShape: [number, number, number, number]): Info {
  const [fh, fw, inC, outC] = filterShape;
  const x5: Info = { dataId: x.dataId, dtype: x.dtype, shape: [x.shape[0], 1, x.shape[1], x.shape[2], x.shape[3]] };
  const dy5: Info = { dataId: dy.dataId, dtype: dy.dtype, shape: [dy.shape[0], 1, dy.shape[1], dy.shape[2], dy.shape[3]] };
  const out = wasmKernel("Conv3DBackpropFilterV2")({
    inputs: asInputs({ x: x5, dy: dy5 }),
    backend: args.backend,
    attrs: asAttrs({ strides: [1, 1, 1], pad, filterShape: [1, fh, fw, inC, outC] }),
  });
  return { dataId: out.dataId, dtype: out.dtype, shape: [fh, fw, inC, outC] };
}

/**
 * Conv2DBackpropFilter from wasm kernels: dW[kh, kw] = Xᵀ(kh, kw) · dY, where X(kh, kw) is
 * the (padded, strided) input window seen by filter tap (kh, kw), reshaped to [N·OH·OW, C].
 * The products run on XNNPACK.
 */
function conv2dBackpropFilter(args: KernelArgs): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as { strides: [number, number] | number; pad: "valid" | "same" | number; filterShape: [number, number, number, number]; dataFormat?: string; dimRoundingMode?: "floor" | "round" | "ceil" };
  if (attrs.dataFormat && attrs.dataFormat !== "NHWC") throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${attrs.dataFormat}.`);
  const backend = args.backend as unknown as { disposeData(id: object): void };
  const run = (name: string, inputs: Record<string, Info> | Info[], a: Record<string, unknown>): Info =>
    wasmKernel(name)({ inputs: asInputs(inputs), backend: args.backend, attrs: asAttrs(a) });
  const temps: Info[] = [];
  const keep = (t: Info): Info => (temps.push(t), t);
  try {
    const [n, , , c] = x.shape;
    const [fh, fw, , f] = attrs.filterShape;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const { top, left, bottom, right } = info.padInfo;
    const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    if (sh === 1 && sw === 1 && c * f <= 64) return viaConv3d(args, x, dy, attrs.pad, attrs.filterShape);
    const padded = top || left || bottom || right ? keep(run("PadV2", { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })) : x;
    const m = n * oh * ow;
    const dy3: Info = { dataId: dy.dataId, dtype: dy.dtype, shape: [1, m, f] };
    const taps: Info[] = [];
    for (let kh = 0; kh < fh; kh++) {
      for (let kw = 0; kw < fw; kw++) {
        const window = keep(run("StridedSlice", { x: padded }, {
          begin: [0, kh, kw, 0], end: [n, kh + (oh - 1) * sh + 1, kw + (ow - 1) * sw + 1, c], strides: [1, sh, sw, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        }));
        const x3: Info = { dataId: window.dataId, dtype: window.dtype, shape: [1, m, c] };
        taps.push(keep(batchMatMulFast({ inputs: asInputs({ a: x3, b: dy3 }), backend: args.backend, attrs: asAttrs({ transposeA: true, transposeB: false }) })));
      }
    }
    const flat = taps.map((t): Info => ({ dataId: t.dataId, dtype: t.dtype, shape: [c, f] }));
    const out = flat.length === 1 ? run("Identity", { x: flat[0] }, {}) : run("Concat", flat, { axis: 0 });
    return { dataId: out.dataId, dtype: out.dtype, shape: [fh, fw, c, f] };
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

let originalBatchMatMul: WasmKernel | undefined;

/**
 * BatchMatMul that transposes a transposed operand first (wasm Transpose), then runs the
 * untransposed product, which takes XNNPACK's fast path (measured ~1.6× faster per
 * training step of the reference CNN, see PLATFORM.md).
 */
function batchMatMulFast(args: KernelArgs): tf.TensorInfo {
  const original = originalBatchMatMul ?? wasmKernel("BatchMatMul");
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (!attrs.transposeA && !attrs.transposeB) return original(args);
  const transpose = wasmKernel("Transpose");
  const backend = args.backend as unknown as { disposeData(id: object): void };
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const flip = (t: tf.TensorInfo): tf.TensorInfo => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transpose({ inputs: { x: t } as unknown as tf.NamedTensorInfoMap, backend: args.backend, attrs: { perm } as unknown as tf.NamedAttrMap });
  };
  const a2 = attrs.transposeA ? flip(a) : a;
  const b2 = attrs.transposeB ? flip(b) : b;
  try {
    return original({ inputs: { a: a2, b: b2 } as unknown as tf.NamedTensorInfoMap, backend: args.backend, attrs: { ...(args.attrs ?? {}), transposeA: false, transposeB: false } });
  } finally {
    if (a2 !== a) backend.disposeData(a2.dataId);
    if (b2 !== b) backend.disposeData(b2.dataId);
  }
}

/** Names of the kernels this module registers or replaces on wasm. */
export const WASM_TRAINING_KERNELS = ["Conv2DBackpropFilter", "BatchMatMul"] as const;

let registered = false;

/** Registers the training kernels on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  if (!tf.getKernel("Conv2DBackpropFilter", "wasm")) {
    tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: "wasm", kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc });
  }
  const bmm = tf.getKernel("BatchMatMul", "wasm");
  if (bmm) {
    originalBatchMatMul = bmm.kernelFunc as WasmKernel;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...bmm, kernelFunc: batchMatMulFast as unknown as tf.KernelFunc });
  }
  registered = true;
}
