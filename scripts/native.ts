/**
 * npm run native: makes FMNIST_BACKEND=tensorflow work (native TensorFlow through
 * @tensorflow/tfjs-node 4.22.0) without changing the lockfile's default install.
 *
 * tfjs-node 4.22.0's tarball ships no prebuilt addon and its installer downloads libtensorflow
 * 2.9.1 from Google's storage, then builds the addon with node-gyp. This script:
 *   1. installs the package (scripts off) into a cache folder outside node_modules
 *      ($FMNIST_CACHE_DIR, else $XDG_CACHE_HOME/fmnist, else ~/.cache/fmnist);
 *   2. gets libtensorflow: with --from download (or auto when Google's storage answers) the
 *      package's own installer downloads 2.9.1, as users elsewhere get it; with --from wheel (or
 *      auto when it does not) `pip download tensorflow-cpu==<version>` fetches the wheel from the
 *      index pip is configured with, and the C library inside it (libtensorflow_cc.so.2 exports
 *      every TF_ and TFE_ symbol the binding uses, plus libtensorflow_framework.so.2 and the headers)
 *      stands in for libtensorflow 2.9.1 under the names the binding links against;
 *   3. builds the addon with node-gyp (Node's headers, nothing downloaded);
 *   4. copies the built package over node_modules/@tensorflow/tfjs-node (which `npm ci` makes an
 *      alias of plain tfjs for danfojs-node; see README "Dependency overrides"), its own
 *      dependencies nested, so it shares the project's single tfjs 4.22 engine.
 * Steps 1-3 are cached: after every `npm ci`, run it again and only step 4 runs (seconds).
 *
 *   npm run native [-- --from auto|download|wheel] [--tensorflow 2.21.0] [--rebuild] [--check-only]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const TFJS_NODE_VERSION = "4.22.0";
/** The tensorflow-cpu wheel whose libtensorflow the addon is built against (tested here). */
const DEFAULT_TF_VERSION = "2.21.0";
const LIBTF_URL = "https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz";
const ROOT = path.resolve(__dirname, "..");

interface Options {
  from: "auto" | "download" | "wheel";
  tensorflow: string;
  rebuild: boolean;
  checkOnly: boolean;
}

const USAGE = `usage: npm run native [-- --from auto|download|wheel] [--tensorflow X.Y.Z] [--rebuild] [--check-only]
  --from        where libtensorflow comes from: download (tfjs-node's own installer, Google's storage),
                wheel (the tensorflow-cpu wheel through pip download), auto (default: download when
                Google's storage answers, else wheel)
  --tensorflow  tensorflow-cpu version for the wheel route (default ${DEFAULT_TF_VERSION})
  --rebuild     ignore the cached build
  --check-only  only report whether node_modules/@tensorflow/tfjs-node is the native build`;

function parseArgs(argv: string[]): Options {
  const o: Options = { from: "auto", tensorflow: DEFAULT_TF_VERSION, rebuild: false, checkOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith("--from")) {
      const v = value();
      if (v !== "auto" && v !== "download" && v !== "wheel") fail(`--from ${v}: choose auto, download or wheel\n${USAGE}`);
      o.from = v;
    } else if (a.startsWith("--tensorflow")) {
      const v = value();
      if (!/^\d+\.\d+\.\d+$/.test(v)) fail(`--tensorflow ${v}: give a version such as ${DEFAULT_TF_VERSION}`);
      o.tensorflow = v;
    } else if (a === "--rebuild") o.rebuild = true;
    else if (a === "--check-only") o.checkOnly = true;
    else fail(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

function fail(msg: string): never {
  console.error(`npm run native: ${msg}`);
  process.exit(2);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const shown = args.map((a) => (a.includes("\n") ? `'${a.split("\n")[0]} …'` : a));
  console.log(`$ ${cmd} ${shown.join(" ")}${opts.cwd ? `   (in ${opts.cwd})` : ""}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: opts.cwd, env: opts.env ?? process.env });
  if (r.error) fail(`${cmd} could not start (${r.error.message})`);
  if (r.status !== 0) fail(`${cmd} ${shown.join(" ")} failed (exit ${r.status ?? r.signal})`);
  console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function cacheRoot(): string {
  if (process.env.FMNIST_CACHE_DIR) return path.resolve(process.env.FMNIST_CACHE_DIR);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "fmnist");
}

/** npm's own node-gyp (npm sets npm_config_node_gyp for install scripts; here the build is run directly). */
function nodeGyp(): string {
  const npmCli = process.env.npm_execpath;
  const candidates = [
    process.env.npm_config_node_gyp,
    npmCli ? path.join(path.dirname(npmCli), "..", "node_modules", "node-gyp", "bin", "node-gyp.js") : undefined,
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].filter((c): c is string => Boolean(c));
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) fail(`node-gyp not found (looked at ${candidates.join(", ")}); install it with npm install -g node-gyp`);
  return found;
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(8000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Is node_modules/@tensorflow/tfjs-node the real package with a built addon? */
function installedState(): string {
  const dir = path.join(ROOT, "node_modules", "@tensorflow", "tfjs-node");
  try {
    const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name: string; version: string };
    if (pj.name !== "@tensorflow/tfjs-node") return `node_modules/@tensorflow/tfjs-node is ${pj.name}@${pj.version} (npm ci's alias for danfojs-node), not native TensorFlow`;
    const marker = path.join(dir, ".fmnist-native.json");
    if (!fs.existsSync(marker)) return "node_modules/@tensorflow/tfjs-node is the real package but was not installed by npm run native";
    return "";
  } catch (err) {
    return `node_modules/@tensorflow/tfjs-node is missing (${(err as Error).message.split("\n")[0]}); run npm ci first`;
  }
}

/** Extracts the C library and headers from a tensorflow-cpu wheel (a zip) with Python's zipfile. */
function extractWheel(wheel: string, dest: string): void {
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const py = [
    "import sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "names = [n for n in z.namelist() if n in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2') or n.startswith(('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/', 'tensorflow/include/tsl/', 'tensorflow/include/xla/tsl/'))]",
    "need = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2', 'tensorflow/include/tensorflow/c/c_api.h', 'tensorflow/include/tensorflow/c/eager/c_api.h'}",
    "missing = need - set(names)",
    "sys.exit('wheel lacks ' + ', '.join(sorted(missing))) if missing else None",
    "[z.extract(n, sys.argv[2]) for n in names]",
    "print(len(names), 'files extracted')",
  ].join("\n");
  run(process.env.PYTHON || "python3", ["-c", py, wheel, tmp]);
  fs.renameSync(tmp, dest);
}

function linkWheelLibtensorflow(pkgDir: string, libDir: string): void {
  const deps = path.join(pkgDir, "deps");
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, "lib"), { recursive: true });
  const tfDir = path.join(libDir, "tensorflow");
  fs.symlinkSync(path.join(tfDir, "include"), path.join(deps, "include"));
  // The binding links -ltensorflow -ltensorflow_framework (the first resolves to libtensorflow_cc.so.2, its
  // soname, so that name must be there at run time); the installer looks for libtensorflow.so.2.9.1.
  for (const name of ["libtensorflow.so.2.9.1", "libtensorflow.so.2", "libtensorflow.so", "libtensorflow_cc.so.2"]) fs.symlinkSync(path.join(tfDir, "libtensorflow_cc.so.2"), path.join(deps, "lib", name));
  for (const name of ["libtensorflow_framework.so.2", "libtensorflow_framework.so"]) fs.symlinkSync(path.join(tfDir, "libtensorflow_framework.so.2"), path.join(deps, "lib", name));
}

/** cp -a (fs.cpSync took 25 s for these 30 MB of small files on a loaded machine; cp takes under 1). */
function copyTree(from: string | string[], to: string): void {
  const r = spawnSync("cp", ["-a", ...(Array.isArray(from) ? from : [from]), to], { stdio: "inherit" });
  if (r.status !== 0) fail(`cp -a into ${to} failed`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.checkOnly) {
    const state = installedState();
    console.log(state || "node_modules/@tensorflow/tfjs-node: native build installed by npm run native");
    process.exit(state ? 1 : 0);
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    fail(`the wheel route is written for linux-x64 (this is ${process.platform}-${process.arch}); elsewhere install tfjs-node as its README says: npm install --no-save @tensorflow/tfjs-node@${TFJS_NODE_VERSION}`);
  }
  const started = Date.now();
  let from = o.from;
  const keyFor = (f: "download" | "wheel"): string => `tfjs-node-${TFJS_NODE_VERSION}-${f === "download" ? "libtf-2.9.1" : `tf-${o.tensorflow}`}-node-${process.versions.modules}`;
  const cache = cacheRoot();
  // A cached build of either route serves "auto" without asking the network (the re-link after npm ci).
  if (from === "auto" && !o.rebuild) {
    const cached = (["download", "wheel"] as const).find((f) => fs.existsSync(path.join(cache, "native", keyFor(f), "built.json")));
    if (cached) from = cached;
  }
  if (from === "auto") {
    from = (await reachable(LIBTF_URL)) ? "download" : "wheel";
    console.log(`libtensorflow: ${from === "download" ? "Google's storage answers: tfjs-node's own installer downloads 2.9.1" : `Google's storage does not answer: built against the tensorflow-cpu ${o.tensorflow} wheel (pip download)`}`);
  }
  const key = keyFor(from);
  const buildDir = path.join(cache, "native", key);
  const pkgDir = path.join(buildDir, "node_modules", "@tensorflow", "tfjs-node");
  const doneMarker = path.join(buildDir, "built.json");
  if (o.rebuild) fs.rmSync(buildDir, { recursive: true, force: true });
  if (!fs.existsSync(doneMarker)) {
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.mkdirSync(buildDir, { recursive: true });
    fs.writeFileSync(path.join(buildDir, "package.json"), JSON.stringify({ name: "fmnist-native-build", private: true }, null, 2));
    // 1. The package and its JavaScript dependencies, scripts off (its installer runs in step 3).
    run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", "--save-exact", `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`], { cwd: buildDir });
    // 2. libtensorflow.
    if (from === "wheel") {
      const wheels = path.join(cache, "wheels");
      fs.mkdirSync(wheels, { recursive: true });
      const have = () => fs.readdirSync(wheels).find((f) => f.startsWith(`tensorflow_cpu-${o.tensorflow}-`) && f.endsWith(".whl"));
      if (!have()) {
        // The index pip is configured with (pip config, PIP_INDEX_URL / PIP_EXTRA_INDEX_URL).
        run(process.env.PIP || "pip", ["download", "--no-deps", "--only-binary=:all:", "-d", wheels, `tensorflow-cpu==${o.tensorflow}`]);
      }
      const wheel = have();
      if (!wheel) fail(`pip download did not leave a tensorflow_cpu-${o.tensorflow} wheel in ${wheels}`);
      const libDir = path.join(cache, "libtensorflow", `tf-${o.tensorflow}`);
      if (!fs.existsSync(libDir)) extractWheel(path.join(wheels, wheel), libDir);
      linkWheelLibtensorflow(pkgDir, libDir);
    }
    // 3. The addon: the package's installer (downloads libtensorflow 2.9.1 unless deps/lib has it),
    //    with npm's node-gyp; node-pre-gyp first tries Google's prebuilt addon, then builds.
    const env = { ...process.env, npm_config_node_gyp: nodeGyp(), PATH: `${path.join(buildDir, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}` };
    run(process.execPath, ["scripts/install.js"], { cwd: pkgDir, env });
    // node-pre-gyp builds for the highest N-API version the package lists (napi-v8 on Node 20).
    const libOut = path.join(pkgDir, "lib");
    const addon = fs.existsSync(libOut) ? fs.readdirSync(libOut).map((d) => path.join(libOut, d, "tfjs_binding.node")).find((f) => fs.existsSync(f)) : undefined;
    if (!addon) fail(`the build finished but no ${libOut}/napi-v*/tfjs_binding.node exists`);
    // The build's intermediate files are not needed at run time.
    for (const d of fs.readdirSync(pkgDir)) if (d.startsWith("build-tmp")) fs.rmSync(path.join(pkgDir, d), { recursive: true, force: true });
    fs.writeFileSync(doneMarker, JSON.stringify({ key, from, tensorflow: from === "wheel" ? o.tensorflow : "2.9.1", builtAt: new Date().toISOString() }, null, 2));
  } else {
    console.log(`cached build: ${buildDir}`);
  }
  // 4. Into the project: the package, its own dependencies nested (never a second tfjs).
  const target = path.join(ROOT, "node_modules", "@tensorflow", "tfjs-node");
  if (!fs.existsSync(path.join(ROOT, "node_modules", "@tensorflow", "tfjs-core"))) fail("node_modules has no @tensorflow/tfjs-core: run npm ci first");
  console.log(`copying into node_modules (${((Date.now() - started) / 1000).toFixed(1)} s so far)`);
  const staging = `${target}.fmnist-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  copyTree(pkgDir, staging);
  fs.rmSync(path.join(staging, "node_modules"), { recursive: true, force: true });
  const nested = path.join(staging, "node_modules");
  fs.mkdirSync(nested);
  const deps = path.join(buildDir, "node_modules");
  // Everything but tfjs and its parts (the project's own) and npm's bookkeeping, in one cp.
  const entries = fs.readdirSync(deps).filter((e) => e !== ".bin" && e !== ".package-lock.json" && e !== "@tensorflow");
  copyTree(entries.map((e) => path.join(deps, e)), nested);
  fs.writeFileSync(path.join(staging, ".fmnist-native.json"), fs.readFileSync(doneMarker));
  const old = `${target}.old-${process.pid}`;
  fs.renameSync(target, old);
  fs.renameSync(staging, target);
  spawnSync("rm", ["-rf", old]);
  console.log(`copied into ${path.relative(ROOT, target)} (${((Date.now() - started) / 1000).toFixed(1)} s so far)`);
  // 5. Proof: the backend registers and computes.
  const probe = "const tf=require('@tensorflow/tfjs-node');const t=tf.tensor([1,2,3]).square().sum();" +
    "console.log('check: backend', tf.getBackend(), '| sum of squares of 1,2,3 =', t.dataSync()[0], '| tfjs-node', tf.version['tfjs-node']);";
  run(process.execPath, ["-e", probe], { cwd: ROOT });
  console.log(`npm run native: done in ${((Date.now() - started) / 1000).toFixed(1)} s; FMNIST_BACKEND=tensorflow now works (auto prefers it). Run it again after every npm ci.`);
}

void main();
