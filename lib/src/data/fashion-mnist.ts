/**
 * Loads the Fashion-MNIST IDX files from the data folder, verified by SHA-256, as bytes:
 * pixels stay a Uint8Array (47 MB for the training set) until a batch becomes a tensor.
 */
import * as path from "node:path";
import { resolveConfig } from "../config";
import { IMAGE_SIZE, NUM_CLASSES } from "./classes";
import { gunzip, parseIdx } from "./idx";
import { readChecksums, readVerified } from "./integrity";

/** Images and labels of one part of the dataset. */
export interface ImageSet {
  /** count × rows × cols pixels, row by row, 0 = background. */
  images: Uint8Array;
  /** count labels, 0–9 (see CLASS_NAMES). */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/** The two parts of the official release. */
export type DatasetPart = "train" | "test";

/** File names of each part, as published by Zalando. */
export const DATA_FILES: Readonly<Record<DatasetPart, { images: string; labels: string; count: number }>> = {
  train: { images: "train-images-idx3-ubyte.gz", labels: "train-labels-idx1-ubyte.gz", count: 60000 },
  test: { images: "t10k-images-idx3-ubyte.gz", labels: "t10k-labels-idx1-ubyte.gz", count: 10000 },
};

const loaded = new Map<string, ImageSet>();

/** Resolves the data folder: explicit option, else FMNIST_DATA_DIR, else the committed copy. */
export function resolveDataDir(dataDir?: string): string {
  return path.resolve(dataDir ?? resolveConfig(process.env).dataDir);
}

/**
 * Loads one part of Fashion-MNIST, checking checksums, magic numbers, dimensions, payload
 * lengths and label range. Results are memoised per folder and part; treat them as read-only.
 * @example const test = loadFashionMnist("test"); test.count; // 10000
 */
export function loadFashionMnist(part: DatasetPart, opts: { dataDir?: string } = {}): ImageSet {
  if (part !== "train" && part !== "test") throw new Error(`loadFashionMnist: part must be "train" or "test", got ${JSON.stringify(part)}.`);
  const dataDir = resolveDataDir(opts.dataDir);
  const memoKey = `${dataDir}|${part}`;
  const memo = loaded.get(memoKey);
  if (memo) return memo;

  const sums = readChecksums(dataDir);
  const files = DATA_FILES[part];
  const read = (name: string): Uint8Array => {
    const expected = sums[name];
    if (!expected) throw new Error(`${path.join(dataDir, "SHA256SUMS")} has no entry for ${name}.`);
    const file = path.join(dataDir, name);
    return gunzip(readVerified(file, expected, dataDir), file);
  };
  const imagesPath = path.join(dataDir, files.images);
  const labelsPath = path.join(dataDir, files.labels);
  const images = parseIdx(read(files.images), imagesPath, { rank: 3, dims: [files.count, IMAGE_SIZE, IMAGE_SIZE] });
  const labels = parseIdx(read(files.labels), labelsPath, { rank: 1, dims: [files.count] });
  const bad = labels.data.findIndex((l) => l >= NUM_CLASSES);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is outside 0–${NUM_CLASSES - 1}.`);

  const set: ImageSet = { images: images.data, labels: labels.data, count: files.count, rows: IMAGE_SIZE, cols: IMAGE_SIZE };
  loaded.set(memoKey, set);
  return set;
}

/** Per-class counts of a label array. */
export function classCounts(labels: ArrayLike<number>, indices?: ArrayLike<number>): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  const n = indices ? indices.length : labels.length;
  for (let i = 0; i < n; i++) counts[labels[indices ? indices[i] : i]]++;
  return counts;
}

/** Copies the selected images into a new ImageSet (a view for subsets and CSV export). */
export function selectImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const px = set.rows * set.cols;
  const images = new Uint8Array(indices.length * px);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= set.count) throw new Error(`selectImages: index ${j} is outside 0–${set.count - 1}.`);
    images.set(set.images.subarray(j * px, (j + 1) * px), i * px);
    labels[i] = set.labels[j];
  }
  return { images, labels, count: indices.length, rows: set.rows, cols: set.cols };
}
