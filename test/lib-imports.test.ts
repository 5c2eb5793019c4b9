// The library's module graph: no import cycle (type-only imports included), and nothing imported from
// scripts/ or test/ — the layering ARCHITECTURE.md describes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const SRC = path.resolve(__dirname, "..", "lib", "src");

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith(".")).map((s) => {
    const base = path.resolve(path.dirname(file), s);
    return [base + ".ts", path.join(base, "index.ts")].find((c) => fs.existsSync(c)) ?? base;
  });
}

test("lib/src has no import cycle and imports nothing from scripts/ or test/", () => {
  const files = tsFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const outside = [...graph].flatMap(([f, deps]) => deps.filter((d) => !d.startsWith(SRC + path.sep)).map((d) => `${path.relative(SRC, f)} → ${path.relative(SRC, d)}`));
  assert.deepEqual(outside, []);
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    state.set(f, "open");
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === "open") cycles.push([...stack.slice(stack.indexOf(d)), f, d].map((x) => path.relative(SRC, x)).join(" → "));
      else if (!state.has(d)) visit(d, [...stack, f]);
    }
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f, []);
  assert.deepEqual(cycles, [], "import cycles");
  assert.ok(files.length > 30, `read ${files.length} modules`);
});
