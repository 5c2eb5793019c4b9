// The slice of nbformat 4 the runner, the strip script and the type-check need: reading and checking notebooks,
// turning kernel messages into notebook outputs, and synthesizing the error output tslab does not send.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { JupyterMessage } from "@nteract/messaging";
import { writeFileAtomic } from "./atomic";

/** nbformat's multiline string: one string or a list of lines. */
export type MultilineString = string | string[];

/** A notebook output (nbformat 4). */
export type Output =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: MultilineString }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | {
      output_type: "execute_result";
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
      execution_count: number | null;
    }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

/** A notebook cell (nbformat 4). */
export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: MultilineString;
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

/** A notebook (nbformat 4). */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

/** Joins a multiline string. */
export function sourceText(s: MultilineString): string {
  return Array.isArray(s) ? s.join("") : s;
}

/** Splits text into nbformat's list-of-lines form (each line keeps its "\n"). */
export function toLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Parses and checks a notebook's JSON: nbformat 4, a cells array whose cells have a known type and a source.
 * @param text - file contents
 * @param name - file name, for error messages
 */
export function parseNotebook(text: string, name: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name} is not valid JSON (${(err as Error).message}); is it a notebook?`);
  }
  const o = nb as Partial<Notebook>;
  if (typeof o !== "object" || o === null || o.nbformat !== 4) {
    throw new Error(`${name} is not an nbformat 4 notebook (nbformat = ${JSON.stringify(o?.nbformat)}); save it with Jupyter 4+.`);
  }
  if (!Array.isArray(o.cells)) throw new Error(`${name} has no "cells" array.`);
  o.cells.forEach((c, i) => {
    if (!c || !["code", "markdown", "raw"].includes(c.cell_type)) {
      throw new Error(`${name}: cell ${i + 1} has an unknown cell_type ${JSON.stringify(c?.cell_type)}.`);
    }
    if (typeof c.source !== "string" && !Array.isArray(c.source)) throw new Error(`${name}: cell ${i + 1} has no source.`);
    c.metadata ??= {};
  });
  o.metadata ??= {};
  return o as Notebook;
}

/** nbformat 4.5's rule for cell ids. */
export const CELL_ID_PATTERN = /^[a-zA-Z0-9-_]{1,64}$/;

/**
 * Gives every cell a valid, unique id (nbformat 4.5: 1–64 of [a-zA-Z0-9-_]), keeping valid unique ids as they
 * are; sets nbformat_minor to at least 5 (the version that has ids). New ids are derived from the cell's
 * position and source (8 hex digits of a SHA-256), so adding them twice gives the same ids.
 * @returns how many ids were added or replaced
 */
export function ensureCellIds(nb: Notebook): number {
  const taken = new Set<string>();
  const needs: number[] = [];
  nb.cells.forEach((c, i) => {
    if (typeof c.id === "string" && CELL_ID_PATTERN.test(c.id) && !taken.has(c.id)) taken.add(c.id);
    else needs.push(i);
  });
  for (const i of needs) {
    const cell = nb.cells[i];
    const digest = createHash("sha256").update(`${i}\n${cell.cell_type}\n${sourceText(cell.source)}`).digest("hex");
    let id = digest.slice(0, 8);
    for (let n = 2; taken.has(id); n++) id = `${digest.slice(0, 8)}-${n}`;
    taken.add(id);
    cell.id = id;
  }
  if (nb.nbformat === 4 && !(nb.nbformat_minor >= 5)) nb.nbformat_minor = 5;
  return needs.length;
}

/** Reads and checks a notebook file. */
export function readNotebook(file: string): Notebook {
  return parseNotebook(fs.readFileSync(file, "utf8"), file);
}

/** Recursively sorts object keys (arrays keep their order), as Python's json.dump(sort_keys=True) does. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeysDeep) as T;
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out as T;
  }
  return value;
}

/**
 * Serializes like Jupyter's nbformat does (sorted keys, 1-space indent, trailing newline), so a notebook
 * saved by JupyterLab and one written here differ only where the content differs.
 */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeysDeep(nb), null, 1) + "\n";
}

/** Writes a notebook atomically. */
export function writeNotebook(file: string, nb: Notebook): void {
  writeFileAtomic(file, serializeNotebook(nb));
}

/**
 * Accumulates a cell's outputs from its iopub messages the way Jupyter front ends do: consecutive stream
 * chunks of one name merge, update_display_data replaces the outputs with the same display_id, clear_output
 * empties the list (at the next output when `wait` is set).
 */
export class OutputCollector {
  readonly outputs: Output[] = [];
  private readonly displayIds = new Map<string, number[]>();
  private clearPending = false;

  /** Adds one iopub message (other message types are ignored). */
  add(msg: JupyterMessage): void {
    const type = msg.header.msg_type;
    const c = msg.content as Record<string, unknown>;
    if (type === "clear_output") {
      if (c.wait) this.clearPending = true;
      else this.clear();
      return;
    }
    if (type === "update_display_data") {
      const id = displayId(c);
      for (const i of (id && this.displayIds.get(id)) || []) {
        this.outputs[i] = { output_type: "display_data", data: asRecord(c.data), metadata: asRecord(c.metadata) };
      }
      return;
    }
    if (!["stream", "display_data", "execute_result", "error"].includes(type)) return;
    if (this.clearPending) this.clear();
    if (type === "stream") {
      const name = c.name === "stderr" ? "stderr" : "stdout";
      const text = String(c.text ?? "");
      const last = this.outputs[this.outputs.length - 1];
      if (last && last.output_type === "stream" && last.name === name) last.text = sourceText(last.text) + text;
      else this.outputs.push({ output_type: "stream", name, text });
    } else if (type === "display_data") {
      const id = displayId(c);
      if (id) this.displayIds.set(id, [...(this.displayIds.get(id) ?? []), this.outputs.length]);
      this.outputs.push({ output_type: "display_data", data: asRecord(c.data), metadata: asRecord(c.metadata) });
    } else if (type === "execute_result") {
      this.outputs.push({
        output_type: "execute_result",
        data: asRecord(c.data),
        metadata: asRecord(c.metadata),
        execution_count: typeof c.execution_count === "number" ? c.execution_count : null,
      });
    } else {
      this.outputs.push({
        output_type: "error",
        ename: String(c.ename ?? "Error"),
        evalue: String(c.evalue ?? ""),
        traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
      });
    }
  }

  /** All stderr text collected so far. */
  get stderr(): string {
    return this.outputs
      .filter((o): o is Extract<Output, { output_type: "stream" }> => o.output_type === "stream" && o.name === "stderr")
      .map((o) => sourceText(o.text))
      .join("");
  }

  /** Outputs with stream text split into lines, as Jupyter saves them. */
  finalOutputs(): Output[] {
    return this.outputs.map((o) => (o.output_type === "stream" ? { ...o, text: toLines(sourceText(o.text)) } : o));
  }

  private clear(): void {
    this.outputs.length = 0;
    this.displayIds.clear();
    this.clearPending = false;
  }
}

function displayId(c: Record<string, unknown>): string | undefined {
  const t = c.transient as { display_id?: unknown } | undefined;
  return typeof t?.display_id === "string" ? t.display_id : undefined;
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}

/**
 * Builds the `error` output tslab does not send: tslab answers a failing cell with execute_reply status
 * "error" and prints the reason on stderr — a stack ("Error: boom\n    at ...") for runtime errors, or
 * "line:col - message" lines for TypeScript compile errors.
 * @param stderr - the cell's stderr text
 */
export function synthesizeError(stderr: string): Extract<Output, { output_type: "error" }> {
  const lines = stderr.replace(/\s+$/, "").split("\n");
  const traceback = lines.length === 1 && lines[0] === "" ? [] : lines;
  // The last "Name: message" line at line start is the thrown error (stack frames start with spaces).
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^([A-Za-z_$][\w$.]*(?:Error|Exception)|Error|UncaughtException|UnhandledPromiseRejection):\s?(.*)$/.exec(lines[i]);
    if (m) return { output_type: "error", ename: m[1], evalue: m[2], traceback };
  }
  const compile = lines.filter((l) => /^\d+:\d+ - /.test(l));
  if (compile.length > 0) {
    return { output_type: "error", ename: "TypeScriptCompileError", evalue: compile.join(" "), traceback };
  }
  const lastLine = [...lines].reverse().find((l) => l.trim() !== "") ?? "";
  return {
    output_type: "error",
    ename: "CellError",
    evalue: lastLine || "the kernel reported an error without a message",
    traceback,
  };
}
