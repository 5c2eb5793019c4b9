// Where a run came from, recorded in summary.json so `npm run merge` can refuse shards that do not belong
// together: the commit (and a hash of uncommitted changes to what shapes results), the engine versions, node.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** summary.json's `provenance`. */
export interface Provenance {
  /** Commit of the checkout, from git or $FMNIST_COMMIT (a container image built without .git); "unknown" otherwise. */
  commit: string;
  /** Hash of uncommitted changes to lib/, notebooks/, scripts/ and the lockfile; null when there are none (or no git). */
  changes: string | null;
  node: string;
  platform: string;
  /** Versions of the packages that run the notebooks. */
  versions: Record<string, string>;
}

/** Packages whose versions must agree between shards. */
export const ENGINE_PACKAGES = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node", "tslab"];
/** The paths whose uncommitted changes can change results. */
const RESULT_PATHS = ["lib/src", "notebooks", "scripts", "package.json", "package-lock.json"];

function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 256 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

/** The provenance of a run from the checkout at `root`. */
export function readProvenance(root: string, env: NodeJS.ProcessEnv = process.env): Provenance {
  const head = git(root, ["rev-parse", "HEAD"])?.trim();
  const diff = head ? git(root, ["diff", "HEAD", "--binary", "--", ...RESULT_PATHS]) : undefined;
  const versions: Record<string, string> = {};
  for (const name of ENGINE_PACKAGES) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version?: string; name?: string };
      // tfjs-node is an alias of @tensorflow/tfjs here (package.json overrides): record what it really is.
      versions[name] = pkg.name && pkg.name !== name ? `${pkg.name}@${pkg.version}` : String(pkg.version);
    } catch {
      versions[name] = "absent";
    }
  }
  return {
    commit: head ?? (env.FMNIST_COMMIT || "unknown"),
    changes: diff ? createHash("sha256").update(diff).digest("hex").slice(0, 16) : null,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    versions,
  };
}
