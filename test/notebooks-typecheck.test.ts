// Tests of the notebook type-check: errors located by notebook, cell and line; tslab-isms tolerated
// (re-declared names across cells, top-level await); tslab's shorthand-property hazard reported.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { typecheckNotebooks, topLevelNames } from "../scripts/typecheck-notebooks";

const REPO = path.resolve(__dirname, "..");
let dir = "";

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-typecheck-"));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a notebook whose cells are given as [type, source] pairs. */
function notebook(name: string, cells: Array<["code" | "markdown", string]>): string {
  const file = path.join(dir, `${name}.ipynb`);
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "fmnist-tslab", display_name: "TypeScript (fmnist)", language: "typescript" } },
    cells: cells.map(([cell_type, source]) => ({ cell_type, metadata: {}, source, ...(cell_type === "code" ? { outputs: [], execution_count: null } : {}) })),
  };
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

test("the runner's fixture notebooks type-check", () => {
  const fixtures = path.join(REPO, "test", "fixtures", "notebooks");
  const files = fs.readdirSync(fixtures).map((f) => path.join(fixtures, f));
  assert.deepEqual(typecheckNotebooks(files), []);
});

test("a type error is reported with its notebook, cell number and line within the cell", () => {
  const file = notebook("bad", [
    ["markdown", "# title"],
    ["code", "const a: number = 1;"],
    ["markdown", "text"],
    ["code", "const ok = a + 1;\nconst s: string = ok;\n"],
  ]);
  const diags = typecheckNotebooks([file]);
  assert.equal(diags.length, 1, JSON.stringify(diags));
  assert.deepEqual({ ...diags[0], message: undefined }, {
    notebook: file,
    cell: 4,
    codeCell: 2,
    line: 2,
    column: 7,
    code: "TS2322",
    message: undefined,
  });
  assert.match(diags[0].message, /not assignable to type 'string'/);
});

test("re-declaring names in later cells and top-level await are accepted, as in tslab", () => {
  const file = notebook("redeclare", [
    ["code", 'import * as fs from "fs";\nconst x = 1;\nfunction f() { return 1; }'],
    ["code", 'import * as fs from "fs";\nconst x = 2;\nfunction f() { return 2; }\nawait new Promise((r) => setTimeout(r, 1));\nfs.existsSync("/")'],
    ["code", "x + f()"],
  ]);
  assert.deepEqual(typecheckNotebooks([file]), []);
});

test("a duplicate within one cell is still an error; cells cannot merge through a missing semicolon", () => {
  const dup = notebook("dup", [["code", "const y = 1;\nconst y = 2;"]]);
  assert.ok(typecheckNotebooks([dup]).some((d) => d.code === "TS2451" && d.cell === 1));
  const asi = notebook("asi", [
    ["code", "const fnc = (n: number) => n\nfnc"],
    ["code", "(1 + 2).toFixed(1)"],
  ]);
  assert.deepEqual(typecheckNotebooks([asi]), []);
});

test("a shorthand property naming an earlier cell's variable is reported (tslab ReferenceError)", () => {
  const file = notebook("shorthand", [
    ["code", "const profile = 'quick';"],
    ["code", "const ok = { profile: profile };\nconst bad = { profile };"],
    ["code", "function g(profile: string) { return { profile }; }"],
  ]);
  const diags = typecheckNotebooks([file]);
  assert.equal(diags.length, 1, JSON.stringify(diags));
  assert.equal(diags[0].code, "FMNIST001");
  assert.equal(diags[0].cell, 2);
  assert.equal(diags[0].line, 2);
});

test("topLevelNames sees variables, destructuring, functions, classes and imports", () => {
  const names = topLevelNames('import a, { b as c } from "m";\nimport * as d from "n";\nconst { e, f: [g] } = h;\nfunction i() {}\nclass J {}\nlet k = 1;');
  assert.deepEqual([...names].sort(), ["J", "a", "c", "d", "e", "g", "i", "k"]);
});
