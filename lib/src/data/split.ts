/**
 * The seeded, stratified train/validation split of the 60,000 training images, and the
 * versioned artefact that notebook 02 writes and every model notebook reads, so all models
 * train and validate on exactly the same images.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Config } from "../config";
import { createRng, type Rng } from "../random";
import { writeFileAtomic } from "../io";
import { NUM_CLASSES } from "./classes";
import { DATA_FILES, loadFashionMnist } from "./fashion-mnist";
import { readChecksums } from "./integrity";

/** A train/validation split: indices into the official training set. */
export interface Split {
  version: 1;
  /** Short hash of everything below: two splits with the same id are the same split. */
  id: string;
  seed: number;
  trainIndices: number[];
  valIndices: number[];
  /** SHA-256 of the training files the indices refer to. */
  dataSha256: Record<string, string>;
}

/** Per-class quotas for `size` items drawn from groups of the given sizes (largest remainder). */
function quotas(groupSizes: number[], size: number): number[] {
  const total = groupSizes.reduce((a, b) => a + b, 0);
  const exact = groupSizes.map((g) => (size * g) / total);
  const q = exact.map(Math.floor);
  let left = size - q.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left === 0) break;
    q[i]++;
    left--;
  }
  return q;
}

function byClass(labels: ArrayLike<number>, indices: ArrayLike<number>): number[][] {
  const groups: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (let i = 0; i < indices.length; i++) {
    const label = labels[indices[i]];
    if (!(label >= 0 && label < NUM_CLASSES)) throw new Error(`split: label ${label} at index ${indices[i]} is outside 0–${NUM_CLASSES - 1}.`);
    groups[label].push(indices[i]);
  }
  return groups;
}

function drawStratified(groups: number[][], size: number, rng: Rng): number[][] {
  const q = quotas(groups.map((g) => g.length), size);
  return groups.map((g, c) => rng.fork().shuffle([...g]).slice(0, q[c]));
}

/** Computes a split's id from its content. */
export function splitId(split: Omit<Split, "id">): string {
  const h = crypto.createHash("sha256");
  h.update(JSON.stringify([split.version, split.seed, split.trainIndices, split.valIndices, split.dataSha256]));
  return h.digest("hex").slice(0, 12);
}

/**
 * Splits the training labels into stratified train and validation sets. The full profile
 * uses 50,000/10,000 (5,000/1,000 per class): a validation set as large as the test set
 * gives the same ±0.3-point resolution on both, and 50,000 training images keep every
 * model close to the write-ups' 60,000. Smaller sizes give class-balanced subsets.
 * Deterministic for a seed on any machine; indices are returned sorted.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  opts: { valSize: number; trainSize?: number; seed: number; dataSha256?: Record<string, string> },
): Split {
  const n = labels.length;
  const trainSize = opts.trainSize ?? n - opts.valSize;
  for (const [k, v] of [["valSize", opts.valSize], ["trainSize", trainSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`stratifiedSplit: ${k} must be a positive integer, got ${v}.`);
  }
  if (opts.valSize + trainSize > n) throw new Error(`stratifiedSplit: valSize + trainSize = ${opts.valSize + trainSize} exceeds the ${n} labels.`);
  const rng = createRng(opts.seed);
  const all = Array.from({ length: n }, (_, i) => i);
  const groups = byClass(labels, all).map((g) => rng.fork().shuffle(g));
  // Validation first, so the validation set of a given size does not depend on trainSize.
  const valQ = quotas(groups.map((g) => g.length), opts.valSize);
  const valIndices = groups.flatMap((g, c) => g.slice(0, valQ[c]));
  const rest = groups.map((g, c) => g.slice(valQ[c]));
  const trainIndices = drawStratified(rest, trainSize, rng).flat();
  const partial = {
    version: 1 as const,
    seed: opts.seed,
    trainIndices: trainIndices.sort((a, b) => a - b),
    valIndices: valIndices.sort((a, b) => a - b),
    dataSha256: opts.dataSha256 ?? {},
  };
  return { ...partial, id: splitId(partial) };
}

/** Picks `n` of `indices`, balanced across classes, seeded; returned sorted. */
export function balancedSubset(labels: ArrayLike<number>, indices: ArrayLike<number>, n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > indices.length) {
    throw new Error(`balancedSubset: n must be an integer from 1 to ${indices.length}, got ${n}.`);
  }
  return drawStratified(byClass(labels, indices), n, createRng(seed))
    .flat()
    .sort((a, b) => a - b);
}

/** Makes the split a config asks for from the real training labels and data checksums. */
export function makeSplit(cfg: Pick<Config, "dataDir" | "seed" | "trainSize" | "valSize">): Split {
  const train = loadFashionMnist("train", { dataDir: cfg.dataDir });
  const sums = readChecksums(cfg.dataDir);
  const dataSha256 = { [DATA_FILES.train.images]: sums[DATA_FILES.train.images], [DATA_FILES.train.labels]: sums[DATA_FILES.train.labels] };
  return stratifiedSplit(train.labels, { valSize: cfg.valSize, trainSize: cfg.trainSize, seed: cfg.seed, dataSha256 });
}

/** Where the split artefact for a config lives. */
export function splitPath(cfg: Pick<Config, "artifactsDir" | "seed" | "trainSize" | "valSize">): string {
  return path.join(cfg.artifactsDir, "splits", `split-v1-seed${cfg.seed}-train${cfg.trainSize}-val${cfg.valSize}.json`);
}

/** Writes the split artefact atomically; returns its path. */
export function saveSplit(split: Split, cfg: Pick<Config, "artifactsDir" | "seed" | "trainSize" | "valSize">): string {
  if (split.trainIndices.length !== cfg.trainSize || split.valIndices.length !== cfg.valSize || split.seed !== cfg.seed) {
    throw new Error(
      `saveSplit: split ${split.id} (seed ${split.seed}, ${split.trainIndices.length}/${split.valIndices.length}) does not match the config ` +
        `(seed ${cfg.seed}, ${cfg.trainSize}/${cfg.valSize}).`,
    );
  }
  const file = splitPath(cfg);
  writeFileAtomic(file, JSON.stringify(split));
  return file;
}

/**
 * Reads the split artefact written by notebook 02 for this config and checks that it is
 * intact and still refers to the same data files.
 */
export function loadSplit(cfg: Pick<Config, "artifactsDir" | "dataDir" | "seed" | "trainSize" | "valSize">): Split {
  const file = splitPath(cfg);
  if (!fs.existsSync(file)) {
    throw new Error(`No split at ${file}: run notebooks/02-preprocessing first (it writes the split for this profile and seed).`);
  }
  let split: Split;
  try {
    split = JSON.parse(fs.readFileSync(file, "utf8")) as Split;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); delete it and re-run notebooks/02-preprocessing.`);
  }
  const { id, ...rest } = split;
  if (split.version !== 1 || id !== splitId(rest)) {
    throw new Error(`${file} is damaged or from another version (id mismatch); delete it and re-run notebooks/02-preprocessing.`);
  }
  const sums = readChecksums(cfg.dataDir);
  for (const [name, sha] of Object.entries(split.dataSha256)) {
    if (sums[name] !== sha) {
      throw new Error(`${file} was made from a different ${name} than the one in ${cfg.dataDir}; re-run notebooks/02-preprocessing.`);
    }
  }
  return split;
}
