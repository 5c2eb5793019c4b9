// Notebook hygiene: every notebook in notebooks/ (and every runner fixture) is valid nbformat 4 with the
// project's kernelspec and is committed without outputs or execution counts; the strip script finds and fixes dirt.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseNotebook, type Notebook } from "../scripts/runner/nbformat";
import { main as strip } from "../scripts/strip-notebooks";

const REPO = path.resolve(__dirname, "..");

function notebooksIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f)) : [];
}

function assertClean(file: string): void {
  const name = path.relative(REPO, file);
  const nb = parseNotebook(fs.readFileSync(file, "utf8"), name);
  assert.equal(nb.nbformat, 4, `${name}: nbformat 4`);
  const ks = nb.metadata.kernelspec as Record<string, unknown> | undefined;
  assert.equal(ks?.name, "fmnist-tslab", `${name}: kernelspec fmnist-tslab`);
  assert.equal(ks?.language, "typescript", `${name}: kernelspec language`);
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    assert.deepEqual(c.outputs ?? [], [], `${name}: cell ${i + 1} has outputs; run \`npm run strip\``);
    assert.equal(c.execution_count ?? null, null, `${name}: cell ${i + 1} has an execution count; run \`npm run strip\``);
  });
  assert.equal("fmnist_run" in nb.metadata, false, `${name}: runner metadata left in; run \`npm run strip\``);
}

test("every notebook in notebooks/ is clean nbformat 4 with the project kernelspec", (t) => {
  const files = notebooksIn(path.join(REPO, "notebooks"));
  if (files.length === 0) t.skip("no notebooks yet");
  files.forEach(assertClean);
});

test("the runner's fixture notebooks are clean too", () => {
  const files = notebooksIn(path.join(REPO, "test", "fixtures", "notebooks"));
  assert.ok(files.length >= 4);
  files.forEach(assertClean);
});

test("strip --check detects outputs; strip removes them and is idempotent", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-strip-"));
  try {
    const file = path.join(dir, "dirty.ipynb");
    const nb = JSON.parse(fs.readFileSync(path.join(REPO, "test", "fixtures", "notebooks", "ok.ipynb"), "utf8")) as Notebook;
    const code = nb.cells.filter((c) => c.cell_type === "code");
    code[0].outputs = [{ output_type: "stream", name: "stdout", text: ["hi\n"] }];
    code[0].execution_count = 1;
    code[0].metadata.execution = { started: "2026-01-01T00:00:00Z" };
    nb.metadata.fmnist_run = { status: "ok" };
    fs.writeFileSync(file, JSON.stringify(nb, null, 2));

    const messages: string[] = [];
    const collect = (s: string) => messages.push(s);
    assert.equal(strip(["--check", file], collect, collect), 1);
    const report = messages.join("\n");
    assert.match(report, /dirty: .*dirty\.ipynb/);
    assert.match(report, /1 cell\(s\) with outputs/);
    assert.match(report, /1 execution count/);
    assert.match(report, /fmnist_run/);

    assert.equal(strip([file], collect, collect), 0);
    assertClean(file);
    const once = fs.readFileSync(file, "utf8");
    const cleaned = JSON.parse(once) as Notebook;
    assert.equal(cleaned.cells.length, nb.cells.length, "no cell lost");
    assert.equal(cleaned.cells.filter((c) => c.cell_type === "code")[0].metadata.execution, undefined);
    assert.equal(strip([file], collect, collect), 0);
    assert.equal(fs.readFileSync(file, "utf8"), once, "second strip changes nothing");
    assert.equal(strip(["--check", file], collect, collect), 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
