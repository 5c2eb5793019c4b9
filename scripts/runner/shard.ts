// Sharded runs: `--shard I/N` gives every notebook (or part of a notebook) to exactly one of N machines, from
// the durations recorded in the profile's baseline, longest first, honouring metadata.fmnist.after. No
// scheduler: every machine computes the same plan from the same checkout and runs its own share; `npm run merge`
// combines the shares and runs the final stage (notebooks that read every other notebook's results).
//
// Notebook metadata read here (metadata.fmnist):
//   after: ["02-preprocessing", "04-cnn-32-vs-64/cnn32"] | "all"   what it reads; "NAME/PART" = one part only
//   parts: { parameter: "FMNIST_MODELS", values: ["cnn32", "cnn64"] }   independent parts a shard may run alone:
//          the runner sets the parameter to one value; each part writes the notebook's results file with its own
//          models, and the parts' results files and executed copies are merged into one.
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { BaselineFile } from "./baseline";
import { readNotebook } from "./nbformat";

/** Which share of the plan this machine runs (1-based). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Most shards a plan may have. */
export const MAX_SHARDS = 64;
/** A dependency recorded at most this long (seconds) is rebuilt on every shard that needs it instead of tying its dependents to its shard. */
export const REPLICATE_MAX_SEC = 60;
/** Planning estimate for a notebook the baseline has no duration for. */
export const UNKNOWN_DURATION_SEC = 300;
/** Runner-only variables: read by the runner, never passed to kernels (lib rejects unknown FMNIST_* variables). */
export const RUNNER_ONLY_ENV = ["FMNIST_SHARD", "FMNIST_SHARD_COUNT", "FMNIST_COMMIT"] as const;

export const SHARD_USAGE = `--shard I/N: 1 ≤ I ≤ N ≤ ${MAX_SHARDS}, e.g. --shard 2/4 (or FMNIST_SHARD=2/4; or --shard-count N with Kubernetes' JOB_COMPLETION_INDEX, 0-based)`;

/** Parses "I/N". Throws with the usage on anything else. */
export function parseShardSpec(text: string, source = "--shard"): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${source} = ${JSON.stringify(text)}: expected I/N. ${SHARD_USAGE}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new Error(`${source} = ${JSON.stringify(text)}: N must be from 1 to ${MAX_SHARDS}. ${SHARD_USAGE}`);
  if (index < 1 || index > count) throw new Error(`${source} = ${JSON.stringify(text)}: I must be from 1 to N (${count}). ${SHARD_USAGE}`);
  return { index, count };
}

/**
 * The shard from the command line or the environment: --shard I/N, else --shard-count N (or FMNIST_SHARD_COUNT)
 * with JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based), else FMNIST_SHARD=I/N. Undefined = no sharding.
 */
export function resolveShard(shardArg: string | undefined, countArg: string | undefined, env: NodeJS.ProcessEnv): ShardSpec | undefined {
  if (shardArg !== undefined) return parseShardSpec(shardArg);
  const count = countArg ?? (env.FMNIST_SHARD_COUNT || undefined);
  if (count !== undefined) {
    const from = countArg !== undefined ? "--shard-count" : "FMNIST_SHARD_COUNT";
    if (!/^\s*\d+\s*$/.test(count)) throw new Error(`${from} = ${JSON.stringify(count)}: expected a whole number. ${SHARD_USAGE}`);
    const index = env.JOB_COMPLETION_INDEX;
    if (index === undefined || !/^\s*\d+\s*$/.test(index)) {
      throw new Error(`${from} needs JOB_COMPLETION_INDEX (0-based, set by a Kubernetes Indexed Job), got ${JSON.stringify(index)}. ${SHARD_USAGE}`);
    }
    return parseShardSpec(`${Number(index) + 1}/${Number(count)}`, `JOB_COMPLETION_INDEX + 1 / ${from}`);
  }
  if (env.FMNIST_SHARD) return parseShardSpec(env.FMNIST_SHARD, "FMNIST_SHARD");
  return undefined;
}

/** A notebook's splitting declaration. */
export interface PartsDecl {
  parameter: string;
  values: string[];
}

/** What the planner reads from one notebook. */
export interface NotebookInfo {
  name: string;
  file: string;
  /** Position in the series. */
  order: number;
  after: "all" | Array<{ notebook: string; part?: string }>;
  exclusive: boolean;
  parts?: PartsDecl;
}

/** Reads metadata.fmnist.parts; undefined when absent. Throws on a malformed declaration. */
export function readParts(file: string, meta: Record<string, unknown> | undefined): PartsDecl | undefined {
  const p = meta?.parts as Partial<PartsDecl> | undefined;
  if (p === undefined) return undefined;
  const ok =
    typeof p === "object" && p !== null && typeof p.parameter === "string" && /^FMNIST_[A-Z0-9_]+$/.test(p.parameter) &&
    Array.isArray(p.values) && p.values.length >= 2 && p.values.every((v) => typeof v === "string" && /^[A-Za-z0-9_-]+$/.test(v)) &&
    new Set(p.values).size === p.values.length;
  if (!ok) throw new Error(`${file}: metadata.fmnist.parts must be {"parameter": "FMNIST_…", "values": [two or more distinct names]}, got ${JSON.stringify(p)}.`);
  return { parameter: p.parameter as string, values: [...(p.values as string[])] };
}

/** Reads the planner's view of the notebooks (in series order). Entries of `after` outside the selection are ignored. */
export function readNotebookInfos(files: string[]): NotebookInfo[] {
  const names = files.map((f) => path.basename(f, ".ipynb"));
  const raw = files.map((file) => (readNotebook(file).metadata as { fmnist?: Record<string, unknown> }).fmnist);
  const partsOf = files.map((file, i) => readParts(file, raw[i]));
  return files.map((file, i) => {
    const meta = raw[i];
    const a = meta?.after;
    let after: NotebookInfo["after"] = [];
    if (a === "all") after = "all";
    else if (Array.isArray(a) && a.every((x) => typeof x === "string")) {
      after = [];
      for (const entry of a as string[]) {
        const [notebook, part, extra] = entry.split("/");
        const j = names.indexOf(notebook);
        if (j < 0) continue;
        if (extra !== undefined || part === "") throw new Error(`${file}: metadata.fmnist.after entry ${JSON.stringify(entry)} must be NAME or NAME/PART.`);
        if (j >= i) throw new Error(`${file}: metadata.fmnist.after names ${notebook}, which does not come before it in the series.`);
        if (part !== undefined && !partsOf[j]?.values.includes(part)) {
          throw new Error(`${file}: metadata.fmnist.after names part "${part}" of ${notebook}, which declares parts ${JSON.stringify(partsOf[j]?.values ?? [])}.`);
        }
        after.push(part === undefined ? { notebook } : { notebook, part });
      }
    } else if (a !== undefined) throw new Error(`${file}: metadata.fmnist.after must be "all" or a list of notebook names, got ${JSON.stringify(a)}.`);
    return { name: names[i], file, order: i, after, exclusive: meta?.exclusive === true, parts: partsOf[i] };
  });
}

/** One thing a shard runs: a whole notebook or one part of it. */
export interface Unit {
  /** "04-cnn-32-vs-64" or "04-cnn-32-vs-64/cnn32". */
  id: string;
  notebook: string;
  file: string;
  part?: string;
  /** Parameters that select the part ({FMNIST_MODELS: "cnn32"}). */
  env: Record<string, string>;
  /** Expected seconds, from the baseline. */
  estSec: number;
  /** Whether estSec comes from a recorded duration. */
  recorded: boolean;
  /** Unit ids this unit waits for. */
  after: string[];
  exclusive: boolean;
  /** Position in the series, for ordering. */
  order: number;
}

/** One machine's share. */
export interface Shard {
  index: number;
  /** Units whose results this shard reports. */
  own: Unit[];
  /** Cheap dependencies it rebuilds only to run its own units (reported by their owner). */
  support: Unit[];
  /** Expected seconds, own + support, run one after the other. */
  sec: number;
}

/** The whole plan; every machine computes the same one. */
export interface ShardPlan {
  count: number;
  shards: Shard[];
  /** Notebooks that read every other notebook's results (metadata.fmnist.after = "all"): run by `merge`. */
  final: Unit[];
  finalSec: number;
  /** Hash of the assignment: shards of one run agree on it. */
  fingerprint: string;
}

/** The id of a unit. */
export function unitId(notebook: string, part?: string): string {
  return part === undefined ? notebook : `${notebook}/${part}`;
}

/**
 * Expected seconds of each part of a split notebook: the notebook's shared work (its duration minus every part's
 * `<part>.train_sec`) plus the part's own `<part>.train_sec`; without those metrics, an equal share.
 */
export function partEstimates(total: number, parts: string[], metrics: Record<string, { value: number }> | undefined): number[] {
  const own = parts.map((p) => metrics?.[`${p}.train_sec`]?.value);
  if (own.some((x) => typeof x !== "number" || !Number.isFinite(x) || x < 0)) return parts.map(() => total / parts.length);
  const sum = (own as number[]).reduce((s, x) => s + x, 0);
  const shared = Math.max(0, total - sum);
  return (own as number[]).map((x) => shared + x);
}

/** Builds units (parts when `split`), with their dependencies as unit ids. */
export function buildUnits(infos: NotebookInfo[], baseline: BaselineFile | undefined, split: boolean): Unit[] {
  const units: Unit[] = [];
  const idsOf = new Map<string, string[]>();
  for (const info of infos) {
    const entry = baseline?.notebooks[info.name];
    const recorded = typeof entry?.durationSec === "number";
    const total = recorded ? (entry?.durationSec as number) : UNKNOWN_DURATION_SEC;
    const deps: string[] = [];
    const after = info.after === "all" ? infos.filter((x) => x.order < info.order).map((x) => ({ notebook: x.name, part: undefined as string | undefined })) : info.after;
    for (const d of after) {
      const ids = idsOf.get(d.notebook) ?? [];
      deps.push(...(d.part !== undefined && ids.includes(unitId(d.notebook, d.part)) ? [unitId(d.notebook, d.part)] : ids));
    }
    if (split && info.parts) {
      const est = partEstimates(total, info.parts.values, entry?.metrics);
      const ids: string[] = [];
      info.parts.values.forEach((part, k) => {
        const id = unitId(info.name, part);
        ids.push(id);
        units.push({ id, notebook: info.name, file: info.file, part, env: { [info.parts!.parameter]: part }, estSec: est[k], recorded, after: [...new Set(deps)], exclusive: info.exclusive, order: info.order });
      });
      idsOf.set(info.name, ids);
    } else {
      idsOf.set(info.name, [info.name]);
      units.push({ id: info.name, notebook: info.name, file: info.file, env: {}, estSec: total, recorded, after: [...new Set(deps)], exclusive: info.exclusive, order: info.order });
    }
  }
  return units;
}

const byOrder = (a: Unit, b: Unit): number => a.order - b.order || a.id.localeCompare(b.id);

/**
 * Plans `count` shards for the notebooks (series order). Deterministic: the same notebooks, baseline and count
 * give the same plan on every machine.
 *
 * 1. Notebooks with `after: "all"` (and anything after them) form the final stage, run by `merge`.
 * 2. With count > 1, notebooks that declare parts become one unit per part.
 * 3. A dependency recorded at ≤ REPLICATE_MAX_SEC (and whose own dependencies are as cheap) is rebuilt by every
 *    shard that needs it; any other dependency ties its dependents to its shard.
 * 4. The groups so tied are dealt out longest first, each to the shard that would finish earliest (including the
 *    cheap dependencies it would have to rebuild there; ties: lowest shard number).
 * 5. A shard that got every part of a notebook runs it whole.
 */
export function planShards(files: string[], baseline: BaselineFile | undefined, count: number): ShardPlan {
  const infos = readNotebookInfos(files);
  const finalNames = new Set<string>();
  for (const info of infos) {
    if (info.after === "all" || info.after.some((d) => finalNames.has(d.notebook))) finalNames.add(info.name);
  }
  // A plan for one machine runs everything there, in series order.
  if (count === 1) finalNames.clear();
  const all = buildUnits(infos, baseline, count > 1);
  const units = all.filter((u) => !finalNames.has(u.notebook));
  const final = all.filter((u) => finalNames.has(u.notebook));
  const byId = new Map(units.map((u) => [u.id, u]));

  // Cheap dependencies that may be rebuilt anywhere.
  const replicable = new Set<string>();
  for (const u of [...units].sort(byOrder)) {
    if (u.part === undefined && u.recorded && u.estSec <= REPLICATE_MAX_SEC && u.after.every((d) => replicable.has(d))) replicable.add(u.id);
  }
  const supportClosure = (ids: Iterable<string>): Set<string> => {
    const out = new Set<string>();
    const visit = (id: string): void => {
      for (const d of byId.get(id)?.after ?? []) {
        if (replicable.has(d) && !out.has(d)) {
          out.add(d);
          visit(d);
        }
      }
    };
    for (const id of ids) visit(id);
    return out;
  };

  // Groups tied by expensive dependencies (union-find).
  const parent = new Map(units.map((u) => [u.id, u.id]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x) as string;
    return x;
  };
  for (const u of units) {
    for (const d of u.after) {
      if (!replicable.has(d) && byId.has(d)) {
        const a = find(u.id);
        const b = find(d);
        if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
      }
    }
  }
  const groups = new Map<string, Unit[]>();
  for (const u of units) {
    const root = find(u.id);
    groups.set(root, [...(groups.get(root) ?? []), u]);
  }
  const weight = (g: Unit[]): number => g.reduce((s, u) => s + u.estSec, 0);
  const ordered = [...groups.values()].sort((a, b) => weight(b) - weight(a) || Math.min(...a.map((u) => u.order)) - Math.min(...b.map((u) => u.order)) || a[0].id.localeCompare(b[0].id));

  const owned: Array<Set<string>> = Array.from({ length: count }, () => new Set());
  const cost = (ownIds: Set<string>): number => {
    let s = 0;
    for (const id of ownIds) s += byId.get(id)!.estSec;
    for (const id of supportClosure(ownIds)) if (!ownIds.has(id)) s += byId.get(id)!.estSec;
    return s;
  };
  for (const g of ordered) {
    let best = 0;
    let bestCost = Infinity;
    for (let k = 0; k < count; k++) {
      const c = cost(new Set([...owned[k], ...g.map((u) => u.id)]));
      if (c < bestCost - 1e-9) {
        best = k;
        bestCost = c;
      }
    }
    for (const u of g) owned[best].add(u.id);
  }

  // A shard with every part of a notebook runs it whole.
  const wholeUnits = buildUnits(infos, baseline, false);
  const wholeById = new Map(wholeUnits.map((u) => [u.id, u]));
  const shards: Shard[] = owned.map((ids, k) => {
    let own = [...ids].map((id) => byId.get(id)!);
    const coalesced = new Map<string, string>();
    for (const info of infos) {
      if (!info.parts || finalNames.has(info.name)) continue;
      const partIds = info.parts.values.map((p) => unitId(info.name, p));
      if (partIds.every((id) => ids.has(id))) {
        own = own.filter((u) => u.notebook !== info.name);
        own.push({ ...(wholeById.get(info.name) as Unit) });
        partIds.forEach((id) => coalesced.set(id, info.name));
      }
    }
    const remap = (d: string): string => coalesced.get(d) ?? d;
    own = own.map((u) => ({ ...u, after: [...new Set(u.after.map(remap))] }));
    const ownIds = new Set(own.map((u) => u.id));
    const support = [...supportClosure(ids)].filter((id) => !ids.has(id)).map((id) => ({ ...byId.get(id)! }));
    // Whole notebooks that depend on parts of a split notebook wait for every part they name (already in `after`).
    for (const u of own) {
      for (const d of u.after) {
        if (!ownIds.has(d) && !support.some((s) => s.id === d)) {
          throw new Error(`internal: shard ${k + 1} runs ${u.id} without its dependency ${d}`);
        }
      }
    }
    own.sort(byOrder);
    support.sort(byOrder);
    const sec = [...own, ...support].reduce((s, u) => s + u.estSec, 0);
    return { index: k + 1, own, support, sec };
  });
  const finalSec = final.reduce((s, u) => s + u.estSec, 0);
  const fingerprint = createHash("sha256")
    .update(JSON.stringify({ count, shards: shards.map((s) => [s.own.map((u) => u.id), s.support.map((u) => u.id)]), final: final.map((u) => u.id) }))
    .digest("hex")
    .slice(0, 16);
  return { count, shards, final, finalSec, fingerprint };
}

/** Every unit a shard runs, in series order, with its role. */
export function shardTasks(shard: Shard): Array<{ unit: Unit; role: "own" | "support" }> {
  return [...shard.own.map((unit) => ({ unit, role: "own" as const })), ...shard.support.map((unit) => ({ unit, role: "support" as const }))].sort((a, b) =>
    byOrder(a.unit, b.unit),
  );
}

const min = (sec: number): string => `${(sec / 60).toFixed(1)} min`;

/** The plan as text: one block per shard (the selected one marked), the final stage, and the longest shard. */
export function formatPlan(plan: ShardPlan, profile: string, selected?: number, baselineLabel = `notebooks/baselines/${profile}.json`): string {
  const lines: string[] = [`plan for ${plan.count} shard(s), profile ${profile} (durations from ${baselineLabel}; plan ${plan.fingerprint}):`];
  for (const s of plan.shards) {
    lines.push(`${s.index === selected ? "→" : " "} shard ${s.index}/${plan.count}: ${min(s.sec)}`);
    for (const { unit, role } of shardTasks(s)) {
      const note = role === "support" ? "  (rebuilt here for its dependents; reported by its own shard)" : "";
      lines.push(`      ${unit.id.padEnd(40)} ${min(unit.estSec).padStart(9)}${unit.recorded ? "" : " (no recorded duration)"}${note}`);
    }
  }
  if (plan.final.length > 0) {
    lines.push(`  final stage (run by npm run merge, after every shard): ${min(plan.finalSec)}`);
    for (const u of plan.final) lines.push(`      ${u.id.padEnd(40)} ${min(u.estSec).padStart(9)}`);
  }
  const longest = Math.max(...plan.shards.map((s) => s.sec));
  lines.push(`longest shard: ${min(longest)}; critical path with the final stage: ${min(longest + plan.finalSec)}`);
  return lines.join("\n");
}

/** The results file of one part, kept beside the notebook's merged one: results/parts/<notebook>.<part>.json. */
export function partResultsPath(artifactsDir: string, notebook: string, part: string): string {
  return path.join(artifactsDir, "results", "parts", `${notebook}.${part}.json`);
}

/** Results-file fields the part merge reads (lib's NotebookResults). */
export interface PartResults {
  notebook: string;
  profile: string;
  createdAt: string;
  durationSec?: number;
  metrics: Record<string, number>;
  models?: Array<{ name: string } & Record<string, unknown>>;
  config?: Record<string, unknown>;
  backend?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Config fields that may differ between the parts of one run by design: this machine's folders, and
 * the wasm thread count (one per notebook when several run at once; results do not depend on it).
 */
export const MACHINE_CONFIG_KEYS = ["artifactsDir", "dataDir", "wasmThreads"];

const portableConfig = (c: Record<string, unknown> | undefined): string =>
  JSON.stringify(Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => !MACHINE_CONFIG_KEYS.includes(k)).sort(([a], [b]) => a.localeCompare(b))));

/**
 * Merges the results files of a notebook's parts (in the notebook's part order) into the one file a whole run
 * writes: metrics and models in part order, the sum of the parts' durations, the newest creation time. Throws,
 * naming the difference, when the parts disagree on a shared metric, the profile, the configuration or the backend.
 */
export function mergePartResults(parts: Array<{ part: string; results: PartResults }>): PartResults {
  if (parts.length === 0) throw new Error("no parts to merge");
  const first = parts[0].results;
  const metrics: Record<string, number> = {};
  const models: NonNullable<PartResults["models"]> = [];
  let duration = 0;
  let createdAt = first.createdAt;
  for (const { part, results } of parts) {
    if (results.notebook !== first.notebook) throw new Error(`part ${part} holds results of ${results.notebook}, not ${first.notebook}`);
    if (results.profile !== first.profile) throw new Error(`${first.notebook}: part ${part} ran profile ${results.profile}, part ${parts[0].part} ${first.profile}`);
    if (portableConfig(results.config) !== portableConfig(first.config)) {
      throw new Error(`${first.notebook}: parts ${parts[0].part} and ${part} ran with different configurations (${portableConfig(first.config)} vs ${portableConfig(results.config)})`);
    }
    if (JSON.stringify(results.backend?.name) !== JSON.stringify(first.backend?.name)) {
      throw new Error(`${first.notebook}: parts ${parts[0].part} and ${part} ran on different backends (${String(first.backend?.name)} vs ${String(results.backend?.name)})`);
    }
    for (const [k, v] of Object.entries(results.metrics)) {
      if (k in metrics && metrics[k] !== v) throw new Error(`${first.notebook}: metric ${k} is ${metrics[k]} in one part and ${v} in part ${part}`);
      metrics[k] = v;
    }
    models.push(...(results.models ?? []));
    duration += results.durationSec ?? 0;
    if (results.createdAt > createdAt) createdAt = results.createdAt;
  }
  return { ...first, createdAt, durationSec: Math.round(duration * 1000) / 1000, metrics, models };
}
