// Kernel interrupt in a real tslab kernel: a training cell stops cleanly (one line, no stack, no test
// evaluation, nothing saved), its status is "error" (so queued cells are not run, as ipykernel does on
// KeyboardInterrupt), its variables stay defined, the kernel stays alive, and writing results refuses plainly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { KernelClient, type ExecuteOutcome } from "../scripts/runner/kernel-client";

const REPO = path.resolve(__dirname, "..");
let work = "";
let kernel: KernelClient | undefined;

before(async () => {
  // Inside the repository, so the kernel resolves the `fmnist` workspace package from node_modules.
  fs.mkdirSync(path.join(REPO, ".cache"), { recursive: true });
  work = fs.mkdtempSync(path.join(REPO, ".cache", "interrupt-test-"));
  kernel = await KernelClient.start({
    cwd: work,
    env: { ...process.env, FMNIST_PROFILE: "quick", FMNIST_ARTIFACTS_DIR: path.join(work, "artifacts"), FMNIST_BACKEND: "cpu" },
    startTimeoutMs: 60_000,
  });
});

after(async () => {
  await kernel?.shutdown();
  fs.rmSync(work, { recursive: true, force: true });
});

function text(o: ExecuteOutcome, stream?: "stdout" | "stderr"): string {
  return o.iopub
    .filter((m) => m.header.msg_type === "stream" && (!stream || (m.content as { name: string }).name === stream))
    .map((m) => (m.content as { text: string }).text)
    .join("");
}

test("interrupting a training cell stops it cleanly, ends it as failed and keeps its variables", async () => {
  const k = kernel!;
  const setup = await k.execute(
    `import * as fm from "fmnist";
import * as tf from "@tensorflow/tfjs";
const cfg = fm.resolveConfig();
const backend = await fm.initBackend("cpu");
const xs = tf.randomNormal([256, 28, 28, 1], 0, 1, "float32", 1);
const ys = tf.tensor1d(Array.from({ length: 256 }, (_, i) => i % 10), "float32");
const artifacts = process.env.FMNIST_ARTIFACTS_DIR!;`,
    { timeoutMs: 60_000 },
  );
  assert.equal(setup.status, "ok", text(setup));

  // The interrupt arrives as Jupyter sends it: SIGINT to the kernel process, here while epochs run.
  const training = k.execute(
    `setTimeout(() => process.kill(process.pid, "SIGINT"), 1500);
const run = await fm.trainAndEvaluate("dense_shallow", { train: { xs: xs, ys: ys }, test: { xs: xs, ys: ys } }, {
  epochs: 100000, batchSize: 32, seed: 1, modelOptions: { seed: 1 }, progress: "lines",
  save: { artifactsDir: artifacts },
});
console.log(\`after training: interrupted=\${run.interrupted} test=\${run.test === undefined ? "none" : "evaluated"}\`);`,
    { timeoutMs: 60_000 },
  );
  const t = await training;

  const out = text(t);
  assert.equal(t.status, "error", `an interrupted cell ends as failed so the queue stops; output:\n${out}`);
  assert.match(out, /dense_shallow: interrupted after \d+ of 100000 epoch\(s\): not evaluated on the test images, not saved/);
  assert.match(out, /after training: interrupted=true test=none/, "the rest of the cell ran with the partial result");
  assert.doesNotMatch(out, /\n\s+at /, "no stack trace");
  assert.doesNotMatch(out, /Interrupted asynchronously/);
  assert.equal(fs.existsSync(path.join(work, "artifacts", "models", "dense_shallow")), false, "nothing saved");

  // (Status "error" is what makes tslab cancel the requests queued behind the cell, as a front end's Run All
  // queues them; the front-end test checks that part. tslab also cancels requests that arrive within 200 ms.)
  await new Promise((resolve) => setTimeout(resolve, 400));

  // The kernel is alive and the variables the interrupted cell assigned are defined.
  const next = await k.execute(`console.log(\`run: \${run.interrupted} \${run.history.epochsRun} \${run.history.loss.length}\`);`, { timeoutMs: 30_000 });
  assert.equal(next.status, "ok", text(next));
  assert.match(text(next), /run: true (\d+) \1/);

  // Writing results of an interrupted run refuses with one plain line.
  const write = await k.execute(
    `fm.writeResults({ schema: 1, notebook: "zz-interrupt", profile: "quick", createdAt: "", durationSec: 1, backend: backend, config: cfg, metrics: run.metrics, models: [run.entry] }, artifacts);`,
    { timeoutMs: 30_000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(write.status, "error");
  assert.match(text(write), /Results not written: the training of dense_shallow was interrupted/);
  assert.doesNotMatch(text(write), /\n\s+at /, "no stack trace");
  assert.equal(fs.existsSync(path.join(work, "artifacts", "results", "zz-interrupt.json")), false);

  // Re-running the training cell trains a fresh model from scratch (and runs to the end this time).
  const again = await k.execute(
    `const run2 = await fm.trainAndEvaluate("dense_shallow", { train: { xs: xs, ys: ys }, test: { xs: xs, ys: ys } }, { epochs: 2, batchSize: 64, seed: 1, modelOptions: { seed: 1 }, progress: "none" });
console.log(fm.describeRun(run2), run2.model === run.model, run.model.layers.length > 0);`,
    { timeoutMs: 60_000 },
  );
  assert.equal(again.status, "ok", text(again));
  assert.match(text(again), /dense_shallow: test accuracy \d\.\d{4}, test loss \d+\.\d{4}, \d+ s of training false true/);
});
