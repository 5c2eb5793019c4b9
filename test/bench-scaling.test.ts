// The scaling bench's table (scripts/bench/scaling.ts): per kernel, ms per step with the calling
// thread on a core (wall less run-queue wait) at 1 and 2 threads, medians, hottest first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelTable, stepOnCore, type ScalingRun } from "../scripts/bench/scaling";

const run = (threads: number, msPerStep: number, waitMs: number, kernels: ScalingRun["kernels"]): ScalingRun => ({
  spec: { model: "3", batch: 128, threads, warmup: 2, steps: 5, profileSteps: 2 }, samplesPerSec: 0, msPerStep, stepMs: msPerStep, waitMs, runMs: msPerStep - waitMs, othersRunMs: 0, kernels,
});

test("kernel table: on-core medians at 1 and 2 threads, their ratio, hottest first, the step's line", () => {
  const one = [run(1, 120, 20, { Conv2D: { ms: 80, waitMs: 0, calls: 4 }, Cast: { ms: 5, waitMs: 1, calls: 15 } }), run(1, 140, 40, { Conv2D: { ms: 90, waitMs: 10, calls: 4 }, Cast: { ms: 4, waitMs: 0, calls: 15 } })];
  const two = [run(2, 60, 10, { Conv2D: { ms: 40, waitMs: 0, calls: 4 }, Cast: { ms: 4, waitMs: 0, calls: 15 } })];
  assert.equal(stepOnCore(one[0]), 100);
  const t = kernelTable(one, two);
  assert.equal(t[2], "| Conv2D | 4 | 80.0 | 40.0 | 2.00× |");
  assert.equal(t[3], "| Cast | 15 | 4.0 | 4.0 | 1.00× |");
  assert.ok(t.some((l) => l === "| step (timed steps, on a core) | | 100.0 | 50.0 | 2.00× |"), t.join("\n"));
});
