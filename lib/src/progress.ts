/**
 * Training progress: one line per epoch (plus progress lines on long epochs) in a terminal, or one
 * display entry rewritten in place in a notebook (through display.ts's {@link updatableDisplay}).
 */
import { updatableDisplay, type UpdatableDisplay } from "./display";
import { escapeHtml } from "./html";

/** One finished epoch, as passed to `TrainOptions.onEpoch` and printed by the progress reporters. */
export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  epochs: number;
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  /** Wall time of the epoch including validation, in seconds. */
  sec: number;
}

/** How progress is shown: "auto" = updating display under tslab, lines elsewhere. */
export type ProgressMode = "auto" | "lines" | "none";

/** What the training loop tells about its progress. */
export interface Reporter {
  epochStart(epoch: number, batches: number): void;
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void;
  epochEnd(log: EpochLog, extra: string): void;
  end(summary: string): void;
}

/** A duration for people: "42s", "3m07s", "1h05m". */
export function fmtSec(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s - m * 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function epochLine(label: string, log: EpochLog): string {
  const val = log.val_loss !== undefined ? ` val_loss ${log.val_loss.toFixed(4)} val_acc ${(log.val_acc ?? NaN).toFixed(4)}` : "";
  return `[${label}] epoch ${log.epoch}/${log.epochs} loss ${log.loss.toFixed(4)} acc ${log.acc.toFixed(4)}${val} (${fmtSec(log.sec)})`;
}

/** Plain lines: one per epoch, plus one per ~10% of an epoch once an epoch has run for 10 s. */
class LineReporter implements Reporter {
  private t0 = 0;
  private lastPrint = 0;
  private lastDecile = 0;
  constructor(private readonly label: string, private readonly epochs: number, private readonly eta: () => number) {}
  epochStart(): void {
    this.t0 = Date.now();
    this.lastPrint = this.t0;
    this.lastDecile = 0;
  }
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void {
    const decile = Math.floor((10 * done) / batches);
    const now = Date.now();
    if (decile > this.lastDecile && decile < 10 && now - this.lastPrint >= 10_000) {
      this.lastDecile = decile;
      this.lastPrint = now;
      console.log(`[${this.label}] epoch ${epoch}/${this.epochs} ${decile * 10}% (batch ${done}/${batches}) loss ${loss.toFixed(4)} acc ${acc.toFixed(4)} ETA ${fmtSec(this.eta())}`);
    }
  }
  epochEnd(log: EpochLog, extra: string): void {
    console.log(epochLine(this.label, log) + extra);
  }
  end(summary: string): void {
    console.log(`[${this.label}] ${summary}`);
  }
}

/** One display entry, rewritten in place: finished epochs above, a progress bar for the current one. */
class DisplayReporter implements Reporter {
  private readonly lines: string[] = [];
  private current = "";
  private lastDraw = 0;
  private detached = false;
  constructor(private readonly display: UpdatableDisplay, private readonly label: string, private readonly epochs: number, private readonly eta: () => number) {}
  private draw(force = false): void {
    const now = Date.now();
    if (this.detached || (!force && now - this.lastDraw < 500)) return; // redraws cost a kernel message each
    this.lastDraw = now;
    try {
      if (!this.display.html(`<pre style="margin:0">${escapeHtml([...this.lines, this.current].join("\n"))}</pre>`)) this.detached = true;
    } catch {
      // The cell is gone (interrupted). Throwing from here would reject an abandoned promise, and
      // tfjs-wasm's unhandledRejection hook turns that into a kernel crash.
      this.detached = true;
    }
  }
  epochStart(epoch: number, batches: number): void {
    this.current = `[${this.label}] epoch ${epoch}/${this.epochs} 0/${batches}`;
    this.draw(true);
  }
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void {
    const width = 30;
    const filled = Math.round((width * done) / batches);
    const bar = "█".repeat(filled) + "·".repeat(width - filled);
    this.current = `[${this.label}] epoch ${epoch}/${this.epochs} ${bar} ${done}/${batches} loss ${loss.toFixed(4)} acc ${acc.toFixed(4)} ETA ${fmtSec(this.eta())}`;
    this.draw();
  }
  epochEnd(log: EpochLog, extra: string): void {
    this.lines.push(epochLine(this.label, log) + extra);
    this.current = "";
    this.draw(true);
  }
  end(summary: string): void {
    this.current = `[${this.label}] ${summary}`;
    this.draw(true);
  }
}

class NullReporter implements Reporter {
  epochStart(): void {}
  batch(): void {}
  epochEnd(): void {}
  end(): void {}
}

/**
 * The reporter for `mode`: nothing for "none"; for "auto" an updating display entry in a tslab cell,
 * lines elsewhere; lines for "lines". `eta` gives the seconds left, estimated by the caller.
 */
export function createReporter(mode: ProgressMode, label: string, epochs: number, eta: () => number): Reporter {
  if (mode === "none") return new NullReporter();
  const display = mode === "auto" ? updatableDisplay() : undefined;
  return display ? new DisplayReporter(display, label, epochs, eta) : new LineReporter(label, epochs, eta);
}
