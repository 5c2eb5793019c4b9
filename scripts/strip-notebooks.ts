// Keeps committed notebooks clean (nbdev-style): removes outputs, execution counts and volatile metadata
// from notebooks/*.ipynb in place and sets the project's kernelspec; `--check` only lists dirty notebooks.
// Usage: npx tsx scripts/strip-notebooks.ts [--check] [file.ipynb ...]
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./runner/atomic";
import { parseNotebook, serializeNotebook } from "./runner/nbformat";
import { dirtyReasons, stripNotebook } from "./runner/strip";

const REPO_ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: tsx scripts/strip-notebooks.ts [--check] [file.ipynb ...]   (default: notebooks/*.ipynb)";

/**
 * Strips (or with `--check` only inspects) the given notebooks, default notebooks/*.ipynb.
 * @returns exit code: 0 clean/stripped, 1 dirty or unreadable notebooks under --check, 2 usage error
 */
export function main(argv: string[], log: (s: string) => void = console.log, warn: (s: string) => void = console.error): number {
  const check = argv.includes("--check");
  const unknown = argv.filter((a) => a.startsWith("-") && a !== "--check");
  if (unknown.length > 0) {
    warn(`unknown option ${unknown[0]}; ${USAGE}`);
    return 2;
  }
  let files = argv.filter((a) => !a.startsWith("-")).map((f) => path.resolve(f));
  if (files.length === 0) {
    const dir = path.join(REPO_ROOT, "notebooks");
    files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f)) : [];
  }
  let bad = 0;
  for (const file of files) {
    const rel = path.relative(process.cwd(), file) || file;
    const text = fs.readFileSync(file, "utf8");
    let reasons: string[];
    let clean: string;
    try {
      const nb = parseNotebook(text, rel);
      reasons = dirtyReasons(nb);
      clean = serializeNotebook(stripNotebook(nb));
    } catch (err) {
      warn((err as Error).message);
      bad++;
      continue;
    }
    if (check) {
      if (reasons.length > 0) {
        bad++;
        warn(`dirty: ${rel} (${reasons.join("; ")})`);
      }
    } else if (clean !== text) {
      writeFileAtomic(file, clean);
      log(`stripped: ${rel}${reasons.length ? ` (${reasons.join("; ")})` : " (formatting only)"}`);
    }
  }
  if (check && bad > 0) {
    warn(`${bad} notebook(s) need \`npm run strip\` before committing.`);
    return 1;
  }
  if (check) log(`${files.length} notebook(s) clean.`);
  return bad > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
