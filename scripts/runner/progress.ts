// Progress display for the runner: one live status line on a terminal, plain log lines otherwise (CI logs).
import { fmtMs } from "./kernel-client";
import type { RunObserver } from "./execute";

/** A {@link RunObserver} that reports "notebook i/n, cell j/m, elapsed". */
export class Progress implements RunObserver {
  private timer: NodeJS.Timeout | undefined;
  private label = "";
  private cell = "";
  private nbStart = performance.now();
  private cellStart = performance.now();
  private lastBeat = 0;

  /**
   * @param out - stream to write to
   * @param live - redraw one line in place (TTY) instead of printing lines
   * @param heartbeatMs - in plain mode, how often to print "still running" for a long cell
   * @param tag - prefix of plain-mode cell lines, to tell notebooks apart when several run at once
   * @param runStart - when the whole run started (performance.now()), for the "total" figure
   */
  constructor(
    private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr,
    private readonly live = Boolean((process.stderr as NodeJS.WriteStream).isTTY),
    private readonly heartbeatMs = 60_000,
    private readonly tag = "",
    private readonly runStart = performance.now(),
  ) {}

  /** Starts a notebook. */
  notebook(i: number, n: number, name: string): void {
    this.label = `notebook ${i}/${n} ${name}`;
    this.cell = "";
    this.nbStart = performance.now();
    if (!this.live) this.out.write(`${this.label}\n`);
    this.startTicker();
  }

  kernelStarting(): void {
    this.cell = "starting kernel";
  }

  kernelStarted(pid: number, ms: number): void {
    this.cell = "kernel started";
    if (!this.live) this.out.write(`  ${this.tag}kernel started in ${fmtMs(ms)} (pid ${pid})\n`);
  }

  cellStarted(j: number, m: number): void {
    this.cell = `cell ${j}/${m}`;
    this.cellStart = performance.now();
    this.lastBeat = this.cellStart;
  }

  cellFinished(j: number, m: number, ms: number, ok: boolean): void {
    if (!this.live) this.out.write(`  ${this.tag}cell ${j}/${m} ${ok ? "ok" : "FAILED"} ${fmtMs(ms)}\n`);
  }

  /** Ends a notebook with a one-line verdict. */
  done(line: string): void {
    this.stopTicker();
    if (this.live) this.out.write("\r\x1b[2K");
    this.out.write(`${line}\n`);
  }

  private render(): void {
    const now = performance.now();
    const elapsed = `elapsed ${fmtMs(now - this.nbStart)} (total ${fmtMs(now - this.runStart)})`;
    if (this.live) {
      this.out.write(`\r\x1b[2K${this.label}, ${this.cell || "…"}, ${elapsed}`);
    } else if (this.cell.startsWith("cell") && now - this.lastBeat >= this.heartbeatMs) {
      this.lastBeat = now;
      this.out.write(`  ${this.tag}${this.cell} still running, ${fmtMs(now - this.cellStart)}; ${elapsed}\n`);
    }
  }

  private startTicker(): void {
    this.stopTicker();
    this.timer = setInterval(() => this.render(), this.live ? 500 : 1000);
    this.timer.unref();
    this.render();
  }

  private stopTicker(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
