// Creates (or reuses) the Python virtual environment with JupyterLab that the end-to-end front-end
// test (test/jupyterlab.test.ts) drives, under a per-user cache folder with owner-only permissions.
// Installs pinned versions from the package indexes pip is configured with (`pip config list`), so an
// offline machine with a local index installs in seconds instead of retrying an unreachable default index.
// Usage: npx tsx scripts/jupyter-env.ts [--print] [--force]   
//   --print  only print where the venv is and whether it is ready (exit 1 when it is not)
//   --force  recreate the venv from scratch
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What the venv installs: JupyterLab 4.6 for the front-end test, nbformat to validate saved notebooks. */
export const JUPYTER_PINS = ["jupyterlab==4.6.4", "nbformat==5.11.1"] as const;

/** Environment variable that points the test (and this script) at another venv. */
export const VENV_ENV = "FMNIST_JUPYTER_VENV";

/** Written into the venv once the pinned install succeeded; a venv without it (or with other pins) is rebuilt. */
const STAMP = ".fmnist-jupyter-env.json";

/**
 * Where the venv lives: $FMNIST_JUPYTER_VENV, else $XDG_CACHE_HOME/fmnist/jupyter-venv (~/.cache/fmnist/jupyter-venv),
 * next to the checksum cache the data loader keeps in ~/.cache/fmnist.
 */
export function jupyterVenvDir(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  if (env[VENV_ENV]) return path.resolve(env[VENV_ENV]!);
  const cache = env.XDG_CACHE_HOME || path.join(home, ".cache");
  return path.join(cache, "fmnist", "jupyter-venv");
}

/** A usable JupyterLab venv. */
export interface JupyterEnv {
  venv: string;
  /** The venv's python (runs `python -m jupyter lab`, `python -c "import nbformat ..."`). */
  python: string;
  /** The venv's `jupyter` launcher. */
  jupyter: string;
  /** `jupyter lab --version`. */
  labVersion: string;
}

/**
 * Finds JupyterLab in the venv: its python and jupyter, `jupyter lab --version` answering and nbformat importable.
 * @returns the env, or a sentence saying what is missing and how to create it
 */
export function findJupyterEnv(venv: string = jupyterVenvDir()): JupyterEnv | { missing: string } {
  const python = path.join(venv, "bin", "python");
  const jupyter = path.join(venv, "bin", "jupyter");
  const how = "run `npx tsx scripts/jupyter-env.ts` to create it";
  if (!fs.existsSync(python) || !fs.existsSync(jupyter)) return { missing: `no JupyterLab venv at ${venv}: ${how}` };
  const probe = spawnSync(
    python,
    ["-c", "import sys, nbformat, jupyterlab; sys.stdout.write(jupyterlab.__version__)"],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (probe.status !== 0) {
    return { missing: `the venv at ${venv} cannot import jupyterlab and nbformat (${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}): ${how}` };
  }
  const labVersion = probe.stdout.trim();
  if (!/^4\./.test(labVersion)) return { missing: `the venv at ${venv} has JupyterLab ${labVersion}, not 4.x: ${how} --force` };
  return { venv, python, jupyter, labVersion };
}

/** Index options from `pip config list` (index-url, extra-index-url, find-links), in pip's own quoting. */
export function pipIndexArgs(configList: string): string[] {
  const values = (key: string): string[] => {
    const out: string[] = [];
    for (const line of configList.split("\n")) {
      // e.g. global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple' or :env:.find-links='/opt/wheels'
      const m = /^[^=]*\.([a-z-]+)='(.*)'\s*$/.exec(line.trim());
      if (m && m[1] === key) out.push(...m[2].split(/\s+/).filter(Boolean));
    }
    return [...new Set(out)];
  };
  const index = values("index-url");
  const extra = values("extra-index-url");
  const links = values("find-links");
  const args: string[] = [];
  // The configured indexes replace pip's default one when no index-url is configured: where the
  // default is unreachable, consulting it costs minutes of retries per package.
  const indexes = [...index, ...extra];
  if (indexes.length > 0) {
    args.push("--index-url", indexes[0]);
    for (const u of indexes.slice(1)) args.push("--extra-index-url", u);
  }
  for (const l of links) args.push("--find-links", l);
  return args;
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): void {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env: opts.env ?? process.env, timeout: 15 * 60_000 });
  if (r.error) throw new Error(`${cmd} failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(" ")} … exited with ${r.status ?? r.signal}`);
}

/**
 * Creates the venv (or reuses it when its stamp lists the same pins and JupyterLab answers) and installs the pins.
 * @returns the ready env and whether anything was installed
 */
export function ensureJupyterEnv(opts: { venv?: string; force?: boolean; python?: string } = {}): { env: JupyterEnv; installed: boolean; seconds: number } {
  const started = Date.now();
  const venv = opts.venv ?? jupyterVenvDir();
  const stampFile = path.join(venv, STAMP);
  const wanted = JSON.stringify({ pins: JUPYTER_PINS });
  if (!opts.force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8").trim() === wanted) {
    const found = findJupyterEnv(venv);
    if (!("missing" in found)) return { env: found, installed: false, seconds: (Date.now() - started) / 1000 };
  }
  if (opts.force || (fs.existsSync(venv) && !fs.existsSync(path.join(venv, "bin", "python")))) fs.rmSync(venv, { recursive: true, force: true });
  // Owner-only: the parent cache folder and the venv itself.
  fs.mkdirSync(path.dirname(venv), { recursive: true, mode: 0o700 });
  const python = opts.python ?? process.env.PYTHON ?? "python3";
  if (!fs.existsSync(path.join(venv, "bin", "python"))) run(python, ["-m", "venv", venv]);
  fs.chmodSync(venv, 0o700);
  const venvPython = path.join(venv, "bin", "python");
  const config = spawnSync(venvPython, ["-m", "pip", "config", "list"], { encoding: "utf8" });
  const indexArgs = pipIndexArgs(config.stdout ?? "");
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" };
  // Few retries and a short timeout: an index that does not answer fails in seconds, not minutes.
  run(venvPython, ["-m", "pip", "install", "-qq", "--retries", "1", "--timeout", "15", ...indexArgs, ...JUPYTER_PINS], { env });
  const found = findJupyterEnv(venv);
  if ("missing" in found) throw new Error(found.missing);
  fs.writeFileSync(stampFile, wanted + "\n", { mode: 0o600 });
  return { env: found, installed: true, seconds: (Date.now() - started) / 1000 };
}

function main(argv: string[]): number {
  const unknown = argv.filter((a) => a !== "--print" && a !== "--force");
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown[0]}; usage: tsx scripts/jupyter-env.ts [--print] [--force]`);
    return 2;
  }
  if (argv.includes("--print")) {
    const found = findJupyterEnv();
    if ("missing" in found) {
      console.log(found.missing);
      return 1;
    }
    console.log(`JupyterLab ${found.labVersion} in ${found.venv}`);
    return 0;
  }
  const { env, installed, seconds } = ensureJupyterEnv({ force: argv.includes("--force") });
  console.log(`${installed ? "Installed" : "Reusing"} JupyterLab ${env.labVersion} (${JUPYTER_PINS.join(", ")}) in ${env.venv} (${seconds.toFixed(1)} s)`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
