// The repository stands alone: nothing in the code, notebooks, README or docs points at files outside
// it (the write-ups' facts live in docs/writeups.md and lib/src/writeups.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const SCANNED = ["lib/src", "scripts", "notebooks", "docs", "README.md"];
// The names of the steering material this project was built from (outside the repository), and the folder it
// sits in; assembled from parts so that this test does not itself cite them.
const FORBIDDEN = [["PLATFORM", "md"].join("."), ["REFERENCE", "md"].join("."), ["shared", "seeds"].join("/"), `/${"work"}/`];

function files(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (!fs.existsSync(abs)) return [];
  if (fs.statSync(abs).isFile()) return [rel];
  return fs
    .readdirSync(abs, { withFileTypes: true })
    .filter((e) => !e.name.startsWith(".") && e.name !== "node_modules")
    .flatMap((e) => (e.isDirectory() ? files(path.join(rel, e.name)) : [path.join(rel, e.name)]))
    .sort();
}

test("no file in lib/src, scripts, notebooks, docs or README.md refers to files outside the repository", () => {
  const scanned = SCANNED.flatMap(files);
  assert.ok(scanned.length > 50, `expected to scan the project's files, found ${scanned.length}`);
  const hits: string[] = [];
  for (const rel of scanned) {
    fs.readFileSync(path.join(ROOT, rel), "utf8")
      .split("\n")
      .forEach((line, i) => {
        for (const bad of FORBIDDEN) if (line.includes(bad)) hits.push(`${rel}:${i + 1}: "${bad}" in ${line.trim().slice(0, 160)}`);
      });
  }
  assert.deepEqual(hits, [], `references to files outside the repository:\n${hits.join("\n")}`);
});

test("docs/writeups.md, which the code cites for the write-ups, is in the repository", () => {
  assert.ok(fs.existsSync(path.join(ROOT, "docs", "writeups.md")));
});
