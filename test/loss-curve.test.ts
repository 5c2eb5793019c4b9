// The faster wasm path trains the same model: per-batch losses of one epoch on real images
// match the cpu backend's (scripts/loss-curve.ts, `npm run bench:loss`, at a small size here).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { maxDifference } from "../scripts/loss-curve";

test("maxDifference: largest gap and its 1-based batch; curves of different lengths are an error", () => {
  assert.deepEqual(maxDifference([1, 2, 3], [1, 2.5, 2.9]), { diff: 0.5, batch: 2 });
  assert.deepEqual(maxDifference([], []), { diff: 0, batch: 0 });
  assert.throws(() => maxDifference([1], [1, 2]), /differ in length: 1 vs 2/);
});

test("one epoch of cnn_maxpool on 96 real images: wasm (1 and 2 threads) follows cpu's loss curve", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "scripts", "loss-curve.ts"), "--images", "96"], {
    encoding: "utf8", timeout: 5 * 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const config of ["wasm", "wasm-2t"]) {
    const m = new RegExp(`^  ${config} +([0-9.e+-]+) `, "m").exec(r.stdout);
    assert.ok(m, `no ${config} line in:\n${r.stdout}`);
    assert.ok(Number(m[1]) <= 1e-4, `${config}: largest difference ${m[1]}`);
  }
});
