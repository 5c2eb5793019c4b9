// Running notebooks at once: dependencies from notebook metadata, the concurrency limit, and
// what happens after a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readDependencies, readExclusive, runScheduled } from "../scripts/runner/schedule";

function notebookWith(dir: string, name: string, after?: unknown, exclusive?: unknown): string {
  const file = path.join(dir, `${name}.ipynb`);
  const metadata = after === undefined && exclusive === undefined ? {} : { fmnist: { after, exclusive } };
  fs.writeFileSync(file, JSON.stringify({ cells: [], metadata, nbformat: 4, nbformat_minor: 5 }));
  return file;
}

test("dependencies: a list of earlier notebooks, \"all\", none; names outside the selection are ignored; bad values throw", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-sched-"));
  const files = [
    notebookWith(dir, "01-a"),
    notebookWith(dir, "02-b", ["01-a", "00-not-selected"]),
    notebookWith(dir, "03-c", "all"),
  ];
  const deps = readDependencies(files);
  assert.deepEqual(Object.fromEntries(deps), { "01-a": [], "02-b": ["01-a"], "03-c": ["01-a", "02-b"] });
  assert.throws(() => readDependencies([notebookWith(dir, "04-d", 7)]), /metadata\.fmnist\.after must be "all" or a list/);
  const later = [notebookWith(dir, "05-e", ["06-f"]), notebookWith(dir, "06-f")];
  assert.throws(() => readDependencies(later), /names 06-f, which does not come before it/);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A fake notebook run that records start/end order and how many ran at once. */
function recorder(durations: Record<string, number>, failing: string[] = []) {
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  const task = async (name: string): Promise<boolean> => {
    running++;
    peak = Math.max(peak, running);
    events.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, durations[name] ?? 5));
    events.push(`end ${name}`);
    running--;
    return !failing.includes(name);
  };
  return { task, events, peak: () => peak };
}

test("at most `jobs` run at once, in series order, and a notebook waits for its dependencies", async () => {
  const names = ["01", "02", "03", "04", "05"];
  const deps = new Map<string, string[]>([["01", []], ["02", []], ["03", ["01"]], ["04", []], ["05", names.slice(0, 4)]]);
  const r = recorder({ "01": 40, "02": 5, "03": 5, "04": 5, "05": 5 });
  const { skipped } = await runScheduled(names, deps, 2, false, r.task);
  assert.deepEqual(skipped, []);
  assert.equal(r.peak(), 2);
  const at = (e: string): number => r.events.indexOf(e);
  assert.ok(at("start 04") < at("start 03"), "04 does not wait for 01; 03 does");
  assert.ok(at("end 01") < at("start 03"));
  for (const n of names.slice(0, 4)) assert.ok(at(`end ${n}`) < at("start 05"), `05 waits for ${n}`);
  const serial = recorder({});
  await runScheduled(names, deps, 1, false, serial.task);
  assert.equal(serial.peak(), 1);
  assert.deepEqual(serial.events.filter((e) => e.startsWith("start")), names.map((n) => `start ${n}`));
});

test("after a failure nothing new starts (running ones finish) unless keep-going", async () => {
  const names = ["01", "02", "03", "04"];
  const deps = new Map(names.map((n) => [n, [] as string[]]));
  const stop = recorder({ "01": 5, "02": 30 }, ["01"]);
  const { skipped } = await runScheduled(names, deps, 2, false, stop.task);
  assert.deepEqual(skipped, ["03", "04"]);
  assert.ok(stop.events.includes("end 02"), "the notebook already running finishes");
  const go = recorder({}, ["01"]);
  assert.deepEqual((await runScheduled(names, deps, 2, true, go.task)).skipped, []);
});

test("an exclusive notebook runs alone: it waits for running ones, nothing starts beside it, later ones do not overtake it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-sched-"));
  const files = [notebookWith(dir, "01-a"), notebookWith(dir, "02-b", undefined, true), notebookWith(dir, "03-c", undefined, false)];
  assert.deepEqual([...readExclusive(files)], ["02-b"]);
  assert.throws(() => readExclusive([notebookWith(dir, "04-d", undefined, "yes")]), /metadata\.fmnist\.exclusive must be true or false/);
  fs.rmSync(dir, { recursive: true, force: true });

  const names = ["01", "02", "03", "04", "05"];
  const deps = new Map(names.map((n) => [n, [] as string[]]));
  const r = recorder({ "01": 30, "02": 5, "03": 30, "04": 5, "05": 5 });
  await runScheduled(names, deps, 2, false, r.task, new Set(["03"]));
  const at = (e: string): number => r.events.indexOf(e);
  assert.ok(at("end 01") < at("start 03") && at("end 02") < at("start 03"), "03 waits until nothing runs");
  assert.ok(at("end 03") < at("start 04") && at("end 03") < at("start 05"), "nothing starts beside 03, and 04/05 do not overtake it");
  assert.equal(r.peak(), 2, "the others still run two at a time");
});
