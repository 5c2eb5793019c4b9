// Issue 14.4: executed notebooks and source notebooks are valid against the official nbformat 4.5 JSON schema
// (vendored in test/fixtures/nbformat, see its README), every cell has an id, and the strip script adds missing ids.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv04 from "ajv-draft-04";
import type { ValidateFunction } from "ajv";
import { CELL_ID_PATTERN, type Notebook } from "../scripts/runner/nbformat";
import { main as strip } from "../scripts/strip-notebooks";

const REPO = path.resolve(__dirname, "..");
const SCHEMA_FILE = path.join(REPO, "test", "fixtures", "nbformat", "nbformat.v4.5.schema.json");
const RUNNER = path.join(REPO, "scripts", "run-notebooks.ts");
const OLD_FIXTURES = path.join(REPO, "test", "fixtures", "notebooks");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-nbformat-"));
let validate: ValidateFunction;

before(() => {
  // strict: false — the official schema has keywords ajv's strict mode rejects (e.g. "source_hidden" beside
  // "properties"); they carry no constraint in draft-04 either.
  const ajv = new Ajv04({ strict: false, allErrors: true });
  validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as object);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Schema errors of a notebook file, one line each ("" when valid), plus the project's id rule (unique ids). */
function schemaErrors(nb: unknown): string {
  const lines: string[] = [];
  if (!validate(nb)) lines.push(...(validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`));
  const cells = (nb as Notebook).cells ?? [];
  const ids = cells.map((c) => c.id);
  if (new Set(ids).size !== ids.length) lines.push("cell ids are not unique");
  return lines.slice(0, 20).join("\n");
}

function notebooksIn(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f));
}

function readJson(file: string): Notebook {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
}

function runRunner(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, ...args], {
      cwd: REPO,
      env: { ...process.env, FMNIST_PROFILE: "", FMNIST_ARTIFACTS_DIR: "", TMPDIR: tmp },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

test("the vendored schema rejects what the runner used to write (numbers in metadata.execution, no cell ids)", () => {
  const nb = readJson(path.join(OLD_FIXTURES, "ok.ipynb"));
  assert.equal(schemaErrors(nb), "", "the fixture itself is valid");
  const code = nb.cells.find((c) => c.cell_type === "code");
  assert.ok(code);
  code.metadata.execution = { "iopub.status.idle": "2026-01-01T00:00:00.000Z", duration_sec: 5.215 };
  assert.match(schemaErrors(nb), /metadata\/execution\/duration_sec must be string/);
  const noIds = readJson(path.join(OLD_FIXTURES, "ok.ipynb"));
  for (const c of noIds.cells) delete c.id;
  assert.match(schemaErrors(noIds), /must have required property 'id'/);
});

test("notebooks executed by the runner (passing, failing, dying kernel, source without ids) are valid nbformat 4.5", async () => {
  const src = path.join(tmp, "src");
  fs.mkdirSync(src);
  for (const f of ["ok", "throws", "kernel-dies"]) fs.copyFileSync(path.join(OLD_FIXTURES, `${f}.ipynb`), path.join(src, `${f}.ipynb`));
  // As saved by an nbformat 4.4 tool: no ids. The runner must add them (and say 4.5).
  const old = readJson(path.join(OLD_FIXTURES, "ok.ipynb"));
  for (const c of old.cells) delete c.id;
  old.nbformat_minor = 4;
  fs.writeFileSync(path.join(src, "ok-without-ids.ipynb"), JSON.stringify(old, null, 1));

  const out = path.join(tmp, "executed");
  const r = await runRunner(["--notebooks-dir", src, "--output", out, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art")}`, "--keep-going"]);
  assert.equal(r.code, 1, `throws and kernel-dies fail:\n${r.stderr}`);
  const executed = notebooksIn(out);
  assert.deepEqual(executed.map((f) => path.basename(f)), ["kernel-dies.ipynb", "ok-without-ids.ipynb", "ok.ipynb", "throws.ipynb"]);
  for (const file of executed) {
    const nb = readJson(file);
    assert.equal(schemaErrors(nb), "", `${path.basename(file)} is invalid nbformat 4.5`);
    assert.ok(nb.cells.every((c) => typeof c.id === "string" && CELL_ID_PATTERN.test(c.id)), `${path.basename(file)}: every cell has an id`);
  }
  // Timings moved to the project's key: numbers allowed there; metadata.execution keeps only string timestamps.
  const ok = readJson(path.join(out, "ok.ipynb")).cells.filter((c) => c.cell_type === "code");
  for (const c of ok) {
    const timing = (c.metadata.fmnist as { timing?: { started: string; finished: string; duration_sec: number } }).timing;
    assert.ok(timing && typeof timing.duration_sec === "number" && Date.parse(timing.started) <= Date.parse(timing.finished), JSON.stringify(c.metadata));
    assert.ok(Object.values(c.metadata.execution as object).every((v) => typeof v === "string"));
  }
  const added = readJson(path.join(out, "ok-without-ids.ipynb"));
  assert.equal(added.nbformat_minor, 5);
  assert.deepEqual(readJson(path.join(src, "ok-without-ids.ipynb")).cells.map((c) => c.id), [undefined, undefined, undefined, undefined], "the source is not modified");
});

// One test per notebook: a notebook without cell ids fails by name (10 and 11 until their ids are added).
for (const dir of ["notebooks", "test/fixtures/notebooks", "test/fixtures/runner-hardening"]) {
  for (const file of notebooksIn(path.join(REPO, dir))) {
    test(`source notebook ${path.join(dir, path.basename(file))} is valid nbformat 4.5 with cell ids`, () => {
      const errors = schemaErrors(readJson(file));
      assert.equal(errors, "", `${errors}\n(missing cell ids: \`npm run strip\` adds them)`);
    });
  }
}

test("strip adds missing ids (valid, unique, stable), reports them under --check, and keeps existing ones", () => {
  const file = path.join(tmp, "strip-ids.ipynb");
  const nb = readJson(path.join(OLD_FIXTURES, "ok.ipynb"));
  nb.cells[0].id = "keep-me";
  for (const c of nb.cells.slice(1)) delete c.id;
  nb.cells.push({ ...nb.cells[1], id: "keep-me" }); // a duplicate id is replaced too
  nb.nbformat_minor = 4;
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));

  const messages: string[] = [];
  const collect = (s: string) => messages.push(s);
  assert.equal(strip(["--check", file], collect, collect), 1);
  assert.match(messages.join("\n"), /4 cell\(s\) without a valid unique id/);
  assert.equal(strip([file], collect, collect), 0);
  const once = fs.readFileSync(file, "utf8");
  const stripped = JSON.parse(once) as Notebook;
  assert.equal(stripped.cells[0].id, "keep-me");
  assert.equal(stripped.nbformat_minor, 5);
  assert.equal(schemaErrors(stripped), "");
  assert.equal(strip([file], collect, collect), 0);
  assert.equal(fs.readFileSync(file, "utf8"), once, "a second strip changes nothing");
  assert.equal(strip(["--check", file], collect, collect), 0);
});

test("strip removes the runner's metadata.fmnist.timing and keeps other project cell metadata", () => {
  const file = path.join(tmp, "strip-timing.ipynb");
  const nb = readJson(path.join(OLD_FIXTURES, "ok.ipynb"));
  const [a, b] = nb.cells.filter((c) => c.cell_type === "code");
  a.metadata.fmnist = { timing: { started: "x", finished: "y", duration_sec: 1 } };
  b.metadata.fmnist = { timing: { started: "x", finished: "y", duration_sec: 1 }, note: "kept" };
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
  const messages: string[] = [];
  assert.equal(strip(["--check", file], (s) => messages.push(s), (s) => messages.push(s)), 1);
  assert.match(messages.join("\n"), /fmnist\.timing/);
  strip([file], () => {}, () => {});
  const [a2, b2] = readJson(file).cells.filter((c) => c.cell_type === "code");
  assert.equal("fmnist" in a2.metadata, false);
  assert.deepEqual(b2.metadata.fmnist, { note: "kept" });
});
