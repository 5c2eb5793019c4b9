/**
 * Tables in notebooks: plain rows, arquero tables and danfojs DataFrames/Series render as HTML tables
 * in a tslab kernel and as aligned text in terminals.
 *
 * Which library does what: danfojs-node where pandas users expect it (describe, missing-value counts,
 * value counts on the Kaggle CSV layout — notebook 01); arquero for results and metrics tables
 * (reported-vs-ours, model summaries, per-class metrics). `table(rows)` builds an arquero table.
 */
import * as aq from "arquero";
import { displayBundle } from "./display";
import { escapeHtml } from "./html";

/** A row of a plain table: column name → cell value. */
export type Row = Readonly<Record<string, unknown>>;

/** An arquero table (the subset we use). */
export type ArqueroTable = ReturnType<typeof aq.from>;

/** Structural shape of a danfojs DataFrame (so this module does not load danfo, which loads tfjs). */
export interface FrameLike {
  columns: string[];
  index: (string | number)[];
  values: unknown[] | unknown[][];
  shape: number[];
}

/** Structural shape of a danfojs Series. */
export interface SeriesLike {
  index: (string | number)[];
  values: unknown[];
  columns?: undefined;
  config?: unknown;
}

/** Builds an arquero table from rows (all rows should have the same keys; missing cells become undefined). */
export function table(rows: readonly object[]): ArqueroTable {
  if (!Array.isArray(rows)) throw new Error("table: expected an array of row objects");
  return aq.from(rows as Row[]);
}

function isArquero(v: unknown): v is ArqueroTable {
  return typeof v === "object" && v !== null && typeof (v as ArqueroTable).objects === "function" && typeof (v as ArqueroTable).columnNames === "function";
}

function isFrame(v: unknown): v is FrameLike {
  return typeof v === "object" && v !== null && Array.isArray((v as FrameLike).columns) && Array.isArray((v as FrameLike).index) && Array.isArray((v as FrameLike).values);
}

function isSeries(v: unknown): v is SeriesLike {
  return typeof v === "object" && v !== null && !isFrame(v) && Array.isArray((v as SeriesLike).index) && Array.isArray((v as SeriesLike).values);
}

/** Cell formatting shared by HTML and text: integers as is, other numbers to `digits` significant decimals. */
export function formatCell(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toFixed(digits)));
  }
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Column names and string cells of any supported table, with an index column for frames and series. */
export interface TextGrid {
  columns: string[];
  rows: string[][];
  /** Which columns are numeric (right-aligned). */
  numeric: boolean[];
  /** Rows left out by the limit. */
  omitted: number;
}

/**
 * Anything {@link showTable} accepts: rows (any objects, including interfaces without an index
 * signature such as a model summary's rows), an arquero table, a danfo DataFrame or Series.
 */
export type TableLike = readonly object[] | ArqueroTable | FrameLike | SeriesLike;

/** Converts a table-like value to strings (at most `limit` rows). */
export function toTextGrid(t: TableLike, opts: { limit?: number; digits?: number } = {}): TextGrid {
  const limit = opts.limit ?? 50;
  let columns: string[];
  let raw: unknown[][];
  if (isArquero(t)) {
    columns = t.columnNames();
    raw = (t.objects() as Row[]).map((r) => columns.map((c) => r[c]));
  } else if (isFrame(t)) {
    const vals = t.values as unknown[][];
    // A danfo Series also has `columns` (its name, often "0") and 1-D values.
    const oneD = vals.length > 0 && !Array.isArray(vals[0]);
    columns = ["", ...(oneD && t.columns.length === 1 && t.columns[0] === "0" ? ["value"] : t.columns.map(String))];
    raw = t.index.map((ix, i) => [ix, ...(Array.isArray(vals[i]) ? (vals[i] as unknown[]) : [vals[i]])]);
  } else if (isSeries(t)) {
    columns = ["", "value"];
    raw = t.index.map((ix, i) => [ix, t.values[i]]);
  } else if (Array.isArray(t)) {
    const rows = t as readonly Row[];
    const seen = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    columns = [...seen];
    raw = rows.map((r) => columns.map((c) => r[c]));
  } else {
    throw new Error("showTable: expected rows (array of objects), an arquero table, or a danfojs DataFrame/Series");
  }
  const shown = raw.slice(0, limit);
  const numeric = columns.map((_, c) => shown.length > 0 && shown.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === "number"));
  return { columns, rows: shown.map((r) => r.map((v) => formatCell(v, opts.digits))), numeric, omitted: raw.length - shown.length };
}

/** HTML table of a grid (what notebooks show). */
export function gridHtml(g: TextGrid, caption?: string): string {
  const align = (c: number): string => (g.numeric[c] ? "right" : "left");
  const head = g.columns.map((c, i) => `<th style="text-align: ${align(i)};">${escapeHtml(c)}</th>`).join("");
  const body = g.rows.map((r) => `<tr>${r.map((v, i) => `<td style="text-align: ${align(i)};">${escapeHtml(v)}</td>`).join("")}</tr>`).join("\n");
  const more = g.omitted > 0 ? `<p><em>… ${g.omitted} more rows</em></p>` : "";
  // A <p> rather than <caption>: a caption is squeezed to the width of narrow tables.
  const cap = caption ? `<p><strong>${escapeHtml(caption)}</strong></p>` : "";
  return `${cap}<table class="fmnist-table"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

/** Aligned plain-text table of a grid (what terminals show). */
export function gridText(g: TextGrid, caption?: string): string {
  const width = (s: string): number => [...s].length;
  const widths = g.columns.map((c, i) => Math.max(width(c), ...g.rows.map((r) => width(r[i]))));
  const pad = (s: string, i: number): string => (g.numeric[i] ? " ".repeat(widths[i] - width(s)) + s : s + " ".repeat(widths[i] - width(s)));
  const lines = [g.columns.map(pad).join("  "), widths.map((w) => "-".repeat(w)).join("  "), ...g.rows.map((r) => r.map(pad).join("  "))];
  if (g.omitted > 0) lines.push(`… ${g.omitted} more rows`);
  return (caption ? caption + "\n" : "") + lines.join("\n");
}

/** Options of {@link showTable}. */
export interface ShowTableOptions {
  /** Most rows shown (default 50). */
  limit?: number;
  /** Decimals for non-integer numbers (default 4). */
  digits?: number;
  caption?: string;
}

/**
 * Displays rows, an arquero table, or a danfojs DataFrame/Series: an HTML table in a notebook,
 * aligned text elsewhere.
 */
export function showTable(t: TableLike, opts: ShowTableOptions = {}): void {
  const g = toTextGrid(t, opts);
  const text = gridText(g, opts.caption);
  if (!displayBundle({ "text/html": gridHtml(g, opts.caption), "text/plain": text })) console.log(text);
}

/** Displays a danfojs DataFrame or Series (same as {@link showTable}; named for pandas habits). */
export function showFrame(df: FrameLike | SeriesLike, opts: ShowTableOptions = {}): void {
  if (!isFrame(df) && !isSeries(df)) throw new Error("showFrame: expected a danfojs DataFrame or Series");
  showTable(df, opts);
}
