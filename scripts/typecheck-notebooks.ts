// Type-checks notebooks/*.ipynb without a kernel: each notebook's code cells become one virtual TypeScript
// module compiled with the TypeScript API against node_modules; errors are reported as notebook, cell, line.
// Usage: npx tsx scripts/typecheck-notebooks.ts [--loose] [file.ipynb ...]
//
// Limits (tslab semantics the concatenation cannot reproduce exactly):
// - tslab lets a later cell re-declare a top-level name (const, function, import). Such duplicates across cells
//   are not reported; later uses are checked against the first declaration's type.
// - Re-running cells out of order, or state built up interactively, is not modelled: cells are checked in
//   file order, once.
// - The check is strict TypeScript (the project's standard) with TypeScript 5.9; tslab itself compiles cells
//   non-strict with its bundled TypeScript 5.0. `--loose` turns strict off to mirror tslab.
// - tslab fails at run time on a shorthand property (`{ cfg }`) naming a variable from an earlier cell
//   ("ReferenceError: cfg is not defined"); this check reports those as FMNIST001.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { readNotebook, sourceText } from "./runner/nbformat";

const REPO_ROOT = path.resolve(__dirname, "..");

/** One type error, located in the notebook. */
export interface NotebookDiagnostic {
  notebook: string;
  /** 1-based among all cells (Jupyter's numbering). */
  cell: number;
  /** 1-based among code cells. */
  codeCell: number;
  /** 1-based line and column within the cell. */
  line: number;
  column: number;
  /** "TS2322", or "FMNIST001" for the tslab shorthand-property hazard. */
  code: string;
  message: string;
}

interface CellSpan {
  cell: number;
  codeCell: number;
  /** 0-based first line of the cell in the virtual module. */
  startLine: number;
  lineCount: number;
  text: string;
}

interface VirtualNotebook {
  notebook: string;
  virtualPath: string;
  text: string;
  spans: CellSpan[];
}

/** Redeclaration diagnostics that tslab semantics allow across cells. */
const REDECLARATION_CODES = new Set([2451, 2300, 2393, 2403, 2440]);

/**
 * Builds the virtual module for a notebook: code cells in order, each followed by ";" on its own line (so a
 * cell ending in an expression cannot merge with the next cell's first line), and `export {}` to make the file
 * a module (top-level await needs one).
 */
export function buildVirtualModule(file: string): VirtualNotebook {
  const nb = readNotebook(file);
  const spans: CellSpan[] = [];
  const parts: string[] = [];
  let line = 0;
  let codeCell = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    codeCell++;
    // tslab-only directives like "//%browser" are comments; nothing to strip.
    const text = sourceText(c.source).replace(/\r\n/g, "\n");
    const lineCount = text.split("\n").length;
    spans.push({ cell: i + 1, codeCell, startLine: line, lineCount, text });
    parts.push(text, "\n;\n");
    line += lineCount + 1;
  });
  parts.push("export {};\n");
  const abs = path.resolve(file);
  return { notebook: file, virtualPath: abs.replace(/\.ipynb$/, ".ipynb.ts"), text: parts.join(""), spans };
}

/** Top-level names a cell declares (variables incl. destructuring, functions, classes, enums, imports). */
export function topLevelNames(cellText: string): Set<string> {
  const sf = ts.createSourceFile("cell.ts", cellText, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  const addBinding = (n: ts.BindingName) => {
    if (ts.isIdentifier(n)) names.add(n.text);
    else for (const el of n.elements) if (!ts.isOmittedExpression(el)) addBinding(el.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => addBinding(d.name));
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) names.add(st.name.text);
    else if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) names.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const ic = st.importClause;
      if (ic.name) names.add(ic.name.text);
      const nb = ic.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) names.add(nb.name.text);
      if (nb && ts.isNamedImports(nb)) nb.elements.forEach((e) => names.add(e.name.text));
    } else if (ts.isImportEqualsDeclaration(st)) names.add(st.name.text);
  }
  return names;
}

/** Every identifier a cell declares anywhere (any scope), to rule out shadowing in the shorthand check. */
function allDeclaredNames(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (n: ts.Node): void => {
    if ((ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n)) && ts.isIdentifier(n.name)) names.add(n.name.text);
    if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isFunctionExpression(n)) && n.name) names.add(n.name.text);
    if (ts.isImportClause(n) && n.name) names.add(n.name.text);
    if (ts.isNamespaceImport(n) || ts.isImportSpecifier(n)) names.add(n.name.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return names;
}

/**
 * Finds shorthand properties (`{ cfg }`) naming a top-level variable of an earlier cell that the cell itself does
 * not declare: tslab 1.0.22 throws "ReferenceError: cfg is not defined" on them at run time.
 */
export function shorthandHazards(vn: VirtualNotebook): NotebookDiagnostic[] {
  const out: NotebookDiagnostic[] = [];
  const earlier = new Set<string>();
  for (const span of vn.spans) {
    const sf = ts.createSourceFile("cell.ts", span.text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const own = allDeclaredNames(sf);
    const visit = (n: ts.Node): void => {
      if (ts.isShorthandPropertyAssignment(n) && earlier.has(n.name.text) && !own.has(n.name.text)) {
        const { line, character } = sf.getLineAndCharacterOfPosition(n.name.getStart(sf));
        out.push({
          notebook: vn.notebook,
          cell: span.cell,
          codeCell: span.codeCell,
          line: line + 1,
          column: character + 1,
          code: "FMNIST001",
          message: `shorthand property '${n.name.text}' names a variable from an earlier cell; tslab fails on it at run time (ReferenceError). Write '${n.name.text}: ${n.name.text}'.`,
        });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    topLevelNames(span.text).forEach((x) => earlier.add(x));
  }
  return out;
}

/** Compiler options mirroring tslab's (ESNext modules, Node10 resolution, ES2022, esModuleInterop), strict unless `loose`. */
export function compilerOptions(loose = false): ts.CompilerOptions {
  return {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    strict: !loose,
    noEmit: true,
  };
}

/**
 * Type-checks notebooks in one TypeScript program (one lib parse for all).
 * @returns diagnostics mapped back to notebook cells, in notebook order
 */
export function typecheckNotebooks(files: string[], opts: { loose?: boolean } = {}): NotebookDiagnostic[] {
  const virtuals = files.map(buildVirtualModule);
  const byPath = new Map(virtuals.map((v) => [v.virtualPath, v]));
  const options = compilerOptions(opts.loose);
  const host = ts.createCompilerHost(options, true);
  const baseGetSourceFile = host.getSourceFile.bind(host);
  const baseFileExists = host.fileExists.bind(host);
  const baseReadFile = host.readFile.bind(host);
  host.fileExists = (f) => byPath.has(path.resolve(f)) || baseFileExists(f);
  host.readFile = (f) => byPath.get(path.resolve(f))?.text ?? baseReadFile(f);
  host.getSourceFile = (f, lang, onError, create) => {
    const v = byPath.get(path.resolve(f));
    return v ? ts.createSourceFile(f, v.text, lang, true, ts.ScriptKind.TS) : baseGetSourceFile(f, lang, onError, create);
  };
  const program = ts.createProgram({ rootNames: virtuals.map((v) => v.virtualPath), options, host });

  const result: NotebookDiagnostic[] = [];
  for (const v of virtuals) {
    const sf = program.getSourceFile(v.virtualPath);
    if (!sf) throw new Error(`internal: no source file for ${v.notebook}`);
    const declaredIn = new Map<string, number>();
    for (const s of v.spans) for (const name of topLevelNames(s.text)) declaredIn.set(name, (declaredIn.get(name) ?? 0) + 1);
    const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    for (const d of diags) {
      if (d.start === undefined) continue;
      if (REDECLARATION_CODES.has(d.code)) {
        const name = sf.text.slice(d.start, d.start + (d.length ?? 0));
        if ((declaredIn.get(name) ?? 0) > 1) continue;
      }
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start);
      const span = v.spans.find((s) => line >= s.startLine && line < s.startLine + s.lineCount);
      if (!span) continue; // the separators and the trailing export cannot fail on their own
      result.push({
        notebook: v.notebook,
        cell: span.cell,
        codeCell: span.codeCell,
        line: line - span.startLine + 1,
        column: character + 1,
        code: `TS${d.code}`,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      });
    }
    result.push(...shorthandHazards(v));
  }
  return result.sort((a, b) => a.notebook.localeCompare(b.notebook) || a.cell - b.cell || a.line - b.line || a.column - b.column);
}

/** "notebooks/03-cnn.ipynb: cell 5 (code cell 3), line 2:7 TS2322 Type …" */
export function formatDiagnostic(d: NotebookDiagnostic): string {
  return `${path.relative(process.cwd(), d.notebook) || d.notebook}: cell ${d.cell} (code cell ${d.codeCell}), line ${d.line}:${d.column} ${d.code} ${d.message}`;
}

function main(argv: string[]): number {
  const loose = argv.includes("--loose");
  const unknown = argv.filter((a) => a.startsWith("-") && a !== "--loose");
  if (unknown.length) {
    console.error(`unknown option ${unknown[0]}; usage: tsx scripts/typecheck-notebooks.ts [--loose] [file.ipynb ...]`);
    return 2;
  }
  let files = argv.filter((a) => !a.startsWith("-"));
  if (files.length === 0) {
    const dir = path.join(REPO_ROOT, "notebooks");
    files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f)) : [];
  }
  if (files.length === 0) {
    console.log("no notebooks to type-check.");
    return 0;
  }
  const usesLib = files.some((f) => /["']fmnist["']/.test(fs.readFileSync(f, "utf8")));
  if (usesLib && !fs.existsSync(path.join(REPO_ROOT, "lib", "dist", "index.d.ts"))) {
    console.error("lib/dist/index.d.ts is missing: run `npm run build` first (notebooks import the compiled fmnist package).");
    return 1;
  }
  const diags = typecheckNotebooks(files, { loose });
  diags.forEach((d) => console.error(formatDiagnostic(d)));
  const bad = new Set(diags.map((d) => d.notebook)).size;
  console.log(`type-checked ${files.length} notebook(s)${loose ? " (loose)" : ""}: ${diags.length} error(s)${bad ? ` in ${bad} notebook(s)` : ""}.`);
  return diags.length > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
