// Order of execution when several notebooks run at once: each notebook may list, in its metadata
// (`metadata.fmnist.after`), the notebooks whose artifacts it reads; "all" means every earlier one.
// A notebook with `metadata.fmnist.exclusive: true` (a timed training budget) runs alone, with
// every core.
import * as path from "node:path";
import { readNotebook } from "./nbformat";

/** For each notebook name, the names (within `files`) it must wait for. */
export function readDependencies(files: string[]): Map<string, string[]> {
  const names = files.map((f) => path.basename(f, ".ipynb"));
  const deps = new Map<string, string[]>();
  files.forEach((file, i) => {
    const meta = (readNotebook(file).metadata as { fmnist?: { after?: unknown } } | undefined)?.fmnist?.after;
    let after: string[] = [];
    if (meta === "all") after = names.slice(0, i);
    // "NAME/PART" (one part of a split notebook, see shard.ts) waits for the whole notebook in an unsharded run.
    else if (Array.isArray(meta) && meta.every((x) => typeof x === "string")) after = [...new Set(meta.map((n) => n.split("/")[0]))].filter((n) => names.includes(n));
    else if (meta !== undefined) throw new Error(`${file}: metadata.fmnist.after must be "all" or a list of notebook names, got ${JSON.stringify(meta)}.`);
    const later = after.find((n) => names.indexOf(n) >= i);
    if (later) throw new Error(`${file}: metadata.fmnist.after names ${later}, which does not come before it in the series.`);
    deps.set(names[i], after);
  });
  return deps;
}

/** Names of the notebooks (within `files`) that must run alone (`metadata.fmnist.exclusive: true`). */
export function readExclusive(files: string[]): Set<string> {
  const out = new Set<string>();
  for (const file of files) {
    const value = (readNotebook(file).metadata as { fmnist?: { exclusive?: unknown } } | undefined)?.fmnist?.exclusive;
    if (value === true) out.add(path.basename(file, ".ipynb"));
    else if (value !== undefined && value !== false) throw new Error(`${file}: metadata.fmnist.exclusive must be true or false, got ${JSON.stringify(value)}.`);
  }
  return out;
}

/**
 * Runs `task` for each name with at most `jobs` at once, starting names in order as soon as their
 * dependencies have finished. A name in `exclusive` starts only when nothing runs, nothing starts
 * beside it, and once it is ready no later name overtakes it. After `task` resolves to false (a
 * failure) no new name starts unless `keepGoing`; names never started are returned as `skipped`.
 */
export async function runScheduled(
  names: string[],
  deps: Map<string, string[]>,
  jobs: number,
  keepGoing: boolean,
  task: (name: string, index: number) => Promise<boolean>,
  exclusive: Set<string> = new Set(),
): Promise<{ skipped: string[] }> {
  const done = new Set<string>();
  const started = new Set<string>();
  let stop = false;
  let running = 0;
  let alone = false;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      if (!stop && !alone) {
        for (let i = 0; i < names.length && running < jobs; i++) {
          const name = names[i];
          if (started.has(name) || !(deps.get(name) ?? []).every((d) => done.has(d))) continue;
          if (exclusive.has(name)) {
            if (running > 0) break;
            alone = true;
          }
          started.add(name);
          running++;
          task(name, i).then(
            (ok) => {
              running--;
              if (exclusive.has(name)) alone = false;
              done.add(name);
              if (!ok && !keepGoing) stop = true;
              pump();
            },
            (err: unknown) => {
              stop = true;
              reject(err);
            },
          );
          if (alone) break;
        }
      }
      if (running === 0) resolve({ skipped: names.filter((n) => !started.has(n)) });
    };
    pump();
  });
}
