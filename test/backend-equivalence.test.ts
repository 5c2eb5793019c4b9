// Training equivalence of the webgpu and native TensorFlow backends with the pure-JS cpu backend
// (issue 18): model 1 of the bench (cnn_maxpool) and `best`, a few Adam steps on real images from
// the same start weights; every step's loss within 1e-4 relative of cpu's. Each backend runs in its
// own child process (scripts/backends/equivalence.ts).
//
// webgpu runs on a software adapter (Mesa's llvmpipe) unless FMNIST_WEBGPU_ADAPTER says otherwise;
// tensorflow needs `npm run native`. Where a backend is unavailable the test is skipped with the
// reason printed, except under CI=true when CI_EXPECT_BACKENDS (set by .ci/run, which installs them)
// names it: then its absence fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LOSS_RTOL, compare, runEquivalenceWorker, type EquivalenceSpec } from "../scripts/backends/equivalence";

const MODELS = ["cnn_maxpool", "best"] as const;
const STEPS = 3;
const BATCH = 32;
const BACKENDS = ["webgpu", "tensorflow"] as const;

const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_WEBGPU_ADAPTER: process.env.FMNIST_WEBGPU_ADAPTER ?? "software" };
const expected = new Set((process.env.CI_EXPECT_BACKENDS ?? "").split(/[\s,]+/).filter(Boolean));
const ci = process.env.CI === "true";

const cpuLosses = new Map<string, number[]>();
function cpuReference(model: string): number[] {
  let l = cpuLosses.get(model);
  if (!l) {
    const out = runEquivalenceWorker({ backend: "cpu", model, steps: STEPS, batch: BATCH }, env);
    assert.ok(out.losses, `cpu reference for ${model}: ${out.unavailable ?? "no losses"}`);
    l = out.losses;
    cpuLosses.set(model, l);
  }
  return l;
}

const unavailable = new Map<string, string>();

for (const backend of BACKENDS) {
  for (const model of MODELS) {
    test(`${backend} trains ${model} like cpu (${STEPS} steps, batch ${BATCH}, losses within ${LOSS_RTOL} relative)`, (t) => {
      const known = unavailable.get(backend);
      const spec: EquivalenceSpec = { backend, model, steps: STEPS, batch: BATCH };
      const out = known ? { unavailable: known } : runEquivalenceWorker(spec, env);
      if (out.unavailable) {
        unavailable.set(backend, out.unavailable);
        if (ci && expected.has(backend)) assert.fail(`CI expects the ${backend} backend (CI_EXPECT_BACKENDS="${[...expected].join(" ")}", installed by .ci/run) but it is unavailable: ${out.unavailable}`);
        const how = backend === "webgpu" ? "install Mesa's EGL/GLES (README \"Backends and GPUs\")" : "run npm run native";
        console.log(`SKIPPED ${backend}: ${out.unavailable} (to test it: ${how})`);
        t.skip(`${backend} unavailable: ${out.unavailable}`);
        return;
      }
      const cpu = cpuReference(model);
      const c = compare(model, backend, cpu, out.losses!);
      console.log(`${backend} vs cpu, ${model}: ${out.backendLine}\n  cpu   ${cpu.map((x) => x.toFixed(6)).join(" ")}\n  ${backend.padEnd(5)} ${out.losses!.map((x) => x.toFixed(6)).join(" ")}\n  largest relative difference ${c.maxRelDiff.toExponential(2)}`);
      assert.equal(out.losses!.length, STEPS);
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
