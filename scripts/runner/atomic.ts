// Atomic writes for the runner, the baseline updater and the kernelspec installer: lib's
// writeFileAtomic (temp file beside the target, then rename), plus a JSON helper.
import { writeFileAtomic } from "../../lib/src/io";

export { writeFileAtomic };

/** Writes `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}
