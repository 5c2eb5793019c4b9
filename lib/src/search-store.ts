/**
 * Trial results kept on disk, one file per trial, under `<artifacts>/search/<search id>/`. A trial is a pure
 * function of its configuration, the search's data and budget, the seed, the backend and the library's code,
 * so a result stored once stands for every later run with the same key: an interrupted search resumes where it
 * stopped, a re-run search cell does not retrain, and the trials of a wide search run on many machines
 * (`npm run search -- --shard I/N`) come together in one folder as one search.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cleanError } from "./errors";
import { writeFileAtomic } from "./io";
import type { Trial, TrialResult } from "./tuning";

/** Everything a trial's result depends on besides its own configuration. */
export interface SearchKey {
  profile: string;
  /** Registry model whose filters and dropout the trials set. */
  model: string;
  seed: number;
  splitId: string;
  /** Training images of every trial, and a hash of their indices. */
  searchImages: number;
  searchIndicesSha256: string;
  epochs: number;
  patience: number;
  /** Hash of the search space (the trials' configurations derive from it and the seed). */
  spaceSha256: string;
  /** Backend name and the settings that can change its numbers (kernel set); not the thread count, which cannot. */
  backend: string;
  backendSettings: Record<string, string>;
  /** Hash of the library's source: changed code never reuses a result of the old code. */
  code: string;
}

/** What one trial file holds. */
export interface StoredTrial {
  schema: 1;
  searchId: string;
  key: SearchKey;
  result: TrialResult;
  /** Where and when it was trained (reported only). */
  host: string;
  createdAt: string;
}

/** The search's folder description, written once. */
export interface StoredSearch {
  schema: 1;
  searchId: string;
  key: SearchKey;
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Stable JSON (sorted keys) for hashing. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The search's id: the first 16 hex digits of the key's hash. */
export function searchId(key: SearchKey): string {
  return sha256(canonical(key)).slice(0, 16);
}

/** Hash of the search space. */
export function spaceFingerprint(space: unknown): string {
  return sha256(canonical(space));
}

let codeCache: string | undefined;

/** Where the build records the hash of the source it was built from (written by `npm run build`). */
export const BUILD_STAMP = "source.sha256";

/** Hash of the TypeScript files (not .d.ts) under `srcDir`, by relative path and content. */
export function sourceHash(srcDir: string): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) files.push(p);
    }
  };
  walk(srcDir);
  const h = createHash("sha256");
  for (const f of files) h.update(path.relative(srcDir, f).split(path.sep).join("/")).update("\0").update(fs.readFileSync(f)).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * Hash of the library's TypeScript source (lib/src), which notebooks (lib/dist) and scripts (lib/src under tsx)
 * share, so both compute the same key. Running from lib/dist, the build must have been made from that source
 * (its recorded hash, lib/dist/source.sha256, must match): otherwise trials trained by an old build would be
 * filed under the new source's hash, so this refuses, saying to rebuild.
 */
export function libraryFingerprint(): string {
  if (codeCache !== undefined) return codeCache;
  const here = __dirname;
  const fromDist = path.basename(here) === "dist";
  const src = fromDist ? path.join(path.dirname(here), "src") : here;
  if (!fs.existsSync(src)) throw cleanError(`The library's source (${src}) is missing: the search store keys trial results by it.`);
  const hash = sourceHash(src);
  if (fromDist) {
    const stampFile = path.join(here, BUILD_STAMP);
    const built = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8").trim() : "(none)";
    if (built !== hash) {
      throw cleanError(`The library's build (lib/dist) was not made from its current source (lib/src): run \`npm run build\`, then restart the kernel.`);
    }
  }
  codeCache = hash;
  return codeCache;
}

/** The folder of a search's trials. */
export function searchDir(artifactsDir: string, id: string): string {
  return path.join(artifactsDir, "search", id);
}

/** A trial's file. */
export function trialFile(dir: string, trialId: number): string {
  return path.join(dir, `trial-${String(trialId).padStart(3, "0")}.json`);
}

const CONFIG_FIELDS = ["id", "optimizer", "learningRate", "filters", "dropout", "batchSize"] as const;

/** The configuration fields of a trial as text, for messages and comparisons. */
export function trialConfig(t: Trial): string {
  return CONFIG_FIELDS.map((k) => `${k}=${t[k]}`).join(" ");
}

/** Reads and checks a trial file. Throws, naming the file and what to do, when it is unreadable or not this search's. */
export function readTrialFile(file: string, expect?: { searchId: string; trial?: Trial }): StoredTrial {
  let stored: StoredTrial;
  try {
    stored = JSON.parse(fs.readFileSync(file, "utf8")) as StoredTrial;
  } catch (err) {
    throw new Error(`Stored trial ${file} is unreadable (${(err as Error).message.split("\n")[0]}): delete the file to train the trial again.`);
  }
  const r = stored?.result;
  const ok = stored?.schema === 1 && typeof stored.searchId === "string" && r !== null && typeof r === "object" &&
    CONFIG_FIELDS.every((k) => r[k] !== undefined) && ["valAcc", "valLoss", "trainLoss", "epochsRun", "bestEpoch"].every((k) => Number.isFinite((r as unknown as Record<string, number>)[k]));
  if (!ok) throw new Error(`Stored trial ${file} is not a trial result of this project (schema 1): delete the file to train the trial again.`);
  if (expect && stored.searchId !== expect.searchId) {
    throw new Error(`Stored trial ${file} belongs to search ${stored.searchId}, not ${expect.searchId}: it was copied into the wrong folder; move or delete it.`);
  }
  if (expect?.trial && trialConfig(stored.result) !== trialConfig(expect.trial)) {
    throw new Error(`Stored trial ${file} is "${trialConfig(stored.result)}" but this search's trial ${expect.trial.id} is "${trialConfig(expect.trial)}": delete the file to train the trial again.`);
  }
  return stored;
}

/** Trial results on disk for one search key. */
export class TrialStore {
  readonly id: string;
  readonly dir: string;

  constructor(artifactsDir: string, readonly key: SearchKey) {
    this.id = searchId(key);
    this.dir = searchDir(artifactsDir, this.id);
  }

  /** The stored result of `trial`, or undefined when it has not been trained for this key. */
  read(trial: Trial): StoredTrial | undefined {
    const file = trialFile(this.dir, trial.id);
    if (!fs.existsSync(file)) return undefined;
    return readTrialFile(file, { searchId: this.id, trial });
  }

  /** Stores a trained trial (atomically: readers see the whole file or none). */
  write(result: TrialResult): string {
    const desc = path.join(this.dir, "search.json");
    if (!fs.existsSync(desc)) writeFileAtomic(desc, JSON.stringify({ schema: 1, searchId: this.id, key: this.key } satisfies StoredSearch, null, 2) + "\n");
    const file = trialFile(this.dir, result.id);
    const stored: StoredTrial = { schema: 1, searchId: this.id, key: this.key, result, host: os.hostname(), createdAt: new Date().toISOString() };
    writeFileAtomic(file, JSON.stringify(stored, null, 2) + "\n");
    return file;
  }
}

/** The searches stored under an artifacts folder: id → trial files (sorted). */
export function listStoredSearches(artifactsDir: string): Map<string, string[]> {
  const root = path.join(artifactsDir, "search");
  const out = new Map<string, string[]>();
  if (!fs.existsSync(root)) return out;
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || !/^[0-9a-f]{16}$/.test(e.name)) continue;
    const dir = path.join(root, e.name);
    out.set(e.name, fs.readdirSync(dir).filter((f) => /^trial-\d+\.json$/.test(f)).sort().map((f) => path.join(dir, f)));
  }
  return out;
}

/** The measured fields of a result: they differ between machines and runs, and are only reported. */
export const MEASURED_FIELDS = ["trainSec", "samplesPerSec"] as const;

/** A stored trial's result without its measured fields, as text: two runs of one trial agree on it bit for bit. */
export function deterministicPart(r: TrialResult): string {
  const copy: Record<string, unknown> = { ...r };
  for (const k of MEASURED_FIELDS) delete copy[k];
  return canonical(copy);
}
