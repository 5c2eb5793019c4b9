// The index page: run facts, the results table of every model, the comparison chart, links to each
// notebook with its status, and the write-ups' reported numbers beside ours.
import { escapeHtml } from "../../lib/src/html";
import type { ResultsFile } from "../../lib/src/results";
import { chartHtml, ChartIds } from "./page";
import { REFERENCE_NUMBERS, type ReferenceNumber } from "./reference";

/** One model row of the results table. */
export interface ModelRow {
  notebook: string;
  model: string;
  valAcc?: number;
  testAcc?: number;
  trainSec?: number;
}

/** A notebook link on the index. */
export interface NotebookEntry {
  name: string;
  title: string;
  href: string;
  status: string;
  /** The runner's regression-check verdict against the baseline, when it checked. */
  check?: string;
  durationSec?: number;
}

/**
 * Every model across the results files: from `models[]` when present, else from flat metric keys
 * "<model>.val_acc" / ".test_acc" / ".train_sec". The first notebook to report a model wins only
 * for its own row: the same model trained in two notebooks gets two rows.
 */
export function collectModels(results: ResultsFile[]): ModelRow[] {
  const rows: ModelRow[] = [];
  for (const r of results) {
    const byName = new Map<string, ModelRow>();
    const get = (model: string): ModelRow => {
      let row = byName.get(model);
      if (!row) byName.set(model, (row = { notebook: r.notebook, model }));
      return row;
    };
    for (const m of r.models ?? []) {
      const row = get(m.name);
      row.valAcc = m.metrics.val_acc;
      row.testAcc = m.metrics.test_acc;
      row.trainSec = m.trainSec;
    }
    for (const [key, v] of Object.entries(r.metrics)) {
      const m = /^(.+)\.(val_acc|test_acc|train_sec)$/.exec(key);
      if (!m) continue;
      const row = get(m[1]);
      if (m[2] === "val_acc") row.valAcc ??= v;
      else if (m[2] === "test_acc") row.testAcc ??= v;
      else row.trainSec ??= v;
    }
    rows.push(...[...byName.values()].filter((row) => row.valAcc !== undefined || row.testAcc !== undefined));
  }
  return rows;
}

const fmt = (v: number | undefined, digits = 4): string => (v === undefined ? "—" : v.toFixed(digits));

/** "2026-11-22 15:06 UTC" from an ISO timestamp; anything unparsable is shown as given. */
export function formatRunDate(iso: string | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function factsHtml(results: ResultsFile[], profile: string | undefined, runDate: string | undefined, totalSec: number | undefined): string {
  const first = results[0];
  const versions = first?.backend?.versions ? Object.entries(first.backend.versions).map(([k, v]) => `${k} ${v}`).join(", ") : "—";
  const backends = [...new Set(results.map((r) => `${r.backend?.name ?? "?"}${r.backend?.package ? ` (${r.backend.package})` : ""}`))].join("; ") || "—";
  const facts: Array<[string, string]> = [
    ["Run date", formatRunDate(runDate)],
    ["Profile", profile ?? (results.length ? [...new Set(results.map((r) => r.profile))].join(", ") : "—")],
    ["Backend", backends],
    ["Versions", versions],
    ["Total time", totalSec === undefined ? "—" : `${totalSec.toFixed(1)} s (${(totalSec / 60).toFixed(1)} min)`],
  ];
  return `<dl class="meta">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`;
}

/** The results table. */
export function modelsTableHtml(rows: ModelRow[]): string {
  if (rows.length === 0) return "<p>No model results found (no results files with val_acc/test_acc metrics).</p>";
  const body = rows
    .map((r) => `<tr><td class="text">${escapeHtml(r.model)}</td><td class="text">${escapeHtml(r.notebook)}</td><td>${fmt(r.valAcc)}</td><td>${fmt(r.testAcc)}</td><td>${fmt(r.trainSec, 1)}</td></tr>`)
    .join("\n");
  return `<table id="results-table"><thead><tr><th class="text">model</th><th class="text">notebook</th><th>validation accuracy</th><th>test accuracy</th><th>training time (s)</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Grouped bars of validation and test accuracy per model. */
export function comparisonFigure(rows: ModelRow[]): { data: unknown[]; layout: Record<string, unknown> } {
  const labels = rows.map((r) => `${r.model} (${r.notebook.slice(0, 2)})`);
  return {
    data: [
      { type: "bar", name: "validation accuracy", x: labels, y: rows.map((r) => r.valAcc ?? null) },
      { type: "bar", name: "test accuracy", x: labels, y: rows.map((r) => r.testAcc ?? null) },
    ],
    layout: { title: { text: "Model comparison" }, barmode: "group", yaxis: { title: { text: "accuracy" }, range: [0, 1] }, height: 440, margin: { b: 140 } },
  };
}

/** Our value for a reported number: the best matching model row's metric, if any. */
function ours(ref: ReferenceNumber, rows: ModelRow[], results: ResultsFile[]): number | undefined {
  if (!ref.ourModel) return undefined;
  if (ref.metric === "train_acc") {
    for (const r of results) if (r.metrics[`${ref.ourModel}.train_acc`] !== undefined) return r.metrics[`${ref.ourModel}.train_acc`];
    return undefined;
  }
  const row = rows.find((r) => r.model === ref.ourModel && (ref.metric === "val_acc" ? r.valAcc : r.testAcc) !== undefined);
  return row ? (ref.metric === "val_acc" ? row.valAcc : row.testAcc) : undefined;
}

/** The reported-vs-ours table. */
export function referenceTableHtml(rows: ModelRow[], results: ResultsFile[], refs: readonly ReferenceNumber[] = REFERENCE_NUMBERS): string {
  const body = refs
    .map((ref) => {
      const v = ours(ref, rows, results);
      const diff = v === undefined ? "—" : `${((v - ref.value) * 100).toFixed(2)} pts`;
      return `<tr><td class="text">${escapeHtml(ref.writeUp)}</td><td class="text">${escapeHtml(ref.model)}</td><td class="text">${escapeHtml(ref.metric)}</td><td>${ref.value.toFixed(4)}</td><td class="text">${escapeHtml(ref.ourModel ?? "—")}</td><td>${fmt(v)}</td><td>${diff}</td><td class="text">${escapeHtml(ref.source)}</td></tr>`;
    })
    .join("\n");
  return `<table id="reference-table"><thead><tr><th class="text">write-up</th><th class="text">their model</th><th class="text">metric</th><th>reported</th><th class="text">our model</th><th>ours</th><th>ours − reported</th><th class="text">source</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/**
 * Ours beside Keras's (npm run reference: the same models in Keras 3 on TensorFlow, same split and test images):
 * validation and test accuracy and the test-accuracy difference in points, for every model Keras trained.
 */
export function kerasTableHtml(rows: ModelRow[], keras: ResultsFile[]): string {
  const theirs = collectModels(keras);
  const body = theirs
    .map((k) => {
      const o = rows.find((r) => r.model === k.model);
      const diff = o?.testAcc === undefined || k.testAcc === undefined ? "—" : `${((o.testAcc - k.testAcc) * 100).toFixed(2)} pts`;
      return `<tr><td class="text">${escapeHtml(k.model)}</td><td>${fmt(o?.valAcc)}</td><td>${fmt(k.valAcc)}</td><td>${fmt(o?.testAcc)}</td><td>${fmt(k.testAcc)}</td><td>${diff}</td><td>${fmt(o?.trainSec, 1)}</td><td>${fmt(k.trainSec, 1)}</td></tr>`;
    })
    .join("\n");
  const v = keras[0]?.backend?.versions ?? {};
  const stack = `Keras ${v.keras ?? "?"} on TensorFlow ${v.tensorflow ?? "?"}`;
  return (
    `<p>The same models trained by ${escapeHtml(stack)} (<code>npm run reference</code>) on this run's split and test images, with the same epochs, batch size, optimizer, learning rate and seed; the initial weights and batch order are each framework's own.</p>\n` +
    `<table id="keras-table"><thead><tr><th class="text">model</th><th>ours, validation</th><th>Keras, validation</th><th>ours, test</th><th>Keras, test</th><th>ours − Keras (test)</th><th>ours, training (s)</th><th>Keras, training (s)</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`
  );
}

/** The index's link to the try-it page (or the note that there is no model to try). */
function tryItSection(t: { href: string; note?: string }): string {
  return t.note
    ? `<h2>Try the model</h2>\n<p id="tryit-link">No model to try in this report: ${escapeHtml(t.note)} (<a href="${escapeHtml(t.href)}">details</a>)</p>`
    : `<h2>Try the model</h2>\n<p id="tryit-link"><a href="${escapeHtml(t.href)}">Try the best model in your browser</a>: classify test images, your own drawing or a photo, offline, with TensorFlow.js; with the class probabilities and a saliency map.</p>`;
}

/** The index body; `hasCharts` is true when the comparison chart is present. */
export function renderIndex(opts: {
  results: ResultsFile[];
  notebooks: NotebookEntry[];
  profile?: string;
  runDate?: string;
  totalSec?: number;
  /** The try-it page: its link, or the note saying why the report has no model to try. */
  tryIt?: { href: string; note?: string };
  /** Keras's results for the same profile (npm run reference), when there are any. */
  keras?: ResultsFile[];
}): { body: string; charts: number } {
  const rows = collectModels(opts.results);
  const ids = new ChartIds();
  const links = opts.notebooks
    .map((n) => `<tr><td class="text"><a href="${escapeHtml(n.href)}">${escapeHtml(n.name)}</a></td><td class="text">${escapeHtml(n.title)}</td><td class="text ${n.status === "ok" ? "status-ok" : n.status === "unknown" ? "status-unknown" : "status-failed"}">${escapeHtml(n.status)}</td><td class="text">${escapeHtml(n.check ?? "—")}</td><td>${fmt(n.durationSec, 1)}</td></tr>`)
    .join("\n");
  const failed = opts.notebooks.filter((n) => n.status !== "ok" && n.status !== "unknown");
  const body = [
    `<h1>Fashion-MNIST on TensorFlow.js: report</h1>`,
    factsHtml(opts.results, opts.profile, opts.runDate, opts.totalSec),
    failed.length ? `<div class="failed"><strong>${failed.length} notebook(s) failed:</strong> ${failed.map((n) => `<a href="${escapeHtml(n.href)}">${escapeHtml(n.name)}</a>`).join(", ")}</div>` : "",
    `<h2>Notebooks</h2>`,
    `<table id="notebooks-table"><thead><tr><th class="text">notebook</th><th class="text">title</th><th class="text">status</th><th class="text">baseline check</th><th>duration (s)</th></tr></thead>\n<tbody>\n${links}\n</tbody></table>`,
    opts.tryIt ? tryItSection(opts.tryIt) : "",
    `<h2>Results</h2>`,
    modelsTableHtml(rows),
    rows.length ? chartHtml(comparisonFigure(rows), ids) : "",
    `<h2>Compared with the write-ups</h2>`,
    `<p>Numbers the write-ups report (described in the repository's docs/writeups.md, typed in lib/src/writeups.ts) beside ours for the same architecture. The quick profile trains on a small subset for 2 epochs, so only the full profile is comparable.</p>`,
    referenceTableHtml(rows, opts.results),
    opts.keras?.length ? `<h2>Checked against Keras</h2>\n${kerasTableHtml(rows, opts.keras)}` : "",
  ].join("\n");
  return { body, charts: rows.length ? 1 : 0 };
}
