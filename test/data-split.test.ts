// Split determinism and stratification, balanced subsets, the split artefact, and the CSV layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveConfig } from "../lib/src/config";
import {
  KAGGLE_HEADER,
  balancedSubset,
  classCounts,
  formatKaggleCsv,
  loadFashionMnist,
  loadSplit,
  makeSplit,
  parseKaggleCsv,
  readKaggleCsv,
  saveSplit,
  selectImages,
  splitPath,
  stratifiedSplit,
  writeKaggleCsv,
} from "../lib/src/data/index";

const train = loadFashionMnist("train");

test("the 50,000/10,000 split is stratified, disjoint, complete and deterministic by seed", () => {
  const a = stratifiedSplit(train.labels, { valSize: 10000, seed: 7 });
  const b = stratifiedSplit(train.labels, { valSize: 10000, seed: 7 });
  const c = stratifiedSplit(train.labels, { valSize: 10000, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.valIndices, c.valIndices);
  assert.notEqual(a.id, c.id);
  assert.equal(a.trainIndices.length, 50000);
  assert.deepEqual(classCounts(train.labels, a.valIndices), new Array(10).fill(1000));
  assert.deepEqual(classCounts(train.labels, a.trainIndices), new Array(10).fill(5000));
  const seen = new Set([...a.trainIndices, ...a.valIndices]);
  assert.equal(seen.size, 60000);
});

test("smaller sizes give class-balanced subsets, and the validation set does not depend on trainSize", () => {
  const small = stratifiedSplit(train.labels, { valSize: 1000, trainSize: 4000, seed: 42 });
  assert.deepEqual(classCounts(train.labels, small.trainIndices), new Array(10).fill(400));
  assert.deepEqual(classCounts(train.labels, small.valIndices), new Array(10).fill(100));
  const other = stratifiedSplit(train.labels, { valSize: 1000, trainSize: 2000, seed: 42 });
  assert.deepEqual(other.valIndices, small.valIndices);
  const uneven = stratifiedSplit(train.labels, { valSize: 15, trainSize: 25, seed: 1 });
  const counts = classCounts(train.labels, uneven.valIndices);
  assert.equal(counts.reduce((x, y) => x + y, 0), 15);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
  assert.throws(() => stratifiedSplit(train.labels, { valSize: 30000, trainSize: 40000, seed: 1 }), /exceeds the 60000 labels/);
});

test("balancedSubset draws equally from each class, deterministically", () => {
  const indices = Array.from({ length: 60000 }, (_, i) => i);
  const s = balancedSubset(train.labels, indices, 2000, 3);
  assert.deepEqual(s, balancedSubset(train.labels, indices, 2000, 3));
  assert.deepEqual(classCounts(train.labels, s), new Array(10).fill(200));
  assert.throws(() => balancedSubset(train.labels, indices, 0, 3), /n must be an integer from 1 to 60000/);
});

test("saveSplit → loadSplit round-trips; a damaged artefact or changed data is refused", () => {
  const artifactsDir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-art-"));
  const cfg = resolveConfig({}, { artifactsDir, trainSize: 500, valSize: 100 });
  assert.throws(() => loadSplit(cfg), /run notebooks\/02-preprocessing first/);
  const split = makeSplit(cfg);
  const file = saveSplit(split, cfg);
  assert.equal(file, splitPath(cfg));
  assert.deepEqual(loadSplit(cfg), split);
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  json.valIndices[0] = json.trainIndices[0];
  fs.writeFileSync(file, JSON.stringify(json));
  assert.throws(() => loadSplit(cfg), /damaged or from another version/);
  fs.writeFileSync(file, "{not json");
  assert.throws(() => loadSplit(cfg), /is not valid JSON/);
  assert.throws(() => saveSplit(split, { ...cfg, trainSize: 400 }), /does not match the config/);
});

test("the Kaggle CSV layout round-trips exactly", () => {
  const sub = selectImages(train, [0, 1, 59999]);
  const text = formatKaggleCsv(sub);
  assert.ok(text.startsWith(`${KAGGLE_HEADER}\n`));
  assert.equal(KAGGLE_HEADER.split(",").length, 785);
  const back = parseKaggleCsv(text);
  assert.deepEqual(back, sub);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-csv-")), "fashion-mnist_test.csv");
  writeKaggleCsv(file, sub);
  assert.deepEqual(readKaggleCsv(file), sub);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["fashion-mnist_test.csv"]);
});

test("CSV errors name the line and the problem", () => {
  const sub = selectImages(train, [0]);
  const [header, row] = formatKaggleCsv(sub).trimEnd().split("\n");
  assert.throws(() => parseKaggleCsv("a,b\n1,2\n", "x.csv"), /x\.csv: line 1 is not the Kaggle header/);
  assert.throws(() => parseKaggleCsv(`${header}\n${row},5\n`, "x.csv"), /x\.csv: line 2 has 786 columns, expected 785/);
  assert.throws(() => parseKaggleCsv(`${header}\n${row.replace(/^\d+/, "12")}\n`, "x.csv"), /line 2, label = "12" is not an integer from 0 to 9/);
  const cells = row.split(",");
  cells[5] = "256";
  assert.throws(() => parseKaggleCsv(`${header}\n${row}\n${cells.join(",")}\n`, "x.csv"), /line 3, pixel5 = "256" is not an integer from 0 to 255/);
  cells[5] = "1.5";
  assert.throws(() => parseKaggleCsv(`${header}\n${cells.join(",")}\n`, "x.csv"), /pixel5 = "1\.5"/);
  assert.throws(() => parseKaggleCsv("", "e.csv"), /e\.csv: empty file/);
  assert.throws(() => readKaggleCsv("/nonexistent.csv"), /\/nonexistent\.csv does not exist/);
});
