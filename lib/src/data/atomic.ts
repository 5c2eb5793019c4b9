/** Atomic file writes: write a temp file beside the target, then rename over it. */
import * as fs from "node:fs";
import * as path from "node:path";

/** Writes `data` to `file` so readers see the old or the new content, never half of it. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
