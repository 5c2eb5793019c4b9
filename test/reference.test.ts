// npm run reference (scripts/reference.ts, scripts/reference/keras_reference.py): the command line, the job the
// notebooks' settings turn into, the table built from results files, the errors when Python or TensorFlow is
// missing, and the Python script's data and results handling (with numpy only, no TensorFlow). Training in Keras
// for real is `npm run reference -- --profile quick --models dense_shallow,cnn_maxpool` (README "Checked against Keras").
import { spawnSync } from "node:child_process";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../lib/src/config";
import { balancedSubset, splitId, stratifiedSplit } from "../lib/src/data/split";
import { studyTestIndices } from "../lib/src/study-data";
import {
  comparisonRows,
  comparisonTable,
  deltaCell,
  ensureKerasPython,
  jobRun,
  KERAS_SCRIPT,
  kerasArtifactsDir,
  parseReferenceArgs,
  probeKerasPython,
  REFERENCE_RUNS,
  removeStaleJobDirs,
  readmeMarkers,
  replaceReadmeBlock,
  UsageError,
  writeUpFigure,
} from "../scripts/reference";

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-reference-test-"));

test("arguments: defaults, --profile, --models in registry order, errors", () => {
  const d = parseReferenceArgs([], {});
  assert.equal(d.profile, "quick");
  assert.deepEqual(d.runs, REFERENCE_RUNS.map((r) => r.name));
  assert.equal(d.install, true);
  assert.equal(d.ours, "auto");
  assert.equal(parseReferenceArgs([], { FMNIST_PROFILE: "full" }).profile, "full");
  const a = parseReferenceArgs(["--profile", "full", "--models", "cnn_maxpool,dense_shallow", "--no-install", "--ours=baseline", "--python", "/x/python"], {});
  assert.equal(a.profile, "full");
  assert.deepEqual(a.runs, ["dense_shallow", "cnn_maxpool"]);
  assert.equal(a.install, false);
  assert.equal(a.ours, "baseline");
  assert.equal(a.python, "/x/python");
  assert.equal(parseReferenceArgs([], { FMNIST_KERAS_PYTHON: "/y/python" }).python, "/y/python");
  assert.throws(() => parseReferenceArgs(["--profile", "huge"], {}), (e: Error) => e instanceof UsageError && /quick or full/.test(e.message));
  assert.throws(() => parseReferenceArgs(["--models", "cnn32,best"], {}), (e: Error) => e instanceof UsageError && /unknown model best/.test(e.message));
  assert.throws(() => parseReferenceArgs(["--models"], {}), UsageError);
  assert.throws(() => parseReferenceArgs(["--ours", "mine"], {}), UsageError);
  assert.throws(() => parseReferenceArgs(["--fast"], {}), /unknown argument --fast/);
});

test("job runs: the notebooks' settings (profile epochs, batch, seed, rate; registry recipe; notebook overrides)", () => {
  const quick = resolveConfig({}, { profile: "quick" });
  const full = resolveConfig({}, { profile: "full" });
  const byName = (n: string) => REFERENCE_RUNS.find((r) => r.name === n)!;
  const params = () => 7;
  const shallow = jobRun(byName("dense_shallow"), quick, params);
  assert.deepEqual([shallow.epochs, shallow.batchSize, shallow.seed, shallow.options.optimizer, shallow.options.learningRate, shallow.inputScale], [2, 32, 42, "adam", 0.001, 1]);
  assert.equal(shallow.expectedParams, 7);
  const lesson = jobRun(byName("dense_shallow_unnormalised"), full, params);
  assert.deepEqual([lesson.epochs, lesson.options.learningRate, lesson.inputScale, lesson.notebook], [1, 0.01, 255, "03-dense-shallow"]);
  assert.equal(jobRun(byName("cnn_maxpool_rmsprop"), full, params).options.optimizer, "rmsprop");
  assert.equal(jobRun(byName("cnn64"), full, params).options.filters, 64);
  const reg = jobRun(byName("dense_regularized"), full, params);
  assert.equal(reg.epochs, 50);
  assert.deepEqual(reg.earlyStopping, { patience: 5, monitor: "val_loss", restoreBest: true });
  assert.deepEqual([reg.options.dropout, reg.options.l2], [0.3, 1e-4]);
  assert.equal(jobRun(byName("dense_regularized"), quick, params).epochs, 2);
  assert.deepEqual(jobRun(byName("cnn_augmented"), full, params).augment, { shift: 2, flip: true, rotate: 0 });
  assert.equal(jobRun(byName("cnn32"), full, params).augment, null);
  assert.equal(kerasArtifactsDir("/a", "full"), path.join("/a", "reference", "keras-full"));
});

test("test indices: the class-balanced subset the notebooks evaluate on, all images under the full profile", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
  const all = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(studyTestIndices({ testSize: 200, seed: 42 }, labels), balancedSubset(labels, all, 200, 42));
  assert.deepEqual(studyTestIndices({ testSize: 1000, seed: 42 }, labels), all);
  assert.notDeepEqual(studyTestIndices({ testSize: 200, seed: 1 }, labels), studyTestIndices({ testSize: 200, seed: 42 }, labels));
});

function writeResultsFile(dir: string, notebook: string, profile: string, backend: string, metrics: Record<string, number>): void {
  fs.mkdirSync(path.join(dir, "results"), { recursive: true });
  const r = { schema: 1, notebook, profile, createdAt: "2026-12-02T00:00:00.000Z", backend: { name: backend, threads: 2, versions: backend === "keras" ? { tensorflow: "2.21.0", keras: "3.15.1", python: "3.11.7", numpy: "2.4.6" } : {} }, config: { profile, seed: 42 }, metrics };
  fs.writeFileSync(path.join(dir, "results", `${notebook}.json`), JSON.stringify(r));
}

test("table: ours from this profile's results else the baseline, Keras's beside, Δ flagged beyond ±1 point", () => {
  const dir = tmp();
  const ours = path.join(dir, "artifacts");
  const keras = kerasArtifactsDir(ours, "quick");
  const baseline = path.join(dir, "quick.json");
  // 05: a quick run in ARTIFACTS/results; 03: a full-profile run there (ignored), so the baseline's figures.
  writeResultsFile(ours, "05-cnn-maxpool", "quick", "wasm", { "cnn_maxpool.val_acc": 0.843, "cnn_maxpool.test_acc": 0.842, "cnn_maxpool.test_loss": 0.4368, "cnn_maxpool.train_sec": 4.4 });
  writeResultsFile(ours, "03-dense-shallow", "full", "wasm", { "dense_shallow.test_acc": 0.5 });
  fs.writeFileSync(baseline, JSON.stringify({ notebooks: { "03-dense-shallow": { metrics: { "dense_shallow.test_acc": { value: 0.7965 }, "dense_shallow.val_acc": { value: 0.784 } } } } }));
  writeResultsFile(keras, "03-dense-shallow", "quick", "keras", { "dense_shallow.val_acc": 0.79, "dense_shallow.test_acc": 0.801, "dense_shallow.train_sec": 3 });
  writeResultsFile(keras, "05-cnn-maxpool", "quick", "keras", { "cnn_maxpool.val_acc": 0.86, "cnn_maxpool.test_acc": 0.8555, "cnn_maxpool.test_loss": 0.41, "cnn_maxpool.train_sec": 150 });
  const runs = REFERENCE_RUNS.filter((r) => ["dense_shallow", "cnn_maxpool", "cnn64"].includes(r.name));
  const { rows, oursFrom, keras: kerasFiles } = comparisonRows({ runs, profile: "quick", oursDir: ours, baselineFile: baseline, kerasDir: keras, source: "auto" });
  assert.deepEqual(rows.map((r) => r.run), ["dense_shallow", "cnn64", "cnn_maxpool"]);
  assert.equal(rows[0].ours?.test_acc, 0.7965, "dense_shallow from the baseline (the results file is another profile's)");
  assert.equal(rows[2].ours?.test_acc, 0.842, "cnn_maxpool from ARTIFACTS/results");
  assert.equal(rows[1].ours, undefined);
  assert.equal(rows[1].keras, undefined);
  assert.equal(oursFrom.size, 2);
  assert.equal(kerasFiles.length, 2);
  const table = comparisonTable(rows);
  const line = (model: string) => table.split("\n").find((l) => l.startsWith(`| ${model} |`))!;
  assert.equal(line("dense_shallow"), "| dense_shallow | 001 test 88.66 | 78.40 / 79.00 | 79.65 / 80.10 | −0.45 | – / – | – / 3 s |");
  assert.equal(line("cnn_maxpool"), "| cnn_maxpool | 000 val 91.52; 000 test 91.00 | 84.30 / 86.00 | 84.20 / 85.55 | **−1.35** | 0.437 / 0.410 | 4 s / 2.5 min |");
  assert.match(line("cnn64"), /^\| cnn64 \| 000 val 91\.19 \| – \/ – \| – \/ – \| – \|/);
  // --ours baseline ignores ARTIFACTS/results; --ours results ignores the baseline.
  const b = comparisonRows({ runs, profile: "quick", oursDir: ours, baselineFile: baseline, kerasDir: keras, source: "baseline" });
  assert.equal(b.rows[2].ours, undefined);
  const r = comparisonRows({ runs, profile: "quick", oursDir: ours, baselineFile: baseline, kerasDir: keras, source: "results" });
  assert.equal(r.rows[0].ours, undefined);
  assert.equal(deltaCell(0.9, 0.9), "+0.00");
  assert.equal(deltaCell(0.9111, 0.9), "**+1.11**");
  assert.equal(writeUpFigure("cnn_deeper"), "–");
});

test("README block: the profile's table replaced between its markers, refused without them", () => {
  const q = readmeMarkers("quick");
  const f = readmeMarkers("full");
  const readme = `# x\n${q.begin}\nold\n${q.end}\n${f.begin}\nfull\n${f.end}\nrest\n`;
  assert.equal(replaceReadmeBlock(readme, "quick", "new"), `# x\n${q.begin}\nnew\n${q.end}\n${f.begin}\nfull\n${f.end}\nrest\n`);
  assert.throws(() => replaceReadmeBlock("# x\n", "quick", "new"), /no .* block/);
  assert.match(q.begin, /--profile quick --table-only/);
});

test("missing Python or TensorFlow: an error saying how to install, nothing created with --no-install", () => {
  const dir = tmp();
  const venv = path.join(dir, "venv");
  assert.throws(() => ensureKerasPython({ python: path.join(dir, "no-such-python"), install: true, venv }), (e: Error) => /not found/.test(e.message) && /pip install tensorflow-cpu==2\.21\.0 keras==3\.15\.1/.test(e.message));
  assert.throws(() => ensureKerasPython({ install: false, venv }), (e: Error) => /no Keras venv at/.test(e.message) && /python3 -m venv/.test(e.message));
  assert.equal(fs.existsSync(venv), false);
  assert.throws(() => ensureKerasPython({ install: true, venv, basePython: path.join(dir, "no-python3") }), /not found: install Python 3\.10–3\.13 with venv/);
  // A python without tensorflow: a stand-in that fails the import the way python does.
  const fake = path.join(dir, "python");
  fs.writeFileSync(fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'tensorflow'\" >&2\nexit 1\n", { mode: 0o755 });
  const probe = probeKerasPython(fake, venv);
  assert.ok("missing" in probe);
  assert.match(probe.missing, /cannot import tensorflow and keras \(ModuleNotFoundError: No module named 'tensorflow'\)/);
  // One that has them reports its versions; Keras 2 is refused.
  const ok = path.join(dir, "python-ok");
  fs.writeFileSync(ok, "#!/bin/sh\nprintf '{\"tensorflow\": \"2.21.0\", \"keras\": \"3.15.1\", \"python\": \"3.11.7\"}'\n", { mode: 0o755 });
  assert.deepEqual(probeKerasPython(ok, venv), { python: ok, versions: { tensorflow: "2.21.0", keras: "3.15.1", python: "3.11.7" } });
  const old = path.join(dir, "python-old");
  fs.writeFileSync(old, "#!/bin/sh\nprintf '{\"tensorflow\": \"2.15.0\", \"keras\": \"2.15.0\", \"python\": \"3.11.7\"}'\n", { mode: 0o755 });
  assert.match((probeKerasPython(old, venv) as { missing: string }).missing, /Keras 2\.15\.0, not Keras 3/);
});

// The Python script's parts that need only numpy, run with the system's python3.
// The interpreter itself, not a version manager's shim (each shim start costs seconds on a busy machine).
const py = spawnSync("python3", ["-c", "import sys, numpy; sys.stdout.write(sys.executable)"], { encoding: "utf8" });
const python3 = py.status === 0 && py.stdout ? py.stdout : "python3";
const noNumpy = py.error || py.status !== 0 ? "python3 with numpy is not available here (the script's data checks need it)" : false;

function pyRun(code: string): unknown {
  const r = spawnSync(python3, ["-c", `import json, sys\nsys.path.insert(0, ${JSON.stringify(path.dirname(KERAS_SCRIPT))})\nimport keras_reference as kr\n${code}`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("keras_reference.py: the split's id as split.ts computes it, the data checked, the test indices taken as given", { skip: noNumpy }, () => {
  const split = stratifiedSplit(Array.from({ length: 200 }, (_, i) => i % 10), { valSize: 20, trainSize: 50, seed: 3, dataSha256: { "train-images-idx3-ubyte.gz": "ab", "train-labels-idx1-ubyte.gz": "cd" } });
  const dir = tmp();
  const file = path.join(dir, "split.json");
  fs.writeFileSync(file, JSON.stringify(split));
  assert.equal(pyRun(`print(json.dumps(kr.split_id(json.load(open(${JSON.stringify(file)})))))`), split.id);
  const { id: _id, ...rest } = split;
  assert.equal(splitId(rest), split.id);
  // The real test files, read and checked against SHA256SUMS; a wrong checksum is refused.
  const cfg = resolveConfig({}, { profile: "quick" });
  const out = pyRun(`
import numpy as np
sums = kr.read_checksums(${JSON.stringify(cfg.dataDir)})
y = kr.read_idx(${JSON.stringify(cfg.dataDir)}, "t10k-labels-idx1-ubyte.gz", sums)
x = kr.read_idx(${JSON.stringify(cfg.dataDir)}, "t10k-images-idx3-ubyte.gz", sums)
try:
    kr.read_idx(${JSON.stringify(cfg.dataDir)}, "t10k-labels-idx1-ubyte.gz", dict(sums, **{"t10k-labels-idx1-ubyte.gz": "0" * 64}))
    bad = "accepted"
except kr.JobError as e:
    bad = str(e)
print(json.dumps({"n": int(y.size), "shape": list(x.shape), "first": [int(v) for v in y[:5]], "bad": bad}))`) as { n: number; shape: number[]; first: number[]; bad: string };
  assert.equal(out.n, 10000);
  assert.deepEqual(out.shape, [10000, 28, 28]);
  assert.deepEqual(out.first, [9, 2, 1, 1, 6]);
  assert.match(out.bad, /does not match SHA256SUMS/);
  // A damaged split is refused with the notebook to re-run.
  const damaged = path.join(dir, "damaged.json");
  fs.writeFileSync(damaged, JSON.stringify({ ...split, valIndices: split.valIndices.slice(1) }));
  const refused = pyRun(`
try:
    kr.load_split(${JSON.stringify(damaged)}, "x", {})
    print(json.dumps("accepted"))
except kr.JobError as e:
    print(json.dumps(str(e)))`);
  assert.match(String(refused), /damaged or from another version/);
});

test("keras_reference.py: augmentation shifts whole pixels within ±shift and flips; results merged and written atomically", { skip: noNumpy }, () => {
  const out = pyRun(`
import numpy as np
x = np.zeros((400, 28, 28, 1), np.float32)
x[:, 14, 10, 0] = 1
rng = np.random.default_rng(1)
a = kr.augment_batch(x, rng, 2, True)
cols = [int(np.argwhere(img[..., 0])[0][1]) for img in a]
rows = [int(np.argwhere(img[..., 0])[0][0]) for img in a]
same = bool((kr.augment_batch(x, np.random.default_rng(1), 2, True) == a).all())
print(json.dumps({"cols": sorted(set(cols)), "rows": sorted(set(rows)), "sums": sorted(set(float(s) for s in a.sum(axis=(1, 2, 3)))), "same": same}))`) as { cols: number[]; rows: number[]; sums: number[]; same: boolean };
  // Column 10 shifted by −2…2, or mirrored (27 − 10 = 17) then shifted.
  assert.deepEqual(out.cols, [8, 9, 10, 11, 12, 15, 16, 17, 18, 19]);
  assert.deepEqual(out.rows, [12, 13, 14, 15, 16]);
  assert.deepEqual(out.sums, [1]);
  assert.equal(out.same, true);
  const dir = tmp();
  const file = path.join(dir, "results", "05-cnn-maxpool.json");
  const merged = pyRun(`
key = {"splitId": "s1"}
header = {"schema": 1, "notebook": "05-cnn-maxpool", "profile": "quick", "createdAt": "t", "backend": {"name": "keras"}, "config": {}, "reference": key,
          "rows": {"rows.train": 4000}, "runOrder": ["cnn_maxpool", "cnn_maxpool_rmsprop"]}
a = kr.merge_results(None, header, {"name": "cnn_maxpool_rmsprop", "params": 1, "trainSec": 1, "metrics": {"test_acc": 0.5}})
b = kr.merge_results(a, header, {"name": "cnn_maxpool", "params": 1, "trainSec": 1, "metrics": {"test_acc": 0.6}})
c = kr.merge_results(b, dict(header, reference={"splitId": "other"}), {"name": "cnn_maxpool", "params": 1, "trainSec": 1, "metrics": {"test_acc": 0.7}})
kr.write_atomic(${JSON.stringify(file)}, json.dumps(b))
print(json.dumps({"b": b, "c": c}))`) as { b: { models: { name: string }[]; metrics: Record<string, number> }; c: { models: { name: string }[] } };
  assert.deepEqual(merged.b.models.map((m) => m.name), ["cnn_maxpool", "cnn_maxpool_rmsprop"]);
  assert.deepEqual(merged.b.metrics, { "rows.train": 4000, "cnn_maxpool.test_acc": 0.6, "cnn_maxpool_rmsprop.test_acc": 0.5 });
  assert.deepEqual(merged.c.models.map((m) => m.name), ["cnn_maxpool"], "runs made under other conditions are dropped");
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["05-cnn-maxpool.json"], "no temporary file left");
});

test("keras_reference.py: a bad job is one line and exit 2, before TensorFlow loads", { skip: noNumpy }, () => {
  const dir = tmp();
  const job = path.join(dir, "job.json");
  fs.writeFileSync(job, JSON.stringify({ schema: 1, runs: [{ name: "x", model: "resnet50" }] }));
  const r = spawnSync(python3, [KERAS_SCRIPT, job], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^keras_reference: .*architecture 'resnet50'; known: dense_shallow, cnn32/);
  const r2 = spawnSync(python3, [KERAS_SCRIPT], { encoding: "utf8" });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /usage: keras_reference\.py JOB\.json/);
});

test("report: a 'Checked against Keras' section when Keras results are given, none otherwise", async () => {
  const { renderIndex } = await import("./../scripts/report/render-index");
  const result = (backend: string, metrics: Record<string, number>) => ({ schema: 1 as const, notebook: "05-cnn-maxpool", profile: "full" as const, createdAt: "2026-12-02T00:00:00.000Z", backend: { name: backend, versions: { keras: "3.15.1", tensorflow: "2.21.0" } } as never, metrics });
  const ours = [result("wasm", { "cnn_maxpool.val_acc": 0.9145, "cnn_maxpool.test_acc": 0.9137, "cnn_maxpool.train_sec": 209.7 })];
  const keras = [result("keras", { "cnn_maxpool.val_acc": 0.91, "cnn_maxpool.test_acc": 0.9087, "cnn_maxpool.train_sec": 400 })];
  const withKeras = renderIndex({ results: ours, notebooks: [], keras }).body;
  assert.match(withKeras, /<h2>Checked against Keras<\/h2>/);
  assert.match(withKeras, /Keras 3\.15\.1 on TensorFlow 2\.21\.0/);
  const row = /<table id="keras-table">[\s\S]*?<tr><td class="text">cnn_maxpool<\/td>(.*?)<\/tr>/.exec(withKeras)?.[1] ?? "";
  assert.match(row, /0\.9145.*0\.9100.*0\.9137.*0\.9087.*0\.50 pts/);
  assert.doesNotMatch(renderIndex({ results: ours, notebooks: [] }).body, /Checked against Keras/);
  assert.doesNotMatch(renderIndex({ results: ours, notebooks: [], keras: [] }).body, /Checked against Keras/);
});

test("job folders of runs killed outright are removed at the next start; live ones and others' names are kept", () => {
  const dir = tmp();
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
  for (const name of [`fmnist-keras-job-${dead}-abc`, `fmnist-keras-job-${process.pid}-def`, `fmnist-keras-job-${process.ppid}-ghi`, "fmnist-other-1-x"]) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, "job.json"), "{}");
  }
  assert.deepEqual(removeStaleJobDirs(dir), [path.join(dir, `fmnist-keras-job-${dead}-abc`)]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [`fmnist-keras-job-${process.pid}-def`, `fmnist-keras-job-${process.ppid}-ghi`, "fmnist-other-1-x"].sort());
});

test("best_recipe.py (the Keras stand-in of docs/best-model.md): bad options, a wrong data folder and a missing Keras each get one clear line", { skip: noNumpy }, () => {
  const script = path.join(path.dirname(KERAS_SCRIPT), "best_recipe.py");
  const run = (...args: string[]) => spawnSync(python3, [script, ...args], { encoding: "utf8", env: { ...process.env, PYTHONPATH: "" } });
  const epochs = run("--epochs", "0");
  assert.equal(epochs.status, 2);
  assert.match(epochs.stderr, /--epochs must be a positive integer, got 0/);
  const layers = run("--layers", "resnet");
  assert.equal(layers.status, 2);
  assert.match(layers.stderr, /invalid choice: 'resnet'/);
  const data = run("--data", path.join(tmp(), "nowhere"));
  assert.equal(data.status, 1);
  assert.match(data.stderr, /nowhere\/train-images-idx3-ubyte\.gz not found: pass --data/);
  // Where this python3 has no Keras (the usual case outside the peers' venv), the script says what to install.
  const hasKeras = spawnSync(python3, ["-c", "import keras, tensorflow"]).status === 0;
  if (!hasKeras) {
    const noKeras = run("--epochs", "1");
    assert.equal(noKeras.status, 1);
    assert.match(noKeras.stderr, /(keras|tensorflow) is not installed: it needs numpy, TensorFlow 2\.21 and Keras 3/);
  }
});
