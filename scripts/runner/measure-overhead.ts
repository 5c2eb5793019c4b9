// Measures the runner's own overhead: kernel start (spawn → kernel_info_reply) and the round trip of trivial cells.
// Usage: npx tsx scripts/runner/measure-overhead.ts [--starts N] [--cells N]
import * as os from "node:os";
import { KernelClient } from "./kernel-client";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const starts = arg("--starts", 3);
  const cells = arg("--cells", 20);
  const startMs: number[] = [];
  const exprMs: number[] = [];
  const declMs: number[] = [];
  const firstMs: number[] = [];
  for (let s = 0; s < starts; s++) {
    const k = await KernelClient.start({ cwd: os.tmpdir(), env: { ...process.env }, startTimeoutMs: 60_000 });
    startMs.push(k.startMs);
    try {
      for (let i = 0; i < cells; i++) {
        // Alternate a bare expression (printed by tslab) and a declaration (exported to later cells).
        const code = i % 2 === 0 ? `${i} + 1` : `const v${i} = ${i};`;
        const t = performance.now();
        const o = await k.execute(code, { timeoutMs: 30_000 });
        const ms = performance.now() - t;
        if (o.status !== "ok") throw new Error(`trivial cell failed: ${code}`);
        if (i === 0) firstMs.push(ms);
        else (i % 2 === 0 ? exprMs : declMs).push(ms);
      }
    } finally {
      await k.shutdown();
    }
  }
  const f = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
  console.log(`kernel start (spawn → kernel_info_reply + iopub): ${f(startMs)}`);
  console.log(`first cell after start:                          ${f(firstMs)}`);
  console.log(`trivial expression cell round trip:              ${f(exprMs)}`);
  console.log(`trivial declaration cell round trip:             ${f(declMs)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
