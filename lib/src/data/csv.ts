/**
 * Reader and writer for the Kaggle CSV layout of Fashion-MNIST used by write-up 004:
 * a header `label,pixel1,…,pixel784`, then one image per line. Round-trips exactly.
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "../io";
import { IMAGE_SIZE, NUM_CLASSES } from "./classes";
import type { ImageSet } from "./fashion-mnist";

const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/** The expected header line. */
export const KAGGLE_HEADER = ["label", ...Array.from({ length: PIXELS }, (_, i) => `pixel${i + 1}`)].join(",");

/** Formats an ImageSet as Kaggle CSV text (header + one line per image, trailing newline). */
export function formatKaggleCsv(set: ImageSet): string {
  if (set.rows * set.cols !== PIXELS) throw new Error(`formatKaggleCsv: images must be ${IMAGE_SIZE}×${IMAGE_SIZE}, got ${set.rows}×${set.cols}.`);
  const lines = [KAGGLE_HEADER];
  for (let i = 0; i < set.count; i++) {
    lines.push(`${set.labels[i]},${set.images.subarray(i * PIXELS, (i + 1) * PIXELS).join(",")}`);
  }
  return lines.join("\n") + "\n";
}

/** Parses Kaggle CSV text; errors name `name`, the line number and what is wrong. */
export function parseKaggleCsv(text: string, name = "<csv>"): ImageSet {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new Error(`${name}: empty file; expected the header "label,pixel1,…,pixel${PIXELS}".`);
  if (lines[0].trim() !== KAGGLE_HEADER) {
    throw new Error(`${name}: line 1 is not the Kaggle header "label,pixel1,…,pixel${PIXELS}" (got "${lines[0].slice(0, 40)}…").`);
  }
  const count = lines.length - 1;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const lineNo = i + 2;
    const cells = lines[i + 1].split(",");
    if (cells.length !== PIXELS + 1) throw new Error(`${name}: line ${lineNo} has ${cells.length} columns, expected ${PIXELS + 1}.`);
    for (let c = 0; c <= PIXELS; c++) {
      const cell = cells[c].trim();
      const v = /^\d{1,3}$/.test(cell) ? Number(cell) : NaN;
      const max = c === 0 ? NUM_CLASSES - 1 : 255;
      if (!(v <= max)) {
        const what = c === 0 ? "label" : `pixel${c}`;
        throw new Error(`${name}: line ${lineNo}, ${what} = "${cells[c]}" is not an integer from 0 to ${max}.`);
      }
      if (c === 0) labels[i] = v;
      else images[i * PIXELS + c - 1] = v;
    }
  }
  return { images, labels, count, rows: IMAGE_SIZE, cols: IMAGE_SIZE };
}

/** Reads a Kaggle CSV file. */
export function readKaggleCsv(file: string): ImageSet {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist.`);
  return parseKaggleCsv(fs.readFileSync(file, "utf8"), file);
}

/** Writes an ImageSet as a Kaggle CSV file, atomically. */
export function writeKaggleCsv(file: string, set: ImageSet): void {
  writeFileAtomic(file, formatKaggleCsv(set));
}
