// Setting up a search (budget, FMNIST_TRIALS, shares among machines) and its trial store: pure parts, and a tiny
// real search that is read back from the store instead of retrained.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { loadFashionMnist, balancedSubset, toTensors } from "../lib/src/data/index";
import { SEARCH_BUDGETS, parseTrials, planSearchShards, searchBudget, searchParameters, trialTrainingMacs } from "../lib/src/search";
import { TrialStore, deterministicPart, libraryFingerprint, listStoredSearches, readTrialFile, searchId, sourceHash, trialFile, type SearchKey } from "../lib/src/search-store";
import { DEFAULT_SEARCH_SPACE, runSearch, sampleTrials, spaceSize, type TrialResult } from "../lib/src/tuning";

const key = (over: Partial<SearchKey> = {}): SearchKey => ({
  profile: "quick", model: "cnn_maxpool", seed: 1, splitId: "s", searchImages: 500, searchIndicesSha256: "x", epochs: 1, patience: 1,
  spaceSha256: "y", backend: "wasm", backendSettings: { kernels: "fast" }, code: "c", ...over,
});

test("FMNIST_TRIALS: the profile's trial count unless set, a whole number within the space, and never passed on", () => {
  assert.deepEqual(searchParameters({ FMNIST_PROFILE: "full" }), { env: { FMNIST_PROFILE: "full" } });
  const p = searchParameters({ FMNIST_TRIALS: " 32 ", FMNIST_PROFILE: "full" });
  assert.equal(p.trials, 32);
  assert.deepEqual(p.env, { FMNIST_PROFILE: "full" });
  for (const bad of ["0", "-3", "2.5", "many", String(spaceSize(DEFAULT_SEARCH_SPACE) + 1)]) {
    assert.throws(() => searchParameters({ FMNIST_TRIALS: bad }), /FMNIST_TRIALS = .*whole number of trials from 1 to 243/, bad);
  }
  assert.throws(() => parseTrials("x", "--trials"), /^Error: --trials = "x"/);
  assert.deepEqual(searchBudget("full"), SEARCH_BUDGETS.full);
  assert.deepEqual(searchBudget("full", 32), { ...SEARCH_BUDGETS.full, trials: 32 });
  assert.equal(searchBudget("quick").images, null);
});

test("a wider search starts with the narrower one's trials, so its stored results carry over", () => {
  const narrow = sampleTrials(DEFAULT_SEARCH_SPACE, 8, 42);
  assert.deepEqual(sampleTrials(DEFAULT_SEARCH_SPACE, 32, 42).slice(0, 8), narrow);
});

test("planSearchShards gives every trial to exactly one machine, balanced by multiply-adds, the same plan every time", async () => {
  await initBackend("wasm"); // multiply-adds are counted from a built model's layers
  const trials = sampleTrials(DEFAULT_SEARCH_SPACE, 32, 42);
  const cost = (t: (typeof trials)[number]) => trialTrainingMacs(t, "best", 10000, 3);
  const plan = planSearchShards(trials, 4, cost);
  assert.deepEqual(plan, planSearchShards([...trials].reverse(), 4, cost), "the order trials are listed in does not matter");
  const ids = plan.flatMap((s) => s.trialIds).sort((a, b) => a - b);
  assert.deepEqual(ids, trials.map((t) => t.id));
  const biggest = Math.max(...trials.map(cost));
  const loads = plan.map((s) => s.macs);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= biggest, `loads ${loads.join(", ")} differ by more than one trial's ${biggest}`);
  for (const s of plan) assert.equal(s.macs, s.trialIds.reduce((sum, id) => sum + cost(trials[id - 1]), 0));
  // A 64-filter trial costs more than a 16-filter one at the same batch size.
  const t16 = { filters: 16, dropout: 0.25, batchSize: 64 };
  assert.ok(trialTrainingMacs({ ...t16, filters: 64 }, "best", 1000, 1) > 4 * trialTrainingMacs(t16, "best", 1000, 1));
  const more = planSearchShards(trials.slice(0, 2), 3, cost);
  assert.deepEqual(more.map((s) => s.trialIds.length).sort(), [0, 1, 1]);
  assert.throws(() => planSearchShards(trials, 0, cost), /count must be a positive integer/);
});

test("the trial store: one file per trial under the search's id, checked when read", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-store-"));
  try {
    assert.notEqual(searchId(key()), searchId(key({ backend: "cpu" })));
    assert.equal(searchId(key()), searchId(JSON.parse(JSON.stringify(key())) as SearchKey));
    assert.match(libraryFingerprint(), /^[0-9a-f]{16}$/);
    const store = new TrialStore(dir, key());
    const [t1, t2] = sampleTrials(DEFAULT_SEARCH_SPACE, 2, 7);
    assert.equal(store.read(t1), undefined);
    const r1: TrialResult = { ...t1, valAcc: 0.5, valLoss: 1.25, trainLoss: 1.5, epochsRun: 1, bestEpoch: 1, trainSec: 3, samplesPerSec: 100 };
    const file = store.write(r1);
    assert.equal(file, trialFile(store.dir, 1));
    assert.deepEqual(store.read(t1)?.result, r1);
    assert.deepEqual([...listStoredSearches(dir).entries()], [[store.id, [file]]]);
    assert.equal(deterministicPart({ ...r1, trainSec: 99, samplesPerSec: 1 }), deterministicPart(r1), "measured times are not part of the result");
    assert.notEqual(deterministicPart({ ...r1, valAcc: 0.51 }), deterministicPart(r1));
    // Another trial's configuration under trial 1's name: refused, naming the file and what to do.
    assert.throws(() => store.read({ ...t2, id: 1 }), (e: Error) => e.message.includes(file) && /delete the file to train the trial again/.test(e.message));
    assert.throws(() => readTrialFile(file, { searchId: "0000000000000000" }), /belongs to search/);
    fs.writeFileSync(file, "{ half");
    assert.throws(() => store.read(t1), /is unreadable .*delete the file/);
    fs.writeFileSync(file, JSON.stringify({ schema: 1, searchId: store.id, result: { id: 1 } }));
    assert.throws(() => store.read(t1), /not a trial result of this project/);
    assert.deepEqual(fs.readdirSync(store.dir).filter((f) => f.endsWith(".tmp")), [], "no temp file left behind");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runSearch with a store trains each trial once: a second run reads them back, bit for bit, and `only` picks a share", async () => {
  await initBackend("wasm");
  const set = loadFashionMnist("train");
  const idx = balancedSubset(set.labels, Array.from({ length: set.count }, (_, i) => i), 400, 5);
  const train = toTensors(set, idx.slice(0, 300));
  const val = toTensors(set, idx.slice(300));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-store-"));
  try {
    const trials = sampleTrials({ ...DEFAULT_SEARCH_SPACE, filters: [8], optimizer: ["adam"] }, 3, 11);
    const store = new TrialStore(dir, key());
    const from: boolean[] = [];
    const opts = { model: "cnn_maxpool", epochs: 1, patience: 1, seed: 1, store, onTrial: (_r: TrialResult, _i: number, _n: number, f: { stored: boolean }) => from.push(f.stored) };
    const share = await runSearch(trials, { train, val }, { ...opts, only: [2] });
    assert.deepEqual(share.map((r) => r.id), [2]);
    const first = await runSearch(trials, { train, val }, opts);
    assert.deepEqual(from, [false, false, true, false], "trial 2 came from the store the second time");
    const again = await runSearch(trials, { train, val }, opts);
    assert.deepEqual(from.slice(4), [true, true, true]);
    assert.deepEqual(again, first);
    // Trained without the store, the same trial gives the same numbers as the stored one.
    const fresh = await runSearch(trials, { train, val }, { model: "cnn_maxpool", epochs: 1, patience: 1, seed: 1, only: [3] });
    assert.equal(deterministicPart(fresh[0]), deterministicPart(first[2]));
    await assert.rejects(runSearch(trials, { train, val }, { ...opts, only: [9] }), /no trial with id 9/);
  } finally {
    tf.dispose([train.xs, train.ys, val.xs, val.ys]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a notebook running lib/dist refuses a build not made from the current lib/src (stored trials are keyed by the source)", async () => {
  const { runNode } = await import("./helpers/run-node");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-stamp-"));
  try {
    const lib = path.join(tmp, "lib");
    fs.cpSync(path.join(__dirname, "..", "lib", "src"), path.join(lib, "src"), { recursive: true });
    fs.mkdirSync(path.join(lib, "dist"));
    for (const f of ["search-store.js", "errors.js", "io.js"]) fs.copyFileSync(path.join(__dirname, "..", "lib", "dist", f), path.join(lib, "dist", f));
    const probe = `try { console.log("key " + require(${JSON.stringify(path.join(lib, "dist", "search-store.js"))}).libraryFingerprint()); } catch (e) { console.log(String(e.message)); }`;
    const run = async () => (await runNode(["-e", probe])).out.trim();
    assert.match(await run(), /was not made from its current source .*run `npm run build`, then restart the kernel/, "no stamp");
    fs.writeFileSync(path.join(lib, "dist", "source.sha256"), sourceHash(path.join(lib, "src")) + "\n");
    assert.equal(await run(), `key ${sourceHash(path.join(lib, "src"))}`);
    assert.equal(sourceHash(path.join(lib, "src")), libraryFingerprint(), "the same key as the source run under tsx");
    fs.appendFileSync(path.join(lib, "src", "config.ts"), "\n// edited\n");
    assert.match(await run(), /was not made from its current source/, "source edited after the build");
    fs.writeFileSync(path.join(lib, "src", "extra.d.ts"), "export {};\n");
    const before = sourceHash(path.join(lib, "src"));
    fs.writeFileSync(path.join(lib, "src", "extra.d.ts"), "export type X = 1;\n");
    assert.equal(sourceHash(path.join(lib, "src")), before, "declaration files are not source");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
