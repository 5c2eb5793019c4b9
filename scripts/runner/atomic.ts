// Atomic file writes shared by the runner, the baseline updater and the kernelspec installer:
// write a temp file beside the target, then rename it over the target, so readers never see half a file.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Writes `data` to `file` atomically (temp file in the same folder, then rename).
 * Creates the parent folder if needed.
 * @param file - destination path
 * @param data - file contents
 * @param mode - permission bits for the new file (default 0o644)
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}
