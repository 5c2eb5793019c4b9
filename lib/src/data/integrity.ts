/**
 * SHA-256 verification of the data files against the committed SHA256SUMS, at every load.
 *
 * Why no cache of verdicts: one keyed by path + size + mtime was bypassed by a modified file
 * of the same size with its mtime restored (`touch -r`), issue 16 item 2. Adding inode and
 * ctime would make that impractical, but hashing is cheap next to what a load costs anyway:
 * measured on this project's 2-core machine, SHA-256 of all four files (30.9 MB) takes
 * 110–175 ms, while reading them takes 120–250 ms and gunzipping them 740–910 ms, which every
 * load pays. So the check hashes always: nothing to forge, and no cache file to keep.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where the user can get pristine files, appended to every data error. */
export function dataFixHint(dataDir: string): string {
  return (
    `Restore the original files (in a clone: git checkout -- data/fashion-mnist; or copy them from the ` +
    `Fashion-MNIST release), or point FMNIST_DATA_DIR at a folder that has them (now: ${dataDir}).`
  );
}

/** A read failure as one sentence naming the path and the cause, with what to do. */
function readFailure(file: string, err: unknown, dataDir: string): Error {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: "is missing",
    EISDIR: "is a folder, not a file (remove or rename the folder)",
    ENOTDIR: `cannot be reached: a part of its path is not a folder`,
    EACCES: "cannot be read: permission denied (check the permissions of the file and its folders)",
    EPERM: "cannot be read: operation not permitted (check the permissions of the file and its folders)",
  };
  const what = why[e.code ?? ""] ?? `cannot be read (${e.code ?? "error"}: ${e.message})`;
  return new Error(`${file} ${what}. ${dataFixHint(dataDir)}`);
}

/** Reads a file as bytes; throws Node's own error (with its code), EISDIR for a folder. */
function readBytes(file: string): Buffer {
  if (fs.statSync(file).isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a directory`), { code: "EISDIR" });
  return fs.readFileSync(file);
}

/** Reads a data file; every failure names the file and its cause (readFileSync's bare "EISDIR" did not). */
function readDataFile(file: string, dataDir: string): Buffer {
  try {
    return readBytes(file);
  } catch (err) {
    throw readFailure(file, err, dataDir);
  }
}

/**
 * Reads `SHA256SUMS` (`<hex>  <file>` lines) from the data folder. Errors name the real cause
 * (an unreadable folder is "permission denied", not "missing").
 */
export function readChecksums(dataDir: string): Record<string, string> {
  const file = path.join(dataDir, "SHA256SUMS");
  let text: string;
  try {
    text = readBytes(file).toString("utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${file} is missing, so the data cannot be verified. ${dataFixHint(dataDir)}`);
    throw readFailure(file, err, dataDir);
  }
  const sums: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
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

/**
 * Reads `file` and checks its SHA-256 against `expected` (every time: see the top of this
 * file); returns the bytes. Throws an error naming the file, what is wrong and how to fix it.
 */
export function readVerified(file: string, expected: string, dataDir: string): Uint8Array {
  const bytes = readDataFile(file, dataDir);
  const actual = sha256(bytes);
  if (actual !== expected) {
    throw new Error(
      `${file} failed its integrity check: SHA-256 is ${actual}, expected ${expected} (${bytes.length} bytes; ` +
        `the file is corrupted, truncated or not the original). ${dataFixHint(dataDir)}`,
    );
  }
  return bytes;
}

/**
 * Kept for callers of the former verdict cache: nothing is cached any more (every load
 * hashes), so there is nothing to forget.
 * @deprecated
 */
export function clearVerificationCache(): void {
  // Nothing to clear.
}
