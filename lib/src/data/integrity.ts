/**
 * SHA-256 verification of the data files against the committed SHA256SUMS. A verdict is
 * cached per path + size + mtime (in memory and in a small user cache file), so a file is
 * hashed once, not at every load; only a match is ever cached.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic";

/** Where the user can get pristine files, appended to every data error. */
export function dataFixHint(dataDir: string): string {
  return (
    `Restore the original files (in a clone: git checkout -- data/fashion-mnist; or copy them from the ` +
    `Fashion-MNIST release), or point FMNIST_DATA_DIR at a folder that has them (now: ${dataDir}).`
  );
}

/** Reads `SHA256SUMS` (`<hex>  <file>` lines) from the data folder. */
export function readChecksums(dataDir: string): Record<string, string> {
  const file = path.join(dataDir, "SHA256SUMS");
  if (!fs.existsSync(file)) throw new Error(`${file} is missing, so the data cannot be verified. ${dataFixHint(dataDir)}`);
  const sums: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/i.exec(line.trim());
    if (!m) throw new Error(`${file}: malformed line "${line}" (expected "<sha256>  <file name>").`);
    sums[m[2]] = m[1].toLowerCase();
  }
  return sums;
}

/** Hex SHA-256 of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

const memoryCache = new Set<string>();

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "fmnist", "verified.json");
}

function readCache(): Record<string, true> {
  try {
    return JSON.parse(fs.readFileSync(cacheFile(), "utf8")) as Record<string, true>;
  } catch {
    return {}; // no cache yet, or unreadable: verify again
  }
}

function cacheKey(file: string, stat: fs.Stats, expected: string): string {
  return `${path.resolve(file)}|${stat.size}|${stat.mtimeMs}|${expected}`;
}

/**
 * Reads `file` and checks its SHA-256 against `expected`; returns the bytes. Throws an
 * error naming the file, what is wrong and how to fix it.
 */
export function readVerified(file: string, expected: string, dataDir: string): Uint8Array {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`${file} is missing. ${dataFixHint(dataDir)}`);
  }
  const bytes = fs.readFileSync(file);
  const key = cacheKey(file, stat, expected);
  if (memoryCache.has(key)) return bytes;
  const disk = readCache();
  if (disk[key]) {
    memoryCache.add(key);
    return bytes;
  }
  const actual = sha256(bytes);
  if (actual !== expected) {
    throw new Error(
      `${file} failed its integrity check: SHA-256 is ${actual}, expected ${expected} (${stat.size} bytes; ` +
        `the file is corrupted, truncated or not the original). ${dataFixHint(dataDir)}`,
    );
  }
  memoryCache.add(key);
  try {
    writeFileAtomic(cacheFile(), JSON.stringify({ ...disk, [key]: true }));
  } catch {
    // A read-only home only costs a re-hash next time.
  }
  return bytes;
}

/** Forgets in-memory verdicts (tests use it to force re-verification). */
export function clearVerificationCache(): void {
  memoryCache.clear();
}
