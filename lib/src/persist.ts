/**
 * Saving and loading trained models in the tfjs format (model.json + weights.bin) with a meta.json
 * beside them, via a small file-system IOHandler (tfjs-node's file:// handler is not available here).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { BackendInfo } from "./backend/index";
import type { Config } from "./config";
import type { TrainHistory } from "./history";
// Loading a model that contains our custom layers needs their registration, which models.ts does on import.
import { makeOptimizer, type OptimizerName } from "./models";
import { isProcessAlive } from "./process-alive";

/** What is stored beside a model's weights: enough to know exactly how and on what it was trained. */
export interface ModelMeta {
  schema: 1;
  /** Registry or free-form name; also the folder name under <artifactsDir>/models. */
  name: string;
  createdAt: string;
  /** Total parameters. */
  params: number;
  /** Resolved options the model was built with (`resolveModelOptions`). */
  modelOptions?: Record<string, unknown>;
  /** Training options actually used (epochs, batch size, early stopping, augmentation …). */
  training?: Record<string, unknown>;
  /** Resolved notebook configuration. */
  config?: Config;
  /** Id of the train/validation split (`Split.id`). */
  splitId?: string;
  backend?: BackendInfo;
  /** tfjs package versions at save time (plus the backend's). */
  versions: Record<string, string>;
  history?: TrainHistory;
  metrics?: Record<string, number>;
}

/** Caller-supplied part of {@link ModelMeta}; the rest is filled in by {@link saveModel}. */
export type ModelMetaInput = Omit<ModelMeta, "schema" | "name" | "createdAt" | "params" | "versions"> & { versions?: Record<string, string> };

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";
const META_JSON = "meta.json";

/** Folder of a saved model: `<artifactsDir>/models/<name>`. */
export function modelDir(name: string, artifactsDir: string): string {
  if (!MODEL_NAME.test(name)) throw new Error(`Invalid model name "${name}": use letters, digits, ".", "_" or "-"`);
  return path.join(artifactsDir, "models", name);
}

/** Joins tfjs weight data (one buffer or several) into one byte array. */
function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** An IOHandler whose save writes model.json + weights.bin into `dir` (which must exist). */
function fileSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts: tf.io.ModelArtifacts) => {
    const bytes = weightBytes(artifacts.weightData);
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(dir, WEIGHTS_BIN), bytes);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: "JSON",
        weightDataBytes: bytes.byteLength,
      },
    };
  });
}

/** Bytes one value of a weight takes in the file (quantised weights are stored in their quantised type). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes the weights manifest says its files hold, or an explanation of why it cannot be sized. */
function manifestBytes(specs: tf.io.WeightsManifestEntry[]): number | string {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const size = DTYPE_BYTES[dtype];
    if (size === undefined || dtype === "string") return `weight "${spec.name}" has dtype ${dtype}, which this loader cannot size`;
    total += spec.shape.reduce((a, b) => a * b, 1) * size;
  }
  return total;
}

/** "<file>: <what>. <what to do>" for a damaged saved model. */
function damaged(file: string, what: string, name: string): Error {
  return new Error(`${file}: ${what}. The saved model "${name}" is damaged: train and save it again (saveModel), or restore the folder from a backup.`);
}

/**
 * An IOHandler loading model.json and the weight files it lists from `dir`. Every failure names
 * the file; the weight files' sizes must be exactly what the manifest describes (tfjs itself
 * reads short files as garbage or fails without a file name, and ignores trailing bytes).
 */
function fileLoadHandler(dir: string, name: string): tf.io.IOHandler {
  return {
    load: async () => {
      const jsonFile = path.join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as tf.io.ModelJSON;
      } catch (err) {
        throw damaged(jsonFile, `cannot be read as JSON (${(err as Error).message})`, name);
      }
      if (typeof modelJson !== "object" || modelJson === null || typeof modelJson.modelTopology !== "object" || !Array.isArray(modelJson.weightsManifest)) {
        throw damaged(jsonFile, "not a tfjs model.json (no modelTopology or weightsManifest)", name);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const files = manifest.flatMap((group) => group.paths.map((p) => path.join(dir, p)));
        for (const f of files) {
          if (path.relative(dir, f).startsWith("..")) throw damaged(jsonFile, `its weights manifest points outside the model folder (${f})`, name);
        }
        const buffers = files.map((f) => {
          try {
            const b = fs.readFileSync(f);
            return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
          } catch (err) {
            throw damaged(f, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, name);
          }
        });
        const expected = manifestBytes(specs);
        if (typeof expected === "string") throw damaged(jsonFile, expected, name);
        const actual = buffers.reduce((s, b) => s + b.byteLength, 0);
        if (actual !== expected) {
          const where = files.length === 1 ? files[0] : `${files.join(", ")} (together)`;
          throw damaged(
            where,
            `${actual} bytes, but the weights manifest in ${MODEL_JSON} describes ${expected} (${actual < expected ? "truncated" : `${actual - expected} extra bytes`})`,
            name,
          );
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

function tfVersions(): Record<string, string> {
  return Object.fromEntries(Object.entries(tf.version).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** When this process started, in ms since the epoch. */
const PROCESS_START_MS = Date.now() - process.uptime() * 1000;


/**
 * Removes what interrupted saves left in a models folder: `.<name>.tmp.<pid>.<ms>` folders, and
 * `.<name>.old.<pid>.<ms>` ones whose model folder exists again (otherwise loadModel recovers
 * from them). Only stale ones: stamped before this process started, by a process that is gone
 * (or by this pid in an earlier life); a save running in another live process is left alone.
 */
function removeStaleSaveFolders(parent: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of names) {
    const m = /^\.(.+)\.(tmp|old)\.(\d+)\.(\d+)$/.exec(entry);
    if (!m) continue;
    const [, name, kind, pidText, msText] = m;
    const pid = Number(pidText);
    if (Number(msText) >= PROCESS_START_MS) continue;
    if (pid !== process.pid && isProcessAlive(pid)) continue;
    if (kind === "old" && !fs.existsSync(path.join(parent, name))) continue;
    fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * Saves `model` to `<artifactsDir>/models/<name>/` (model.json, weights.bin, meta.json) atomically:
 * everything is written into a temporary folder beside it, which then replaces the old folder by
 * renames, so an interrupted save leaves the previous model loadable. Leftovers of earlier interrupted
 * saves into the same models folder are removed first (removeStaleSaveFolders). Returns the folder.
 */
export async function saveModel(model: tf.LayersModel, name: string, artifactsDir: string, meta: ModelMetaInput = {}): Promise<string> {
  const dir = modelDir(name, artifactsDir);
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  removeStaleSaveFolders(parent);
  const stamp = `${process.pid}.${Date.now()}`;
  const tmp = path.join(parent, `.${name}.tmp.${stamp}`);
  const old = path.join(parent, `.${name}.old.${stamp}`);
  fs.mkdirSync(tmp);
  try {
    await model.save(fileSaveHandler(tmp));
    const full: ModelMeta = {
      ...meta,
      schema: 1,
      name,
      createdAt: new Date().toISOString(),
      params: model.countParams(),
      versions: { ...tfVersions(), ...(meta.backend?.versions ?? {}), ...(meta.versions ?? {}) },
    };
    fs.writeFileSync(path.join(tmp, META_JSON), JSON.stringify(full, null, 2) + "\n");
    // Two renames: between them only `old` holds the model, and loadModel() recovers from that.
    if (fs.existsSync(dir)) fs.renameSync(dir, old);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(dir) && fs.existsSync(old)) fs.renameSync(old, dir);
    throw err;
  }
  fs.rmSync(old, { recursive: true, force: true });
  return dir;
}

/** If a save died between its two renames, put the previous model back. */
function recoverInterruptedSave(name: string, dir: string): void {
  if (fs.existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (!fs.existsSync(parent)) return;
  const olds = fs.readdirSync(parent).filter((f) => f.startsWith(`.${name}.old.`)).sort();
  const last = olds[olds.length - 1];
  if (last !== undefined) fs.renameSync(path.join(parent, last), dir);
}

/** Thrown when a saved model is asked for and none is there (the caller may say which notebook makes it). */
export class MissingModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingModelError";
  }
}

/** Reads a saved model's meta.json. */
export function readModelMeta(name: string, artifactsDir: string): ModelMeta {
  const dir = modelDir(name, artifactsDir);
  recoverInterruptedSave(name, dir);
  const file = path.join(dir, META_JSON);
  if (!fs.existsSync(file)) {
    throw new MissingModelError(`No saved model "${name}" in ${path.dirname(dir)} (${file} missing): train and save it first (saveModel)`);
  }
  let meta: ModelMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, "utf8")) as ModelMeta;
  } catch (err) {
    throw damaged(file, `cannot be read as JSON (${(err as Error).message})`, name);
  }
  if (typeof meta !== "object" || meta === null) throw damaged(file, "not a JSON object", name);
  if (meta.schema !== 1 || meta.name !== name) throw new Error(`${file}: not a meta file of model "${name}" (schema ${String(meta.schema)}, name ${String(meta.name)})`);
  return meta;
}

/**
 * Loads a model saved by {@link saveModel} and its meta.json. The model comes back compiled like
 * `buildModel` compiles (sparse categorical cross-entropy, accuracy) with a FRESH optimizer of the
 * saved type and learning rate: optimizer state is not saved, so evaluation is exact and further
 * training restarts the optimizer's moments.
 */
export async function loadModel(name: string, artifactsDir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta }> {
  const meta = readModelMeta(name, artifactsDir);
  const dir = modelDir(name, artifactsDir);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileLoadHandler(dir, name));
  } catch (err) {
    const message = (err as Error).message;
    // Our own errors already name the file; tfjs's (a topology it cannot build, weights that do not fit it) do not.
    if (message.includes(dir)) throw err;
    throw damaged(path.join(dir, MODEL_JSON), `tfjs cannot build the model from it and its weights (${message.split("\n")[0]})`, name);
  }
  const o = meta.modelOptions ?? {};
  const optimizer = (typeof o.optimizer === "string" ? o.optimizer : "adam") as OptimizerName;
  const learningRate = typeof o.learningRate === "number" ? o.learningRate : 0.001;
  const momentum = typeof o.momentum === "number" ? o.momentum : 0.9;
  model.compile({ optimizer: makeOptimizer(optimizer, learningRate, momentum), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  return { model, meta };
}

/** Names of the models saved under `<artifactsDir>/models`, sorted. */
export function listSavedModels(artifactsDir: string): string[] {
  const parent = path.join(artifactsDir, "models");
  if (!fs.existsSync(parent)) return [];
  return fs
    .readdirSync(parent)
    .filter((f) => !f.startsWith(".") && fs.existsSync(path.join(parent, f, META_JSON)))
    .sort();
}
