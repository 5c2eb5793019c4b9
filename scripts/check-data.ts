/**
 * Acceptance check for the data layer: loads both parts through lib (verifying checksums)
 * and prints image counts and per-class counts. Exits non-zero with the error on failure.
 */
import { CLASS_NAMES, classCounts, loadFashionMnist, resolveDataDir } from "../lib/src/index";

try {
  const dataDir = resolveDataDir();
  console.log(`data folder: ${dataDir}`);
  for (const part of ["train", "test"] as const) {
    const t0 = performance.now();
    const set = loadFashionMnist(part);
    const ms = performance.now() - t0;
    const counts = classCounts(set.labels);
    console.log(`${part}: ${set.count} images of ${set.rows}×${set.cols} (loaded and verified in ${ms.toFixed(0)} ms)`);
    console.log(`  per class: ${counts.map((c, i) => `${CLASS_NAMES[i]} ${c}`).join(", ")}`);
  }
} catch (err) {
  console.error(`check-data: ${(err as Error).message}`);
  process.exit(1);
}
