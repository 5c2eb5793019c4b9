// Training equivalence of the webgpu and native TensorFlow backends with the pure-JS cpu backend
// (issue 18): model 1 of the bench (cnn_maxpool, Adam as the registry builds it: the fused Adam's
// upstream path off wasm) and `best` (batch norm, PlainConv2D, SeededDropout; one SGD update here,
// see below), a few steps on real images from the same start weights; every step's loss within 1e-4
// relative of cpu's. Each backend runs in its own child process (scripts/backends/equivalence.ts);
// cpu's losses are cached in the temp folder per library version (minutes for `best` on cpu).
//
// Why SGD and one update for `best`: Adam's first updates are lr·m/√v ≈ ±lr for every weight,
// whatever the gradient's size, so a gradient component that is ~0 on cpu and ~1e-9 of the other
// sign on another backend moves that weight by 2·lr; and after a couple of updates a ReLU or a
// max-pool window that sits on a tie flips. Measured on `best` against cpu: webgpu within 1e-7
// every time; tensorflow (whose kernels sum in another order) Adam, batch 32: 7.6e-5 after one
// update, 4.9e-3 after two; SGD, batch 16: 1.1e-7 after one update, 1.5e-4 after two (with the native
// training kernels, whose fused batch norm sums in float32: 4.3e-5 after one update). So `best`
// compares the loss before and after one SGD update; model 1 keeps Adam over two updates and stays
// within 1e-7 on both.
//
// webgpu runs on a software adapter (Mesa's llvmpipe) unless FMNIST_WEBGPU_ADAPTER says otherwise;
// tensorflow needs `npm run native`. Where a backend is unavailable the test is skipped with the
// reason printed, except under CI=true when CI_EXPECT_BACKENDS (set by .ci/run, which installs them)
// names it: then its absence fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EQUIVALENCE_CASES, LOSS_RTOL, compare, cpuReference, runEquivalenceWorker, type EquivalenceSpec } from "../scripts/backends/equivalence";

const CASES = EQUIVALENCE_CASES;
const BACKENDS = ["webgpu", "tensorflow"] as const;

const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_WEBGPU_ADAPTER: process.env.FMNIST_WEBGPU_ADAPTER ?? "software" };
const expected = new Set((process.env.CI_EXPECT_BACKENDS ?? "").split(/[\s,]+/).filter(Boolean));
const ci = process.env.CI === "true";

const unavailable = new Map<string, string>();

for (const backend of BACKENDS) {
  for (const c0 of CASES) {
    const { model, steps, batch } = c0;
    test(`${backend} trains ${model} like cpu (${steps} steps, batch ${batch}, ${c0.options?.optimizer ?? "adam"}, losses within ${LOSS_RTOL} relative)`, { timeout: 40 * 60_000 }, (t) => {
      const known = unavailable.get(backend);
      const spec: EquivalenceSpec = { ...c0, backend };
      const out = known ? { unavailable: known } : runEquivalenceWorker(spec, env);
      if (out.unavailable) {
        unavailable.set(backend, out.unavailable);
        if (ci && expected.has(backend)) assert.fail(`CI expects the ${backend} backend (CI_EXPECT_BACKENDS="${[...expected].join(" ")}", installed by .ci/run) but it is unavailable: ${out.unavailable}`);
        const how = backend === "tensorflow" ? "run npm run native"
          : env.FMNIST_WEBGPU_ADAPTER === "software" ? "install Mesa's EGL/GLES (README \"Backends and GPUs\")"
          : "a GPU with a Vulkan/Metal/D3D12 driver, or FMNIST_WEBGPU_ADAPTER=software";
        console.log(`SKIPPED ${backend}: ${out.unavailable} (to test it: ${how})`);
        t.skip(`${backend} unavailable: ${out.unavailable}`);
        return;
      }
      const cpu = cpuReference(c0, env);
      const c = compare(model, backend, cpu, out.losses!);
      console.log(`${backend} vs cpu, ${model}: ${out.backendLine}\n  cpu   ${cpu.map((x) => x.toFixed(6)).join(" ")}\n  ${backend.padEnd(5)} ${out.losses!.map((x) => x.toFixed(6)).join(" ")}\n  largest relative difference ${c.maxRelDiff.toExponential(2)}`);
      assert.equal(out.losses!.length, steps);
      assert.ok(c.ok, `${backend} ${model}: losses differ from cpu by up to ${c.maxRelDiff.toExponential(2)} relative (allowed ${LOSS_RTOL}): cpu ${cpu.join(", ")}; ${backend} ${out.losses!.join(", ")}`);
    });
  }
}

test("the comparison fails on a real difference (the test can fail)", () => {
  assert.equal(compare("m", "x", [2.3, 2.2], [2.3, 2.2]).ok, true);
  assert.equal(compare("m", "x", [2.3, 2.2], [2.3, 2.2 * (1 + 2e-4)]).ok, false);
  assert.equal(compare("m", "x", [2.3, 2.2], [2.3, NaN]).ok, false);
  assert.throws(() => compare("m", "x", [2.3], [2.3, 2.2]), /different lengths/);
});
