// The public API stays explicit and small: lib/src/index.ts names every export (no `export *`), the names
// match the recorded list test/fixtures/public-api.txt, the notebooks and the README use only public
// names, and the kernel internals are reachable from lib/src/internal.ts only.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const SRC = path.join(ROOT, "lib", "src");
const RECORDED = path.join(ROOT, "test", "fixtures", "public-api.txt");

/** The names a module exports, as the compiler sees them (values and types alike). */
function exportedNames(files: string[]): Map<string, string[]> {
  const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, types: ["node"], noEmit: true });
  const checker = program.getTypeChecker();
  return new Map(files.map((f) => {
    const sf = program.getSourceFile(f);
    assert.ok(sf, `read ${f}`);
    const sym = checker.getSymbolAtLocation(sf);
    assert.ok(sym, `${f} is a module`);
    return [f, checker.getExportsOfModule(sym).map((s) => s.name).sort()];
  }));
}

const names = exportedNames([path.join(SRC, "index.ts"), path.join(SRC, "internal.ts")]);
const publicNames = names.get(path.join(SRC, "index.ts")) ?? [];
const internalNames = names.get(path.join(SRC, "internal.ts")) ?? [];

test("index.ts names every export: no `export *`", () => {
  const text = fs.readFileSync(path.join(SRC, "index.ts"), "utf8");
  assert.deepEqual(text.split("\n").filter((l) => /^\s*export\s+(type\s+)?\*/.test(l)), []);
});

test("the public names are the recorded list (test/fixtures/public-api.txt)", () => {
  const recorded = fs.readFileSync(RECORDED, "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
  const added = publicNames.filter((n) => !recorded.includes(n));
  const removed = recorded.filter((n) => !publicNames.includes(n));
  assert.deepEqual(
    { added, removed },
    { added: [], removed: [] },
    "lib/src/index.ts exports other names than test/fixtures/public-api.txt records. If the change is meant (a name users need, or one " +
      "that no longer is), add or remove it in test/fixtures/public-api.txt (one name per line, sorted); helpers only tests or the " +
      "bench need go in lib/src/internal.ts instead.",
  );
  assert.ok(publicNames.length >= 100 && publicNames.length <= 260, `public API size ${publicNames.length}`);
});

test("notebooks and the README use only public names", () => {
  const files = [
    ...fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb")).map((f) => path.join(ROOT, "notebooks", f)),
    path.join(ROOT, "README.md"),
  ];
  const used = new Set(files.flatMap((f) => [...fs.readFileSync(f, "utf8").matchAll(/\bfm\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1])));
  assert.ok(used.size > 20, `found ${used.size} fm.* names`);
  assert.deepEqual([...used].filter((n) => !publicNames.includes(n)).sort(), []);
});

test("kernel internals are in fmnist/internal, not in the public API", () => {
  for (const n of ["ADAM_STEP", "BATCH_NORM_GRAD_SUMS", "channelGradSums", "registerWasmTrainingKernels", "queueSocketSends", "writeFileAtomic"]) {
    assert.ok(!publicNames.includes(n), `${n} is not public`);
    assert.ok(internalNames.includes(n), `${n} is in internal.ts`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "lib", "package.json"), "utf8")) as { exports: Record<string, { default: string } | string> };
  assert.deepEqual(pkg.exports["./internal"], { types: "./dist/internal.d.ts", default: "./dist/internal.js" });
});
