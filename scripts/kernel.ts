// Registers (or removes) the project's Jupyter kernelspec "fmnist-tslab", which runs this checkout's own tslab,
// without IPython: a kernelspec is just a kernel.json in a Jupyter kernels folder.
// Usage: npx tsx scripts/kernel.ts install|uninstall [--prefix DIR]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeJsonAtomic } from "./runner/atomic";

/** The kernelspec's name: the folder under kernels/ and what notebooks name in metadata.kernelspec.name. */
export const KERNEL_NAME = "fmnist-tslab";
/** Shown in JupyterLab's launcher and kernel picker. */
export const KERNEL_DISPLAY_NAME = "TypeScript (fmnist)";

/** The contents of kernel.json, per the Jupyter kernelspec format. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
}

/** Repository root (this file lives in <repo>/scripts). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * Builds the kernelspec for this checkout's tslab. The argv matches what `tslab install` writes
 * (`tslab kernel --config-path {connection_file}`, split in two arguments, see tslab#36) but starts the
 * script with an absolute node so it works when Jupyter's PATH has no (or another) node.
 * @param repoRoot - repository root holding node_modules/tslab
 * @param nodePath - node executable to run the kernel with
 */
export function kernelSpec(repoRoot = REPO_ROOT, nodePath = process.execPath): KernelSpec {
  const tslabBin = path.join(repoRoot, "node_modules", "tslab", "bin", "tslab");
  return {
    argv: [nodePath, tslabBin, "kernel", "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
  };
}

/**
 * The per-user Jupyter data folder, as jupyter_core computes it: JUPYTER_DATA_DIR if set; otherwise
 * ~/Library/Jupyter (macOS), %APPDATA%\jupyter (Windows), $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter (others).
 */
export function userJupyterDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  if (platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (platform === "win32") {
    const appData = env.APPDATA ?? path.join(home, "AppData", "Roaming");
    return path.join(appData, "jupyter");
  }
  const xdg = env.XDG_DATA_HOME || path.join(home, ".local", "share");
  return path.join(xdg, "jupyter");
}

/**
 * Folder the kernelspec goes into. With a prefix it follows `jupyter kernelspec install --prefix`
 * (and tslab's): PREFIX/share/jupyter/kernels/fmnist-tslab.
 */
export function kernelSpecDir(opts: { prefix?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const base = opts.prefix
    ? path.join(path.resolve(opts.prefix), "share", "jupyter")
    : userJupyterDataDir(opts.env ?? process.env);
  return path.join(base, "kernels", KERNEL_NAME);
}

/**
 * Writes kernel.json (atomically; a no-op when it is already identical).
 * @returns the folder written and whether anything changed
 */
export function installKernelSpec(opts: { prefix?: string; env?: NodeJS.ProcessEnv; repoRoot?: string } = {}): {
  dir: string;
  changed: boolean;
} {
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const tslabBin = path.join(repoRoot, "node_modules", "tslab", "bin", "tslab");
  if (!fs.existsSync(tslabBin)) {
    throw new Error(`tslab is not installed at ${tslabBin}; run \`npm ci\` in ${repoRoot} first.`);
  }
  const dir = kernelSpecDir(opts);
  const file = path.join(dir, "kernel.json");
  const spec = kernelSpec(repoRoot);
  const wanted = JSON.stringify(spec, null, 2) + "\n";
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === wanted) return { dir, changed: false };
  writeJsonAtomic(file, spec);
  return { dir, changed: true };
}

/** Removes the kernelspec folder. @returns the folder and whether it existed. */
export function uninstallKernelSpec(opts: { prefix?: string; env?: NodeJS.ProcessEnv } = {}): {
  dir: string;
  removed: boolean;
} {
  const dir = kernelSpecDir(opts);
  const existed = fs.existsSync(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { dir, removed: existed };
}

function main(argv: string[]): number {
  const usage = "usage: tsx scripts/kernel.ts install|uninstall [--prefix DIR]";
  const [command, ...rest] = argv;
  let prefix: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--prefix" && rest[i + 1]) prefix = rest[++i];
    else if (rest[i].startsWith("--prefix=")) prefix = rest[i].slice("--prefix=".length);
    else throw new Error(`unknown argument "${rest[i]}"; ${usage}`);
  }
  if (command === "install") {
    const { dir, changed } = installKernelSpec({ prefix });
    console.log(`${changed ? "Installed" : "Already installed"} kernelspec "${KERNEL_NAME}" (${KERNEL_DISPLAY_NAME}) in ${dir}`);
    return 0;
  }
  if (command === "uninstall") {
    const { dir, removed } = uninstallKernelSpec({ prefix });
    console.log(removed ? `Removed kernelspec "${KERNEL_NAME}" from ${dir}` : `No kernelspec "${KERNEL_NAME}" at ${dir}`);
    return 0;
  }
  console.error(usage);
  return 2;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
