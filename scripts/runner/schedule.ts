// Order of execution when several notebooks run at once: each notebook may list, in its metadata
// (`metadata.fmnist.after`), the notebooks whose artifacts it reads; "all" means every earlier one.
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
    else if (Array.isArray(meta) && meta.every((x) => typeof x === "string")) after = meta.filter((n) => names.includes(n));
    else if (meta !== undefined) throw new Error(`${file}: metadata.fmnist.after must be "all" or a list of notebook names, got ${JSON.stringify(meta)}.`);
    const later = after.find((n) => names.indexOf(n) >= i);
    if (later) throw new Error(`${file}: metadata.fmnist.after names ${later}, which does not come before it in the series.`);
    deps.set(names[i], after);
  });
  return deps;
}

/**
 * Runs `task` for each name with at most `jobs` at once, starting names in order as soon as their
 * dependencies have finished. After `task` resolves to false (a failure) no new name starts unless
 * `keepGoing`; names never started are returned as `skipped`.
 */
export async function runScheduled(
  names: string[],
  deps: Map<string, string[]>,
  jobs: number,
  keepGoing: boolean,
  task: (name: string, index: number) => Promise<boolean>,
): Promise<{ skipped: string[] }> {
  const done = new Set<string>();
  const started = new Set<string>();
  let stop = false;
  let running = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      if (!stop) {
        for (let i = 0; i < names.length && running < jobs; i++) {
          const name = names[i];
          if (started.has(name) || !(deps.get(name) ?? []).every((d) => done.has(d))) continue;
          started.add(name);
          running++;
          task(name, i).then(
            (ok) => {
              running--;
              done.add(name);
              if (!ok && !keepGoing) stop = true;
              pump();
            },
            (err: unknown) => {
              stop = true;
              reject(err);
            },
          );
        }
      }
      if (running === 0) resolve({ skipped: names.filter((n) => !started.has(n)) });
    };
    pump();
  });
}
