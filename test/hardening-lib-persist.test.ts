// Issue 16, smaller items on saved models: damaged files give errors naming the file (trailing
// bytes in weights.bin no longer load silently), and the temporary folders of interrupted saves
// are cleaned at the next save into the same models folder, except a live process's.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { buildModel } from "../lib/src/models";
import { loadModel, saveModel } from "../lib/src/persist";

before(async () => {
  await initBackend("cpu");
});

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

async function savedCopy(t: { after(fn: () => void): void }): Promise<{ artifacts: string; dir: string }> {
  const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-persist-"));
  t.after(() => fs.rmSync(artifacts, { recursive: true, force: true }));
  const model = buildModel("dense_shallow", { seed: 5 });
  const dir = await saveModel(model, "m", artifacts);
  model.dispose();
  return { artifacts, dir };
}

test("damaged model files give errors naming the file; trailing bytes in weights.bin are not ignored", async (t) => {
  const { artifacts, dir } = await savedCopy(t);
  const weights = path.join(dir, "weights.bin");
  const modelJson = path.join(dir, "model.json");
  const metaJson = path.join(dir, "meta.json");
  const good = fs.readFileSync(weights);
  const goodJson = fs.readFileSync(modelJson);

  // Sanity: the untouched model loads.
  (await loadModel("m", artifacts)).model.dispose();

  fs.writeFileSync(weights, Buffer.concat([good, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]));
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(weights)}: ${good.length + 8} bytes, but the weights manifest in model.json describes ${good.length} \\(8 extra bytes\\)\\. The saved model "m" is damaged`));

  fs.writeFileSync(weights, good.subarray(0, good.length - 100));
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(weights)}: ${good.length - 100} bytes, .*\\(truncated\\)`));

  fs.rmSync(weights);
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(weights)}: cannot be read \\(ENOENT\\)`));
  fs.writeFileSync(weights, good);

  fs.writeFileSync(modelJson, goodJson.subarray(0, 50));
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(modelJson)}: cannot be read as JSON`));
  // Valid JSON whose layer config tfjs cannot build.
  const broken = JSON.parse(goodJson.toString("utf8")) as { modelTopology: { config: { layers: Array<{ class_name: string }> } } };
  broken.modelTopology.config.layers[1].class_name = "NoSuchLayerClass";
  fs.writeFileSync(modelJson, JSON.stringify(broken));
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(modelJson)}: tfjs cannot build the model`));
  fs.writeFileSync(modelJson, goodJson);

  fs.writeFileSync(metaJson, "{ not json");
  await assert.rejects(loadModel("m", artifacts), new RegExp(`^Error: ${esc(metaJson)}: cannot be read as JSON`));
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

test("the next save removes stale temporary folders of interrupted saves, not a live process's", async (t) => {
  const { artifacts, dir } = await savedCopy(t);
  const models = path.dirname(dir);
  const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  t.after(() => live.kill());
  const dead = deadPid();
  const longAgo = Math.round(Date.now() - process.uptime() * 1000 - 3_600_000); // before this process started
  const stale = [`.m.tmp.${dead}.${longAgo}`, `.other.tmp.${dead}.${longAgo}`, `.m.tmp.${process.pid}.${longAgo}`, `.m.old.${dead}.${longAgo}`];
  const kept = [
    `.m.tmp.${live.pid}.${longAgo}`, // a save still running in another process
    `.z.old.${dead}.${longAgo}`, // the only copy of model z (loadModel recovers it)
  ];
  for (const f of [...stale, ...kept]) {
    fs.mkdirSync(path.join(models, f));
    fs.writeFileSync(path.join(models, f, "weights.bin"), "partial");
  }
  const model = buildModel("dense_shallow", { seed: 6 });
  await saveModel(model, "m", artifacts);
  model.dispose();
  const left = fs.readdirSync(models).sort();
  for (const f of stale) assert.ok(!left.includes(f), `${f} should be removed; left: ${left.join(", ")}`);
  for (const f of kept) assert.ok(left.includes(f), `${f} should be kept; left: ${left.join(", ")}`);
  assert.ok(left.includes("m"));
  tf.disposeVariables();
});
