// The "try it" page of the report: the saved `best` model (the one notebook 11 evaluated) running in the
// reader's browser with tfjs, offline, from a double-click on the file. Everything it needs is script-loaded
// from the report folder (Chromium blocks fetch() of file:// URLs): the model topology and base64 weights in
// tryit-model.js, the wasm binary as a data: URL in assets/tfjs-wasm-simd.js, tfjs and its wasm backend
// copied from node_modules into assets/ beside the report's shared plotly.min.js.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { escapeHtml } from "../../lib/src/html";
import { jsonIsland } from "./html";
import { ASSETS_DIR } from "./assets";
import type { ResultsFile } from "../../lib/src/results";

/** File name of the page in the report folder. */
export const TRYIT_PAGE = "tryit.html";
/** The generated data script (model, gallery, provenance) beside the page. */
export const TRYIT_DATA = "tryit-model.js";
/** Name of the saved model the page carries. */
export const TRYIT_MODEL = "best";
/** Page-weight ceiling the issue sets: model + tfjs + plotly (and everything else the page loads). */
export const TRYIT_MAX_BYTES = 10 * 1024 * 1024;

/** Images per class in the gallery, and the most mistakes it shows. */
const PER_CLASS = 12;
const MAX_MISTAKES = 48;

/** What the page states about the model it runs. */
export interface TryItProvenance {
  model: string;
  createdAt?: string;
  params?: number;
  profile?: string;
  splitId?: string;
  epochs?: number;
  trainSec?: number;
  batchSize?: number;
  /** Backend the model was trained on, e.g. "wasm (@tensorflow/tfjs-backend-wasm), 2 threads". */
  trainedOn?: string;
  /** Notebook 11's test accuracy (and with flips), when its results file is in the run. */
  evaluationTestAcc?: number;
  evaluationTestAccFlip?: number;
  /** Accuracy recomputed in Node over the same test images while building this page. */
  recomputedTestAcc: number;
  testImages: number;
  /** Backend Node used for the page's reference predictions. */
  nodeBackend: string;
  warnings: string[];
}

/** Everything the page script reads (window.FMNIST_TRYIT). */
export interface TryItData {
  classNames: string[];
  provenance: TryItProvenance;
  /** `weights`: base64 of the gzipped weight bytes (the page inflates them with DecompressionStream). */
  model: { topology: unknown; weightSpecs: unknown[]; weights: string; weightBytes: number };
  gallery: {
    /** Official test-set indices. */
    indices: number[];
    labels: number[];
    /** Node's predicted class for each image. */
    nodeClass: number[];
    /** Node's probabilities (rounded to 1e-7), row per image. */
    nodeProbs: number[][];
    /** Base64 of count × 784 bytes (the dataset's pixels, 0 = background). */
    pixels: string;
    /** Positions (into the arrays above) of the model's mistakes, most confident first. */
    mistakes: number[];
    /** Mistakes among how many test images, to say "k of n". */
    mistakeCount: number;
  };
}

/** Either the page's data, or why there is no page. */
export type TryItInput = { data: TryItData } | { note: string };

export interface PrepareTryItOptions {
  /** Artifacts folder holding models/best. */
  artifactsDir: string;
  /** Profile of the run being reported (the model must come from the same one). */
  profile?: string;
  /** Results files of the run (notebook 11's gives the test images it evaluated and its accuracy). */
  results: ResultsFile[];
  /** Fashion-MNIST folder (default: FMNIST_DATA_DIR, else the committed copy). */
  dataDir?: string;
  /** tfjs backend for the reference predictions (default FMNIST_BACKEND, else auto). */
  backend?: string;
}

/** A deterministic shuffle (the gallery is the same in every build of the same run). */
function shuffled<T>(items: T[], seed: number): T[] {
  const a = items.slice();
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

interface ConfigLike {
  profile?: string;
  testSize?: number;
  seed?: number;
}

/**
 * Loads the saved `best` model in Node, predicts the test images notebook 11 evaluated (its results
 * file's configuration, else the model's), and collects what the page embeds: the model files as saved,
 * a gallery per class, the model's mistakes, and Node's probabilities for every gallery image.
 * Returns a note instead when there is no saved model, or it belongs to another profile.
 */
export async function prepareTryIt(opts: PrepareTryItOptions): Promise<TryItInput> {
  const dir = path.join(opts.artifactsDir, "models", TRYIT_MODEL);
  if (!fs.existsSync(path.join(dir, "meta.json"))) {
    return { note: `No saved "${TRYIT_MODEL}" model in ${path.join(opts.artifactsDir, "models")}: run notebooks 10-tuning and 11-evaluation (npx tsx scripts/run-notebooks.ts --profile ${opts.profile ?? "quick"} 02-preprocessing 10-tuning 11-evaluation), then npm run report again.` };
  }
  // Loaded only here: building a report without a model needs no tfjs.
  const { readModelMeta, loadModel } = await import("../../lib/src/persist");
  const { loadFashionMnist } = await import("../../lib/src/data/fashion-mnist");
  const { balancedSubset } = await import("../../lib/src/data/split");
  const { CLASS_NAMES } = await import("../../lib/src/data/classes");
  const { initBackend } = await import("../../lib/src/backend/select");
  const { predictProbabilities } = await import("../../lib/src/predict");
  const tf = await import("@tensorflow/tfjs");

  const meta = readModelMeta(TRYIT_MODEL, opts.artifactsDir);
  const cfgOfModel = meta.config as ConfigLike | undefined;
  if (opts.profile && cfgOfModel?.profile && cfgOfModel.profile !== opts.profile) {
    return { note: `The saved "${TRYIT_MODEL}" model in ${dir} was trained under the ${cfgOfModel.profile} profile, and this report is of a ${opts.profile} run: run notebooks 10-tuning and 11-evaluation with --profile ${opts.profile}, then npm run report again.` };
  }
  const evaluation = opts.results.find((r) => r.notebook === "11-evaluation");
  const warnings: string[] = [];
  if (!evaluation) warnings.push("Notebook 11 has no results file in this run: the test images are those of the model's own configuration.");
  else if (meta.createdAt > evaluation.createdAt) warnings.push(`This model was saved (${meta.createdAt}) after notebook 11 evaluated one (${evaluation.createdAt}): re-run 11-evaluation for its figures to describe this model.`);
  const cfg = ((evaluation as unknown as { config?: ConfigLike } | undefined)?.config ?? cfgOfModel ?? {}) as ConfigLike;

  const backend = await initBackend((opts.backend ?? process.env.FMNIST_BACKEND ?? "auto") as Parameters<typeof initBackend>[0]);
  const { model } = await loadModel(TRYIT_MODEL, opts.artifactsDir);
  try {
    const testSet = loadFashionMnist("test", { dataDir: opts.dataDir });
    const all = Array.from({ length: testSet.count }, (_, i) => i);
    const testIndices = typeof cfg.testSize === "number" && cfg.testSize < testSet.count ? balancedSubset(testSet.labels, all, cfg.testSize, cfg.seed ?? 42) : all;
    const probs = await predictProbabilities(model, testSet, testIndices);
    const k = CLASS_NAMES.length;
    const argmax = (row: number): number => {
      let best = 0;
      for (let c = 1; c < k; c++) if (probs[row * k + c] > probs[row * k + best]) best = c;
      return best;
    };
    const predicted = testIndices.map((_, r) => argmax(r));
    const wrongRows = testIndices.map((_, r) => r).filter((r) => predicted[r] !== testSet.labels[testIndices[r]]);
    const correct = testIndices.length - wrongRows.length;

    // Gallery rows: PER_CLASS per class from a seeded shuffle, then the most confident mistakes.
    const order = shuffled(testIndices.map((_, r) => r), cfg.seed ?? 42);
    const rows: number[] = [];
    for (let c = 0; c < k; c++) rows.push(...order.filter((r) => testSet.labels[testIndices[r]] === c).slice(0, PER_CLASS));
    const mistakeRows = wrongRows.sort((a, b) => probs[b * k + predicted[b]] - probs[a * k + predicted[a]]).slice(0, MAX_MISTAKES);
    const mistakes: number[] = [];
    for (const r of mistakeRows) {
      const at = rows.indexOf(r);
      if (at >= 0) mistakes.push(at);
      else {
        mistakes.push(rows.length);
        rows.push(r);
      }
    }
    const px = testSet.rows * testSet.cols;
    const pixels = Buffer.alloc(rows.length * px);
    rows.forEach((r, i) => pixels.set(testSet.images.subarray(testIndices[r] * px, (testIndices[r] + 1) * px), i * px));

    // The model exactly as saved: model.json's topology and manifest, the weight files' bytes.
    const modelJson = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8")) as { modelTopology: unknown; weightsManifest: Array<{ paths: string[]; weights: unknown[] }> };
    const weightBytes = Buffer.concat(modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));

    const b = meta.backend;
    const training = (meta.training ?? {}) as { batchSize?: number };
    const data: TryItData = {
      classNames: [...CLASS_NAMES],
      provenance: {
        model: TRYIT_MODEL,
        createdAt: meta.createdAt,
        params: meta.params,
        profile: cfgOfModel?.profile,
        splitId: meta.splitId,
        epochs: meta.history?.epochsRun,
        trainSec: meta.history?.trainSec,
        batchSize: typeof training.batchSize === "number" ? training.batchSize : undefined,
        trainedOn: b ? `${b.name} (${b.package})${b.threads ? `, ${b.threads} thread${b.threads === 1 ? "" : "s"}` : ""}` : undefined,
        evaluationTestAcc: evaluation?.metrics["evaluation.test_acc"],
        evaluationTestAccFlip: evaluation?.metrics["evaluation.test_acc_flip_tta"],
        recomputedTestAcc: correct / testIndices.length,
        testImages: testIndices.length,
        nodeBackend: `${backend.name} (${backend.package}) in Node, tfjs ${tf.version.tfjs ?? tf.version["tfjs-core"]}`,
        warnings,
      },
      model: { topology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weights: zlib.gzipSync(weightBytes, { level: 9 }).toString("base64"), weightBytes: weightBytes.byteLength },
      gallery: {
        indices: rows.map((r) => testIndices[r]),
        labels: rows.map((r) => testSet.labels[testIndices[r]]),
        nodeClass: rows.map((r) => predicted[r]),
        nodeProbs: rows.map((r) => Array.from(probs.subarray(r * k, (r + 1) * k), (v) => Math.round(v * 1e7) / 1e7)),
        pixels: pixels.toString("base64"),
        mistakes,
        mistakeCount: wrongRows.length,
      },
    };
    return { data };
  } finally {
    model.dispose();
  }
}

/** The browser code of the page (a plain script file kept beside this module). */
function pageScript(): string {
  return fs.readFileSync(path.join(__dirname, "tryit.page.js"), "utf8");
}

/** Scripts the page loads, in order (paths relative to the report folder). */
export const TRYIT_SCRIPTS = [`${ASSETS_DIR}/tf.min.js`, `${ASSETS_DIR}/tf-backend-wasm.min.js`, `${ASSETS_DIR}/tfjs-wasm-simd.js`, TRYIT_DATA, `${ASSETS_DIR}/tryit.js`];
// The ES2017 builds of tfjs and its wasm backend (the page needs ES2017 anyway): 0.35 MB less than the ES5 ones.
const TFJS_BUILD = "@tensorflow/tfjs/dist/tf.es2017.min.js";
const WASM_BUILD = "tf-backend-wasm.es2017.min.js";

/**
 * Writes the page's own files into the report folder `dir` (whose shared assets, plotly.min.js among
 * them, are already there): tfjs and its wasm backend, the SIMD wasm binary as a data: URL script, the
 * page script and the model/gallery data script.
 */
export function writeTryItFiles(dir: string, data: TryItData): void {
  const assets = path.join(dir, ASSETS_DIR);
  fs.mkdirSync(assets, { recursive: true });
  let tfjs: string;
  let wasmDir: string;
  try {
    tfjs = require.resolve(TFJS_BUILD);
    wasmDir = path.dirname(require.resolve(`@tensorflow/tfjs-backend-wasm/dist/${WASM_BUILD}`));
  } catch (e) {
    throw new Error(`try-it page assets missing (${(e as Error).message}): run \`npm install\` at the repository root`);
  }
  fs.copyFileSync(tfjs, path.join(assets, "tf.min.js"));
  fs.copyFileSync(path.join(wasmDir, WASM_BUILD), path.join(assets, "tf-backend-wasm.min.js"));
  // Only the single-threaded SIMD binary: from file:// there is no SharedArrayBuffer for the threaded
  // one, and a browser without wasm SIMD uses webgl or cpu instead. Gzipped (424 → 137 kB).
  const simd = zlib.gzipSync(fs.readFileSync(path.join(wasmDir, "tfjs-backend-wasm-simd.wasm")), { level: 9 }).toString("base64");
  fs.writeFileSync(path.join(assets, "tfjs-wasm-simd.js"), `// tfjs-backend-wasm's SIMD binary, gzipped, base64 (file:// pages cannot fetch files).\nwindow.FMNIST_WASM_SIMD_GZ = "${simd}";\n`);
  fs.writeFileSync(path.join(assets, "tryit.js"), pageScript());
  fs.writeFileSync(path.join(dir, TRYIT_DATA), `// Generated by npm run report: the saved "${TRYIT_MODEL}" model, test images and Node's predictions for the try-it page.\nwindow.FMNIST_TRYIT = ${jsonIsland(data)};\n`);
}

/** Bytes the page loads: itself, its stylesheet, plotly.js and every script in {@link TRYIT_SCRIPTS}. */
export function tryItPageWeight(dir: string): number {
  const files = [TRYIT_PAGE, `${ASSETS_DIR}/report.css`, `${ASSETS_DIR}/plotly.min.js`, ...TRYIT_SCRIPTS];
  return files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

const pct = (v: number | undefined): string => (v === undefined ? "—" : `${(100 * v).toFixed(2)}%`);

/** The page body: provenance, the three inputs, the outputs. */
export function tryItBody(input: TryItInput): string {
  if ("note" in input) {
    return `<h1>Try the model</h1>\n<div class="failed" id="tryit-note"><strong>No model to try in this report.</strong> ${escapeHtml(input.note)}</div>`;
  }
  const p = input.data.provenance;
  const facts: Array<[string, string]> = [
    ["Model", `${p.model}${p.params !== undefined ? `, ${p.params.toLocaleString("en-US")} parameters` : ""} (saved by notebook 10, evaluated by notebook 11)`],
    ["Saved", p.createdAt ?? "—"],
    ["Profile and split", `${p.profile ?? "—"}; split ${p.splitId ?? "—"}`],
    ["Training", `${p.epochs ?? "—"} epochs${p.batchSize ? `, batch ${p.batchSize}` : ""}${p.trainSec !== undefined ? `, ${(p.trainSec / 60).toFixed(1)} min` : ""}, on ${p.trainedOn ?? "—"}`],
    ["Test accuracy", `${pct(p.evaluationTestAcc)} in notebook 11${p.evaluationTestAccFlip !== undefined ? ` (${pct(p.evaluationTestAccFlip)} with flips averaged in)` : ""}; ${pct(p.recomputedTestAcc)} recomputed for this page over the same ${p.testImages.toLocaleString("en-US")} test images with ${p.nodeBackend}`],
    ["In this page", "tfjs backend: <span id=\"backend\">loading…</span>"],
  ];
  const classOptions = input.data.classNames.map((n, i) => `<option value="${i}">${escapeHtml(n)}</option>`).join("");
  return `<h1>Try the model</h1>
<p>The study's best model runs here, in your browser, with TensorFlow.js: nothing leaves this page and nothing is fetched from the network. Pick a test image, draw an item, or upload a photo; the model's ten class probabilities and a saliency map (which pixels the top class's score is most sensitive to: the gradient of its score with respect to each input pixel) update as you go.</p>
<dl class="meta" id="provenance">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${k === "In this page" ? v : escapeHtml(v)}</dd>`).join("")}</dl>
${p.warnings.map((w) => `<p class="warning">${escapeHtml(w)}</p>`).join("\n")}
<div id="tryit-status" class="status">Loading the model…</div>
<div class="tryit">
<section class="inputs">
<h2>1 · Test images</h2>
<div class="controls"><button type="button" id="random-image">Random image</button>
<label>By class <select id="class-filter"><option value="">—</option>${classOptions}</select></label>
<button type="button" id="show-mistakes">The model's mistakes</button></div>
<p class="hint" id="gallery-caption"></p>
<div id="gallery" class="gallery"></div>
<h2>2 · Draw</h2>
<p class="hint">Draw one item, white on black, as large as you like: it is cropped, scaled to fit 28×28 and centred by mass, as the dataset's images were made.</p>
<canvas id="draw" width="280" height="280" class="draw" aria-label="drawing canvas"></canvas>
<div class="controls"><button type="button" id="clear-drawing">Clear</button></div>
<h2>3 · Upload a photo</h2>
<p class="hint">Made grayscale, inverted when its background is light, cropped to the item and resized to 28×28. Real photos differ from the dataset (studio shots of single products on white, trimmed and downscaled), so expect the model to be less sure, or wrong, on them.</p>
<input type="file" id="upload" accept="image/*">
</section>
<section class="outputs">
<h2>What the model sees and says</h2>
<p id="source-line" class="hint">—</p>
<div class="views"><figure><canvas id="input-view" width="196" height="196"></canvas><figcaption>model input (28×28)</figcaption></figure>
<figure><canvas id="saliency-view" width="196" height="196"></canvas><figcaption>saliency of the top class</figcaption></figure></div>
<ol id="top3" class="top3"></ol>
<div id="probs-chart" class="probs-chart"></div>
</section>
</div>`;
}

/** Styles of the page (kept out of the shared stylesheet the other pages load). */
export const TRYIT_STYLE = `<style>
.tryit { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5rem; }
@media (max-width: 900px) { .tryit { grid-template-columns: 1fr; } }
.controls { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin: .4rem 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 4px; max-height: 260px; overflow-y: auto; }
.gallery canvas { width: 48px; height: 48px; image-rendering: pixelated; cursor: pointer; border: 2px solid transparent; }
.gallery canvas.selected { border-color: #0969da; } .gallery canvas.wrong { outline: 1px solid #cf222e; }
canvas.draw { width: 280px; height: 280px; background: #000; touch-action: none; cursor: crosshair; border-radius: 4px; }
.views { display: flex; gap: 1rem; } .views figure { margin: 0; } .views canvas { image-rendering: pixelated; background: #000; }
.views figcaption, .hint { color: #57606a; font-size: 13px; }
.top3 { font-size: 17px; } .top3 li:first-child { font-weight: 700; }
.probs-chart { width: 100%; height: 320px; }
.status { margin: .5rem 0; color: #57606a; } .status.error { color: #cf222e; }
.warning { background: #fff8e5; border: 1px solid #d4a72c; border-radius: 6px; padding: .4rem .8rem; }
</style>`;
