// Command-line options of scripts/run-notebooks.ts, parsed and validated in one place.
import * as os from "node:os";
import * as path from "node:path";
import type { Profile } from "./baseline";

/** Parsed runner options. */
export interface RunnerOptions {
  profile: Profile;
  /** FMNIST_* overrides from --set, already in environment-variable form (FMNIST_EPOCHS=3). */
  overrides: Record<string, string>;
  /** Notebook names, globs or paths; empty = every notebooks/*.ipynb. */
  selectors: string[];
  notebooksDir: string;
  /** Output folder; undefined = <artifactsDir>/executed/<profile>. */
  outputDir?: string;
  inPlace: boolean;
  check: boolean;
  updateBaseline: boolean;
  requireBaseline: boolean;
  strictTime: boolean;
  timeFactor: number;
  /** undefined = notebooks/baselines/<profile>.json */
  baselineFile?: string;
  keepGoing: boolean;
  /** Notebooks run at once (each in its own kernel process); dependencies declared in notebook metadata are kept. */
  jobs: number;
  cellTimeoutSec: number;
  notebookTimeoutSec: number;
  kernelTimeoutSec: number;
  list: boolean;
  /** --shard I/N as given (validated by resolveShard, which also reads FMNIST_SHARD and JOB_COMPLETION_INDEX). */
  shard?: string;
  /** --shard-count N (with JOB_COMPLETION_INDEX). */
  shardCount?: string;
  help: boolean;
}

/** Generous defaults: the full profile trains several models per notebook on a 2-core machine without native TensorFlow. */
export const TIMEOUT_DEFAULTS: Record<Profile, { cell: number; notebook: number; kernel: number }> = {
  quick: { cell: 900, notebook: 1800, kernel: 60 },
  full: { cell: 4 * 3600, notebook: 12 * 3600, kernel: 120 },
};

export const USAGE = `usage: tsx scripts/run-notebooks.ts [options] [notebook|glob ...]

Runs notebooks/*.ipynb (or the named ones: "01-explore", "0[1-3]*", a path) in order on the project's
tslab kernel, writes executed copies and a summary, and optionally checks results against the baseline.

  --profile quick|full     parameter profile, passed as FMNIST_PROFILE (default: $FMNIST_PROFILE or quick)
  --set KEY=VALUE          extra parameter, passed as FMNIST_KEY (e.g. --set EPOCHS=3, --set backend=wasm)
  --check                  compare each notebook's results with notebooks/baselines/<profile>.json
  --update-baseline        rewrite the baseline entries of the notebooks run from their results
  --require-baseline       with --check: a notebook without a baseline entry fails
  --strict-time            with --check: timings beyond the factor fail (default: reported only)
  --time-factor X          allowed slow-down against baseline timings (default 3)
  --baseline FILE          baseline file to use instead of notebooks/baselines/<profile>.json
  --keep-going             run the remaining notebooks after a failing one
  --jobs N|auto            run up to N notebooks at once, one kernel (and one wasm thread) each; auto = one
                           per core, at most 4 (default 1: one notebook, wasm on every core). A notebook
                           waits for the notebooks its metadata.fmnist.after lists.
  --output DIR             where executed notebooks go (default artifacts/executed/<profile>)
  --in-place               overwrite the source notebooks with the executed ones
  --notebooks-dir DIR      where to look for notebooks (default notebooks/)
  --cell-timeout SEC       per-cell limit (default 900 quick, 14400 full)
  --notebook-timeout SEC   whole-notebook budget (default 1800 quick, 43200 full)
  --kernel-timeout SEC     kernel start limit (default 60 quick, 120 full)
  --list                   print the notebooks that would run and exit (with --shard: the plan of every shard,
                           expected minutes from the baseline's durations)
  --shard I/N              run share I of N (1-based) of the notebooks: a deterministic plan from the baseline's
                           durations (longest first) and metadata.fmnist.after; split notebooks run as parts;
                           notebooks after "all" are left to \`npm run merge\` (also FMNIST_SHARD=I/N)
  --shard-count N          with JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based): --shard INDEX+1/N
                           (also FMNIST_SHARD_COUNT=N)
  -h, --help               this text`;

/** Turns "trainSize", "TRAIN_SIZE", "train-size" or "FMNIST_TRAIN_SIZE" into "FMNIST_TRAIN_SIZE". */
export function envKey(key: string): string {
  const snake = key
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toUpperCase()
    .replace(/^FMNIST_/, "");
  if (!/^[A-Z][A-Z0-9_]*$/.test(snake)) throw new Error(`--set: "${key}" is not a parameter name (letters, digits, _).`);
  return `FMNIST_${snake}`;
}

/** Parameters that name folders: relative values are resolved against the runner's current folder. */
export const PATH_PARAMETERS = ["FMNIST_DATA_DIR", "FMNIST_ARTIFACTS_DIR"] as const;

/**
 * Parses argv (without node and the script). Throws an Error with the usage hint on bad input.
 * @param cwd - folder relative --set DATA_DIR= / ARTIFACTS_DIR= values are resolved against (the kernel runs in
 *   notebooks/, so they must be absolute by the time they reach it)
 */
export function parseArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  repoRoot = path.resolve(__dirname, "..", ".."),
  cwd: string = process.cwd(),
): RunnerOptions {
  const envProfile = env.FMNIST_PROFILE;
  let profileGiven = false;
  const o: RunnerOptions = {
    profile: envProfile === "full" ? "full" : "quick",
    overrides: {},
    selectors: [],
    notebooksDir: path.join(repoRoot, "notebooks"),
    inPlace: false,
    check: false,
    updateBaseline: false,
    requireBaseline: false,
    strictTime: false,
    timeFactor: 3,
    keepGoing: false,
    jobs: 1,
    cellTimeoutSec: NaN,
    notebookTimeoutSec: NaN,
    kernelTimeoutSec: NaN,
    list: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value; see --help.`);
    return v;
  };
  const seconds = (v: string, flag: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`${flag} must be a positive number of seconds, got "${v}".`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0 && a !== "--set") {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = value(i, a);
      i++;
      return v;
    };
    switch (a) {
      case "--profile": {
        const p = take();
        if (p !== "quick" && p !== "full") throw new Error(`--profile must be quick or full, got "${p}".`);
        o.profile = p;
        profileGiven = true;
        break;
      }
      case "--set": {
        const kv = take();
        const k = kv.indexOf("=");
        if (k <= 0) throw new Error(`--set expects KEY=VALUE, got "${kv}".`);
        const key = envKey(kv.slice(0, k));
        if (key === "FMNIST_PROFILE") throw new Error("use --profile instead of --set PROFILE=…");
        let v = kv.slice(k + 1);
        if ((PATH_PARAMETERS as readonly string[]).includes(key)) {
          if (v.trim() === "") throw new Error(`--set ${kv.slice(0, k)}= needs a folder path.`);
          v = path.resolve(cwd, v);
        }
        o.overrides[key] = v;
        break;
      }
      case "--check": o.check = true; break;
      case "--update-baseline": o.updateBaseline = true; break;
      case "--require-baseline": o.requireBaseline = true; break;
      case "--strict-time": o.strictTime = true; break;
      case "--time-factor": {
        const v = take();
        o.timeFactor = Number(v);
        if (!(o.timeFactor >= 1)) throw new Error(`--time-factor must be a number ≥ 1, got "${v}".`);
        break;
      }
      case "--baseline": o.baselineFile = path.resolve(take()); break;
      case "--keep-going": o.keepGoing = true; break;
      case "--jobs": {
        const v = take();
        o.jobs = v === "auto" ? Math.max(1, Math.min(4, os.cpus().length)) : /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(o.jobs >= 1 && o.jobs <= 16)) throw new Error(`--jobs must be auto or a whole number from 1 to 16, got "${v}".`);
        break;
      }
      case "--output": o.outputDir = path.resolve(take()); break;
      case "--in-place": o.inPlace = true; break;
      case "--notebooks-dir": o.notebooksDir = path.resolve(take()); break;
      case "--cell-timeout": o.cellTimeoutSec = seconds(take(), a); break;
      case "--notebook-timeout": o.notebookTimeoutSec = seconds(take(), a); break;
      case "--kernel-timeout": o.kernelTimeoutSec = seconds(take(), a); break;
      case "--list": o.list = true; break;
      case "--shard": o.shard = take(); break;
      case "--shard-count": o.shardCount = take(); break;
      case "-h":
      case "--help": o.help = true; break;
      default:
        if (a.startsWith("-")) throw new Error(`unknown option "${a}"; see --help.`);
        o.selectors.push(a);
    }
  }
  // $FMNIST_PROFILE is the default profile: an unknown value is an error, as in lib's resolveConfig (empty counts
  // as unset, as in `FMNIST_PROFILE= npm test`). With --profile it is not used (the kernel gets --profile's value).
  if (!profileGiven && envProfile !== undefined && envProfile !== "" && envProfile !== "quick" && envProfile !== "full") {
    throw new Error(`FMNIST_PROFILE = ${JSON.stringify(envProfile)}: unknown profile; choose one of quick, full (or pass --profile).`);
  }
  if (o.inPlace && o.outputDir) throw new Error("--in-place and --output exclude each other.");
  if ((o.shard !== undefined || o.shardCount !== undefined) && o.inPlace) throw new Error("--shard and --in-place exclude each other.");
  if ((o.shard !== undefined || o.shardCount !== undefined) && o.updateBaseline) {
    throw new Error("--shard and --update-baseline exclude each other: record a baseline from one machine's run.");
  }
  const d = TIMEOUT_DEFAULTS[o.profile];
  if (Number.isNaN(o.cellTimeoutSec)) o.cellTimeoutSec = d.cell;
  if (Number.isNaN(o.notebookTimeoutSec)) o.notebookTimeoutSec = d.notebook;
  if (Number.isNaN(o.kernelTimeoutSec)) o.kernelTimeoutSec = d.kernel;
  return o;
}

/** Converts a shell-style glob (*, ?, [..]) to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (const ch of glob) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[" || ch === "]") re += ch;
    else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
