// The wasm kernels' one table (lib/src/backend/kernels/registry.ts): what each set registers, the SIMD
// module its loops assemble into, Adam's loop (vector and scalar halves generated from one description)
// against a float32 reference, and the kernel set and thread count as part of Config.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { upstreamKernel } from "../lib/src/backend/kernel-runner";
import { WASM_KERNELS, WASM_TRAINING_KERNELS, wasmKernelSet, wasmLoopsText } from "../lib/src/backend/kernels/registry";
import { resolveConfig, wasmSettingsOf } from "../lib/src/config";

interface Wabt {
  parseWat(name: string, text: string, features: Record<string, boolean>): { validate(f: Record<string, boolean>): void; toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
}
declare const WebAssembly: {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object & { [k: string]: unknown };
  Instance: new (module: object, imports: object) => { exports: Record<string, (...args: number[]) => void> };
};
declare const require: (id: string) => unknown;

/** The "fast" set's loops as one module over a fresh memory of one page, as simd-kernels.ts assembles them. */
async function instantiate(): Promise<{ exports: Record<string, (...args: number[]) => void>; heap: ArrayBuffer }> {
  const wabt = await (require("wabt") as () => Promise<Wabt>)();
  const text = `(module\n  (import "env" "memory" (memory 0 ))\n${wasmLoopsText("fast")}\n)`;
  const parsed = wabt.parseWat("test.wat", text, { simd: true });
  parsed.validate({ simd: true });
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { exports: instance.exports, heap: memory.buffer };
}

test("the table: fast registers every kernel once, minimal only the missing Conv2DBackpropFilter; loops are listed where they run", () => {
  const names = (set: "fast" | "minimal"): string[] => WASM_KERNELS.filter((k) => k.requires.sets.includes(set)).map((k) => k.name);
  assert.deepEqual(names("minimal"), ["Conv2DBackpropFilter"]);
  assert.equal(new Set(names("fast")).size, names("fast").length, "one definition per kernel name in a set");
  assert.deepEqual([...WASM_TRAINING_KERNELS].sort(), [...names("fast")].sort());
  for (const k of WASM_KERNELS) {
    if (k.requires.loops === "required") assert.ok((k.loops ?? []).length > 0, `${k.name} needs loops but lists none`);
  }
  const text = wasmLoopsText("fast");
  const exported = [...text.matchAll(/\(export "([^"]+)"\)/g)].map((m) => m[1]).sort();
  assert.deepEqual(exported, ["adam", "addChunks", "batchNormApply", "batchNormGradSums", "batchNormInputGrad", "convFilterGrad", "convForward", "gemmNN", "gemmNT", "gemmTN", "maxPool2x2", "maxPoolGrad2x2", "padImages", "reluForward", "reluGrad", "sumRows"]);
  assert.equal(wasmLoopsText("minimal"), "");
});

test("Adam's generated loop equals tf.train.adam's float32 operations bit for bit, on the vector part and the scalar tail", async () => {
  const { exports, heap } = await instantiate();
  const len = 11; // 8 values on f32x4 lanes, 3 on the scalar tail
  const f32 = new Float32Array(heap);
  const [p, m, v, g, po, mo, vo] = [0, 1, 2, 3, 4, 5, 6].map((i) => i * 16); // element offsets (16 floats apart)
  for (let k = 0; k < len; k++) {
    f32[p + k] = Math.sin(k + 1);
    f32[m + k] = 0.01 * Math.cos(3 * k);
    f32[v + k] = 0.001 * (k + 1);
    f32[g + k] = Math.sin(7 * k) / 3;
  }
  const [beta1, beta2, acc1, acc2, eps, lr] = [0.9, 0.999, 1 - 0.9 ** 3, 1 - 0.999 ** 3, 1e-7, 0.001];
  exports.adam(4 * p, 4 * m, 4 * v, 4 * g, 4 * po, 4 * mo, 4 * vo, len, beta1, 1 - beta1, beta2, 1 - beta2, acc1, acc2, eps, -lr);
  const r = Math.fround;
  const [b1, c1, b2, c2, bc1, bc2, e, nlr] = [beta1, 1 - beta1, beta2, 1 - beta2, acc1, acc2, eps, -lr].map(r);
  for (let k = 0; k < len; k++) {
    const gk = f32[g + k];
    const mk = r(r(f32[m + k] * b1) + r(gk * c1));
    const vk = r(r(f32[v + k] * b2) + r(r(gk * gk) * c2));
    const pk = r(r(r(r(mk / bc1) / r(r(Math.sqrt(r(vk / bc2))) + e)) * nlr) + f32[p + k]);
    assert.deepEqual([f32[mo + k], f32[vo + k], f32[po + k]], [mk, vk, pk], `element ${k} (${k < 8 ? "vector" : "scalar"} part)`);
  }
});

test("sumRows (Sum and Mean's loop) adds every row into float64 accumulators", async () => {
  const { exports, heap } = await instantiate();
  const rows = 3;
  const cols = 8;
  const x = new Float32Array(heap, 0, rows * cols);
  x.forEach((_, i) => (x[i] = Math.fround(0.1 * i - 1)));
  const accAt = 256;
  const acc = new Float64Array(heap, accAt, cols);
  acc.fill(0);
  exports.sumRows(0, rows, cols, accAt);
  for (let k = 0; k < cols; k++) assert.equal(acc[k], x[k] + x[cols + k] + x[2 * cols + k], `column ${k}`);
});

test("the kernel set and thread count are Config's wasmKernels and wasmThreads, validated there", () => {
  const cfg = resolveConfig({});
  assert.equal(cfg.wasmKernels, "fast");
  assert.equal(cfg.wasmThreads, "auto");
  assert.equal(resolveConfig({ FMNIST_WASM_THREADS: " 2 ", FMNIST_WASM_KERNELS: "minimal" }).wasmThreads, 2);
  assert.equal(resolveConfig({ FMNIST_WASM_KERNELS: "minimal" }).wasmKernels, "minimal");
  assert.equal(resolveConfig({ FMNIST_WASM_THREADS: "2" }, { wasmThreads: 3 }).wasmThreads, 3);
  assert.throws(() => resolveConfig({}, { wasmThreads: 0 }), /wasmThreads = "0": use auto \(one thread per core\) or a whole number from 1 to 8/);
  assert.throws(() => resolveConfig({}, { wasmKernels: "turbo" as never }), /wasmKernels = "turbo": choose fast .* or minimal/);
  assert.deepEqual(wasmSettingsOf({ wasmKernels: "minimal", wasmThreads: "auto" }, 16), { threads: 8, kernels: "minimal" });
  assert.deepEqual(wasmSettingsOf({ wasmKernels: "fast", wasmThreads: "auto" }, 1), { threads: 1, kernels: "fast" });
  assert.deepEqual(wasmSettingsOf({ wasmKernels: "fast", wasmThreads: 5 }, 2), { threads: 5, kernels: "fast" });
});

test("initBackend(config) registers the configured set: every fast kernel on wasm, replacements in front of upstream's", async () => {
  const info = await initBackend(resolveConfig({ FMNIST_BACKEND: "wasm", FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: "1" }));
  assert.equal(info.name, "wasm");
  assert.equal(info.threads, 1);
  assert.equal(info.versions.kernels, "fast");
  assert.equal(wasmKernelSet(), "fast");
  for (const k of WASM_KERNELS.filter((d) => d.requires.sets.includes("fast"))) {
    const registered = tf.getKernel(k.name, "wasm");
    assert.ok(registered, `${k.name} is registered`);
    if (k.requires.upstream === "replaces") assert.notEqual(upstreamKernel(k.name), registered.kernelFunc, `${k.name}: ours in front, upstream kept`);
  }
  if (info.versions.loops === "simd") assert.ok(tf.getKernel("FmnistAdamStep", "wasm"), "the fused Adam step once the loops loaded");
});
