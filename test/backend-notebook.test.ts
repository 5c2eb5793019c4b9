// Notebook 03 end to end under the quick profile on the webgpu and native TensorFlow backends
// (issue 18), checked against the quick baseline (recorded on wasm) with its usual tolerances. 02
// writes the split first, on wasm (it is not what is tested here). webgpu runs on a software adapter
// unless FMNIST_WEBGPU_ADAPTER says otherwise. An unavailable backend is skipped with the reason
// printed, except under CI=true when CI_EXPECT_BACKENDS (set by .ci/run) names it: then it fails.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runEquivalenceWorker } from "../scripts/backends/equivalence";
import { runnerHarness, type RunnerHarness } from "./helpers/runner-cli";

const BACKENDS = ["webgpu", "tensorflow"] as const;
const adapter = process.env.FMNIST_WEBGPU_ADAPTER ?? "software";
const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_WEBGPU_ADAPTER: adapter };
const expected = new Set((process.env.CI_EXPECT_BACKENDS ?? "").split(/[\s,]+/).filter(Boolean));
const ci = process.env.CI === "true";

const available = new Map<string, { line?: string; unavailable?: string }>();
let h: RunnerHarness;
let artifacts: string;
let split: { code: number | null; stdout: string; stderr: string } | undefined;

before(async () => {
  for (const b of BACKENDS) {
    const out = runEquivalenceWorker({ backend: b, model: "dense_shallow", steps: 0, batch: 1 }, env, 5 * 60_000);
    available.set(b, { line: out.backendLine, unavailable: out.unavailable });
  }
  h = runnerHarness("fmnist-backend-nb-");
  artifacts = path.join(h.tmp, "artifacts");
  if (BACKENDS.some((b) => !available.get(b)!.unavailable)) {
    split = await h.run(["--profile", "quick", "--set", `ARTIFACTS_DIR=${artifacts}`, "--set", "BACKEND=wasm", "--output", path.join(h.tmp, "out-wasm"), "02-preprocessing"]);
  }
});

after(() => h?.cleanup());

for (const backend of BACKENDS) {
  test(`notebook 03 (quick) runs end to end on ${backend} and passes the baseline check`, { timeout: 30 * 60_000 }, async (t) => {
    const a = available.get(backend)!;
    if (a.unavailable) {
      if (ci && expected.has(backend)) assert.fail(`CI expects the ${backend} backend (CI_EXPECT_BACKENDS, installed by .ci/run) but it is unavailable: ${a.unavailable}`);
      console.log(`SKIPPED ${backend}: ${a.unavailable}`);
      t.skip(`${backend} unavailable: ${a.unavailable}`);
      return;
    }
    assert.equal(split?.code, 0, `02-preprocessing (wasm) failed:\n${split?.stdout.slice(-3000)}\n${split?.stderr.slice(-2000)}`);
    const out = path.join(h.tmp, `out-${backend}`);
    const sets = ["--set", `ARTIFACTS_DIR=${artifacts}`, "--set", `BACKEND=${backend}`, ...(backend === "webgpu" ? ["--set", `WEBGPU_ADAPTER=${adapter}`] : [])];
    const r = await h.run(["--profile", "quick", "--check", ...sets, "--output", out, "03-dense-shallow"]);
    const summary = r.stdout.split("\n").filter((l) => /^03-dense-shallow\s+ok|notebooks:|test_acc/.test(l)).join("\n");
    console.log(`${backend}: ${a.line}\n${summary}`);
    assert.equal(r.code, 0, `notebook 03 on ${backend} failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
    const results = JSON.parse(fs.readFileSync(path.join(artifacts, "results", "03-dense-shallow.json"), "utf8")) as { backend: { name: string; reason: string } };
    assert.equal(results.backend.name, backend, "the results file names the backend that produced it");
    const executed = fs.readFileSync(path.join(out, "03-dense-shallow.ipynb"), "utf8");
    assert.match(executed, new RegExp(`TensorFlow.js backend: ${backend} `));
    if (backend === "webgpu") assert.match(results.backend.reason, /adapter .*\((software|hardware), /, "the backend line names the adapter");
  });
}
