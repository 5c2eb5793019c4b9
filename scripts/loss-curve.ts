/**
 * `npm run bench:loss`: does the faster wasm path train the same model? Trains write-up 000's best
 * CNN (lib `cnn_maxpool`, the benchmark's model 1) for one epoch on real Fashion-MNIST images, same
 * seed and batch order, on each backend configuration in its own process, and compares the
 * per-batch loss curves with the cpu backend's (the reference implementation):
 *   cpu           pure-JS reference
 *   wasm          our kernels, one thread
 *   wasm-2t       our kernels, two threads
 *   wasm-minimal  only what wasm needs to train (the state before this work; upstream MaxPoolGrad)
 * Prints the largest per-batch difference of each curve to cpu's and writes the curves to
 * artifacts/bench/loss-curve-<time>.json.
 *
 * Usage: npm run bench:loss -- [--images N] [--batch B]   (defaults: 4000 images, batch 32)
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/src/io";

const REPO = path.resolve(__dirname, "..");
const CONFIGS: Record<string, Record<string, string>> = {
  cpu: { FMNIST_BACKEND: "cpu" },
  wasm: { FMNIST_BACKEND: "wasm", FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: "1" },
  "wasm-2t": { FMNIST_BACKEND: "wasm", FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: "2" },
  "wasm-minimal": { FMNIST_BACKEND: "wasm", FMNIST_WASM_KERNELS: "minimal", FMNIST_WASM_THREADS: "1" },
};

interface Curve { config: string; backend: string; losses: number[]; seconds: number }

/** Child: one epoch of cnn_maxpool on `images` balanced training images; prints the per-batch losses. */
export async function trainOneEpoch(images: number, batch: number, seed = 42): Promise<{ backend: string; losses: number[] }> {
  const fm = await import("../lib/src/index");
  const info = await fm.initBackend();
  const train = fm.loadFashionMnist("train");
  const all = Array.from({ length: train.count }, (_, i) => i);
  const data = fm.toTensors(train, fm.balancedSubset(train.labels, all, images, seed));
  const model = fm.buildModel("cnn_maxpool", { seed });
  const losses: number[] = [];
  await fm.trainModel(model, { train: data }, { epochs: 1, batchSize: batch, seed, progress: "none", onBatch: (b) => void losses.push(b.loss) });
  fm.disposeModel(model);
  data.xs.dispose();
  data.ys.dispose();
  return { backend: `${info.name}, ${info.threads} thread(s), kernels ${info.versions.kernels ?? "-"}`, losses };
}

/** Largest absolute difference between two curves, and where. */
export function maxDifference(a: number[], b: number[]): { diff: number; batch: number } {
  if (a.length !== b.length) throw new Error(`curves differ in length: ${a.length} vs ${b.length} batches`);
  let diff = 0;
  let batch = 0;
  a.forEach((v, i) => {
    const d = Math.abs(v - b[i]);
    if (d > diff) [diff, batch] = [d, i + 1];
  });
  return { diff, batch };
}

function parse(argv: string[]): { images: number; batch: number } {
  const o = { images: 4000, batch: 32 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const v = inline ?? argv[++i];
    const n = /^\d+$/.test(v ?? "") ? Number(v) : NaN;
    if (flag === "--images" && n >= 10 && n <= 60000) o.images = n;
    else if (flag === "--batch" && n >= 1 && n <= 4096) o.batch = n;
    else throw new Error(`bad option ${argv[i]}: use --images N (10–60000) and --batch B (1–4096).`);
  }
  return o;
}

function main(argv: string[]): number {
  const o = parse(argv);
  console.log(`cnn_maxpool, one epoch on ${o.images} real training images (class-balanced, seed 42), batch ${o.batch}, Adam 1e-3`);
  const curves: Curve[] = [];
  for (const [config, env] of Object.entries(CONFIGS)) {
    const t0 = Date.now();
    process.stdout.write(`${config.padEnd(13)} … `);
    const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--worker", String(o.images), String(o.batch)], {
      env: { ...process.env, ...env }, encoding: "utf8", timeout: 30 * 60_000,
    });
    const line = r.stdout.split("\n").find((l) => l.startsWith("@@"));
    if (r.status !== 0 || !line) {
      console.log(`FAILED (${r.status ?? r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
      return 1;
    }
    const { backend, losses } = JSON.parse(line.slice(2)) as { backend: string; losses: number[] };
    const seconds = (Date.now() - t0) / 1000;
    curves.push({ config, backend, losses, seconds });
    console.log(`${losses.length} batches, loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)} (${seconds.toFixed(0)} s; ${backend})`);
  }
  const ref = curves[0];
  console.log("\nLargest per-batch loss difference to cpu's curve:");
  for (const c of curves.slice(1)) {
    const { diff, batch } = maxDifference(c.losses, ref.losses);
    const last = Math.abs(c.losses[c.losses.length - 1] - ref.losses[ref.losses.length - 1]);
    console.log(`  ${c.config.padEnd(13)} ${diff.toExponential(2)} (batch ${batch}); last batch ${last.toExponential(2)}`);
  }
  const stamp = new Date().toISOString();
  const file = path.join(REPO, "artifacts", "bench", `loss-curve-${stamp.replace(/[:.]/g, "-")}.json`);
  writeFileAtomic(file, `${JSON.stringify({ date: stamp, model: "cnn_maxpool", ...o, seed: 42, curves }, null, 1)}\n`);
  console.log(`\ncurves: ${path.relative(REPO, file)}`);
  return 0;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") {
    trainOneEpoch(Number(argv[1]), Number(argv[2])).then(
      (r) => console.log(`@@${JSON.stringify(r)}`),
      (err: unknown) => {
        console.error(err instanceof Error ? err.stack : String(err));
        process.exitCode = 1;
      },
    );
  } else {
    try {
      process.exitCode = main(argv);
    } catch (err) {
      console.error(`bench:loss: ${(err as Error).message}`);
      process.exitCode = 2;
    }
  }
}
