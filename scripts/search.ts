// `npm run search`: notebook 10's hyperparameter-search trials without the notebook, on one machine or shared among
// many (`--shard I/N`, the runner's syntax), each trial stored as it finishes under ARTIFACTS/search/<search id>/.
// `--gather` brings the shards' stores into one folder, checks that they make one search and prints its ranking and
// the final-training plan; notebook 10, pointed at that folder with FMNIST_TRIALS = the same count, reads the stored
// trials instead of training them and trains the winner.
import * as fs from "node:fs";
import * as path from "node:path";
import { resolveConfig, type ProfileName } from "../lib/src/config";
import { initBackend } from "../lib/src/backend/select";
import { makeSplit, saveSplit, splitPath } from "../lib/src/data/split";
import { writeFileAtomic } from "../lib/src/io";
import { describeModel } from "../lib/src/models";
import { loadStudyData } from "../lib/src/study-data";
import { parseTrials, planSearchShards, prepareSearch, searchParameters, trialTrainingMacs } from "../lib/src/search";
import { deterministicPart, listStoredSearches, readTrialFile, searchDir, type StoredSearch, type StoredTrial } from "../lib/src/search-store";
import { runSearch, type TrialResult } from "../lib/src/tuning";
import { planFinalTraining, planRows } from "../lib/src/training-plan";
import { resolveShard, type ShardSpec } from "./runner/shard";
import { readArgs } from "./cli-args";
import { runMain } from "./cli-main";
import { readProvenance } from "./runner/provenance";

const REPO_ROOT = path.resolve(__dirname, "..");

export const SEARCH_USAGE = `usage: npm run search -- [options]
       npm run search -- --gather --out DIR SHARD_DIR...

Runs notebook 10's hyperparameter-search trials without the notebook (all of them, or this machine's share of a
wider search) and stores each trial's result under ARTIFACTS/search/<search id>/ as soon as it finishes; trials
already stored there are not trained again. Notebook 10 reads stored trials instead of training them.

  --profile quick|full   profile (default: $FMNIST_PROFILE, else quick)
  --trials N             trials to sample (default: the profile's, 3 quick / 8 full; notebook 10: FMNIST_TRIALS=N)
  --shard I/N            this machine's share of the trials (also FMNIST_SHARD=I/N), balanced by multiply-adds
  --shard-count N        with JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based): --shard INDEX+1/N
  --artifacts DIR        where results go (default: $FMNIST_ARTIFACTS_DIR, else artifacts/)
  --list                 print every shard's trials and multiply-adds, and run nothing
  --gather               copy the stores of SHARD_DIR... into --out DIR, check they hold one search with every
                         trial once, write its ranking (search/<id>/ranking.json) and print the final-training plan
  --out DIR              with --gather: the folder to gather into (may already hold trials of the same search)
  --allow-missing        with --gather: rank the trials present even when some are missing
  -h, --help             this text`;

export interface SearchCliOptions {
  mode: "run" | "list" | "gather";
  profile?: ProfileName;
  trials?: number;
  shardArg?: string;
  shardCountArg?: string;
  artifacts?: string;
  out?: string;
  shardDirs: string[];
  allowMissing: boolean;
}

/** A refusal to gather: the folders do not hold one complete search. */
export class GatherRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GatherRefusal";
  }
}

export function parseSearchArgs(argv: string[], cwd = process.cwd()): SearchCliOptions | "help" {
  const o: SearchCliOptions = { mode: "run", shardDirs: [], allowMissing: false };
  for (const { flag, value } of readArgs(argv)) {
    switch (flag) {
      case "--profile": {
        const p = value();
        if (p !== "quick" && p !== "full") throw new Error(`--profile must be quick or full, got ${JSON.stringify(p)}.`);
        o.profile = p;
        break;
      }
      case "--trials": o.trials = parseTrials(value(), "--trials"); break;
      case "--shard": o.shardArg = value(); break;
      case "--shard-count": o.shardCountArg = value(); break;
      case "--artifacts": o.artifacts = path.resolve(cwd, value()); break;
      case "--list": o.mode = "list"; break;
      case "--gather": o.mode = "gather"; break;
      case "--out": o.out = path.resolve(cwd, value()); break;
      case "--allow-missing": o.allowMissing = true; break;
      case "-h":
      case "--help": return "help";
      default:
        if (flag.startsWith("-")) throw new Error(`unknown option "${flag}".`);
        if (!argv.includes("--gather")) throw new Error(`unexpected argument "${flag}" (folders are only for --gather).`);
        o.shardDirs.push(path.resolve(cwd, flag));
    }
  }
  if (o.mode === "gather") {
    if (!o.out) throw new Error("--gather needs --out DIR.");
    if (o.shardDirs.length === 0) throw new Error("--gather needs the shards' artifacts folders.");
  } else if (o.out || o.allowMissing) throw new Error("--out and --allow-missing go with --gather.");
  return o;
}

/** The record a shard run leaves beside the trials: which trials it was given, out of how many. */
interface ShardRecord {
  schema: 1;
  searchId: string;
  trials: number;
  shard: ShardSpec | null;
  trialIds: number[];
  provenance: ReturnType<typeof readProvenance>;
  createdAt: string;
}

function runEnv(o: SearchCliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["FMNIST_SHARD", "FMNIST_SHARD_COUNT", "FMNIST_COMMIT", "FMNIST_TRIALS"]) delete env[k];
  if (o.profile) env.FMNIST_PROFILE = o.profile;
  if (o.artifacts) env.FMNIST_ARTIFACTS_DIR = o.artifacts;
  return env;
}

/** Runs (or with --list, prints) this machine's share. Returns the exit code. */
export async function runTrials(o: SearchCliOptions, shard: ShardSpec | undefined): Promise<number> {
  const cfg = resolveConfig(runEnv(o));
  const trials = o.trials ?? searchParameters(process.env).trials;
  const backend = await initBackend(cfg.backend);
  if (!fs.existsSync(splitPath(cfg))) {
    // The split is what notebook 02 writes: deterministic from the data, the seed and the sizes.
    const file = saveSplit(makeSplit(cfg), cfg);
    console.log(`split written to ${file} (the one notebook 02 writes for this profile and seed)`);
  }
  const data = loadStudyData(cfg);
  const search = prepareSearch(cfg, data, backend, { trials });
  const count = shard?.count ?? 1;
  const shares = planSearchShards(search.trials, count, (t) => trialTrainingMacs(t, search.model, search.indices.length, search.budget.epochs));
  console.log(`${search.summary}\nbackend ${backend.name}; search id ${search.store.id}`);
  if (o.mode === "list") {
    for (const s of shares) {
      console.log(`${shard?.index === s.index ? "→" : " "} shard ${s.index}/${count}: trials ${s.trialIds.join(", ") || "(none)"}; at most ${(s.macs / 1e12).toFixed(2)} T training multiply-adds`);
    }
    return 0;
  }
  const mine = shares[(shard?.index ?? 1) - 1];
  console.log(`shard ${shard ? `${shard.index}/${shard.count}` : "1/1"}: trials ${mine.trialIds.join(", ") || "(none)"}`);
  let trained = 0;
  const results = await runSearch(search.trials, { train: search.train, val: data.val }, {
    model: search.model, epochs: search.budget.epochs, patience: search.budget.patience, seed: cfg.seed,
    store: search.store, only: mine.trialIds, listenForInterrupts: true,
    onTrial: (r, i, n, from) => {
      if (!from.stored) trained++;
      console.log(`trial ${r.id} (${i + 1}/${n}): ${r.optimizer} lr=${r.learningRate} filters=${r.filters} dropout=${r.dropout} batch=${r.batchSize} → val acc ${r.valAcc.toFixed(4)}, val loss ${r.valLoss.toFixed(4)} (${from.stored ? "already stored" : `${r.trainSec.toFixed(0)} s, stored`})`);
    },
  });
  const record: ShardRecord = {
    schema: 1, searchId: search.store.id, trials: search.trials.length, shard: shard ?? null, trialIds: mine.trialIds,
    provenance: readProvenance(REPO_ROOT), createdAt: new Date().toISOString(),
  };
  const done = results.length === mine.trialIds.length;
  if (done) writeFileAtomic(path.join(search.store.dir, `shard-${shard?.index ?? 1}-of-${count}.json`), JSON.stringify(record, null, 2) + "\n");
  console.log(`${results.length} of ${mine.trialIds.length} trial(s) in ${search.store.dir} (${trained} trained now, ${results.length - trained} already there)`);
  if (!done) {
    console.log("interrupted: the trials above are kept; run the same command again to continue.");
    return 130;
  }
  return 0;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (err) {
    throw new GatherRefusal(`${file} is unreadable (${(err as Error).message.split("\n")[0]}).`);
  }
}

/** Names the fields in which two search keys differ. */
function keyDifference(a: StoredSearch["key"], b: StoredSearch["key"]): string {
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return fields
    .filter((k) => JSON.stringify((a as unknown as Record<string, unknown>)[k]) !== JSON.stringify((b as unknown as Record<string, unknown>)[k]))
    .map((k) => `${k}: ${JSON.stringify((a as unknown as Record<string, unknown>)[k])} vs ${JSON.stringify((b as unknown as Record<string, unknown>)[k])}`)
    .join("; ");
}

/** The gathered search: its key, trials (by id) and ranking. */
export interface GatheredSearch {
  searchId: string;
  key: StoredSearch["key"];
  trials: number;
  results: TrialResult[];
  missing: number[];
  ranking: TrialResult[];
}

/** Gathers the shards' stores into `out`. Throws GatherRefusal, naming the problem, when they are not one complete search. */
export function gather(o: Pick<SearchCliOptions, "out" | "shardDirs" | "allowMissing">): GatheredSearch {
  const out = o.out as string;
  const stores = o.shardDirs.map((dir) => {
    if (!fs.existsSync(dir)) throw new GatherRefusal(`${dir} does not exist.`);
    const found = listStoredSearches(dir);
    if (found.size === 0) throw new GatherRefusal(`${dir} holds no stored search (search/<id>/): was \`npm run search\` run with --artifacts ${dir}?`);
    return { dir, found };
  });
  const common = [...stores[0].found.keys()].filter((id) => stores.every((s) => s.found.has(id)));
  if (common.length !== 1) {
    const describe = (dir: string, id: string): StoredSearch["key"] => readJson<StoredSearch>(path.join(searchDir(dir, id), "search.json")).key;
    if (common.length === 0) {
      const a = stores[0];
      const b = stores.find((s) => ![...s.found.keys()].some((id) => a.found.has(id)))!;
      const [ia, ib] = [[...a.found.keys()][0], [...b.found.keys()][0]];
      throw new GatherRefusal(`${a.dir} and ${b.dir} hold different searches (${ia} vs ${ib}), which differ in ${keyDifference(describe(a.dir, ia), describe(b.dir, ib)) || "nothing recorded"}: run every shard with the same checkout, profile, trial count and backend.`);
    }
    throw new GatherRefusal(`the folders share several searches (${common.join(", ")}): gather from folders that each hold one.`);
  }
  const id = common[0];
  const meta = readJson<StoredSearch>(path.join(searchDir(stores[0].dir, id), "search.json"));
  const target = searchDir(out, id);
  const byTrial = new Map<number, { file: string; stored: StoredTrial }>();
  let trials = 0;
  for (const s of stores) {
    const dir = searchDir(s.dir, id);
    for (const f of fs.readdirSync(dir).filter((n) => /^shard-\d+-of-\d+\.json$/.test(n))) trials = Math.max(trials, readJson<ShardRecord>(path.join(dir, f)).trials);
  }
  // The shards' trials, then any the --out folder already holds: each trial once, the same wherever it was trained.
  const files = [...stores.flatMap((s) => s.found.get(id)!), ...(listStoredSearches(out).get(id) ?? [])];
  for (const file of files) {
    const stored = readTrialFile(file, { searchId: id });
    const prev = byTrial.get(stored.result.id);
    if (prev && deterministicPart(prev.stored.result) !== deterministicPart(stored.result)) {
      throw new GatherRefusal(`trial ${stored.result.id} differs between ${prev.file} and ${file} (beyond its measured times): the same trial must give the same result; retrain it (delete one file) and gather again.`);
    }
    if (!prev) byTrial.set(stored.result.id, { file, stored });
  }
  if (trials === 0) trials = Math.max(...byTrial.keys());
  const missing = Array.from({ length: trials }, (_, i) => i + 1).filter((t) => !byTrial.has(t));
  if (missing.length > 0 && !o.allowMissing) {
    throw new GatherRefusal(`search ${id} has ${trials} trials, but trial(s) ${missing.join(", ")} are in none of the folders: run the shards that own them (npm run search -- --list shows who), or pass --allow-missing.`);
  }
  fs.mkdirSync(target, { recursive: true });
  writeFileAtomic(path.join(target, "search.json"), JSON.stringify(meta, null, 2) + "\n");
  for (const s of stores) {
    const dir = searchDir(s.dir, id);
    for (const f of fs.readdirSync(dir).filter((n) => /^shard-\d+-of-\d+\.json$/.test(n))) {
      writeFileAtomic(path.join(target, `${path.basename(s.dir)}.${f}`), fs.readFileSync(path.join(dir, f)));
    }
  }
  for (const [trialId, { file }] of byTrial) {
    const dest = path.join(target, path.basename(file));
    if (trialId <= trials && path.resolve(file) !== path.resolve(dest)) writeFileAtomic(dest, fs.readFileSync(file));
  }
  const results = [...byTrial.values()].map((v) => v.stored.result).filter((r) => r.id <= trials).sort((a, b) => a.id - b.id);
  const ranking = [...results].sort((a, b) => b.valAcc - a.valAcc || a.valLoss - b.valLoss || a.id - b.id);
  writeFileAtomic(path.join(target, "ranking.json"), JSON.stringify({ schema: 1, searchId: id, key: meta.key, trials, missing, ranking }, null, 2) + "\n");
  return { searchId: id, key: meta.key, trials, results, missing, ranking };
}

async function printGathered(g: GatheredSearch, out: string): Promise<void> {
  console.log(`search ${g.searchId} (profile ${g.key.profile}, backend ${g.key.backend}): ${g.results.length} of ${g.trials} trial(s) gathered in ${searchDir(out, g.searchId)}${g.missing.length ? `; missing: ${g.missing.join(", ")}` : ""}`);
  console.table(g.ranking.map((r) => ({ trial: r.id, optimizer: r.optimizer, lr: r.learningRate, filters: r.filters, dropout: r.dropout, batch: r.batchSize, valAcc: r.valAcc.toFixed(4), valLoss: r.valLoss.toFixed(4) })));
  const profile = g.key.profile as ProfileName;
  const cfg = resolveConfig({}, { profile });
  await initBackend("cpu"); // the plan counts multiply-adds from built models' layers; no training here
  const plan = planFinalTraining(g.results, { profile, model: g.key.model, trainImages: cfg.trainSize + cfg.valSize, registryEpochs: describeModel(g.key.model).training.epochs, profileEpochs: cfg.epochs });
  console.table(planRows(plan));
  console.log(plan.summary);
  console.log(`next: FMNIST_TRIALS=${g.trials} FMNIST_ARTIFACTS_DIR=${out} with profile ${profile} for notebook 10 (it reads these trials and trains the winner), e.g.\n  npx tsx scripts/run-notebooks.ts --profile ${profile} --set TRIALS=${g.trials} --set ARTIFACTS_DIR=${out} 02-preprocessing 10-tuning`);
}

if (require.main === module) {
  runMain({
    name: "search",
    usage: SEARCH_USAGE,
    parse: (argv) => {
      const o = parseSearchArgs(argv);
      if (o === "help") return o;
      return { o, shard: o.mode === "gather" ? undefined : resolveShard(o.shardArg, o.shardCountArg, process.env) };
    },
    run: async ({ o, shard }) => {
      if (o.mode !== "gather") return runTrials(o, shard);
      await printGathered(gather(o), o.out as string);
      return 0;
    },
    refusal: { type: GatherRefusal, prefix: "search --gather refused" },
  });
}
