// Lock files for the runner: one runner at a time per artifacts (or output) folder, and a short lock around
// each read-modify-write of a baseline file. A lock file holds the owner's pid, host, start time and command;
// a lock left by a dead process on this host is taken over, anything else is respected.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isProcessAlive } from "../../lib/src/process-alive";

/** What a lock file records. */
export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** The command line that took the lock (for the refusal message). */
  command: string;
  /** Distinguishes two locks of one pid (a lock taken, released and taken again). */
  token: string;
}

/** A lock file is held by a live process (or one on another host, which cannot be checked). */
export class LockHeldError extends Error {
  constructor(
    message: string,
    readonly lockFile: string,
    readonly owner: Partial<LockOwner> | undefined,
  ) {
    super(message);
    this.name = "LockHeldError";
  }
}

/** A held lock; {@link release} removes the file if it is still this lock's. */
export interface Lock {
  file: string;
  owner: LockOwner;
  release(): void;
}

/** Locks taken by this process and not yet released: removed on exit, whatever the exit path. */
const held = new Set<Lock>();
let exitHookInstalled = false;

function readOwner(file: string): Partial<LockOwner> | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    return typeof o === "object" && o !== null ? (o as Partial<LockOwner>) : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // Half-written (the owner is between create and write) or damaged: known to exist, owner unknown.
    return {};
  }
}

/** Whether a lock's owner is certainly gone: a pid on this host that no longer exists. */
export function isStale(owner: Partial<LockOwner>): boolean {
  return owner.host === os.hostname() && typeof owner.pid === "number" && owner.pid > 0 && !isProcessAlive(owner.pid);
}

/** "pid 123 on host h, since <time>, running `<command>`". */
export function describeOwner(owner: Partial<LockOwner> | undefined): string {
  if (!owner || owner.pid === undefined) return "an unknown process (the lock file is empty or damaged)";
  return `pid ${owner.pid} on ${owner.host ?? "an unknown host"}${owner.started ? `, since ${owner.started}` : ""}${owner.command ? `, running \`${owner.command}\`` : ""}`;
}

/**
 * Takes the lock file `file` (exclusive create), taking over a stale lock of a dead process on this host.
 * Throws {@link LockHeldError} when a live process (or one on another host) holds it.
 */
export function tryLock(file: string): Lock {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const owner: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command: process.argv.slice(1).map((a) => path.relative(process.cwd(), a) || a).join(" "),
    token: randomBytes(8).toString("hex"),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(owner) + "\n");
      } finally {
        fs.closeSync(fd);
      }
      const lock: Lock = {
        file,
        owner,
        release: () => {
          held.delete(lock);
          if (readOwner(file)?.token === owner.token) fs.rmSync(file, { force: true });
        },
      };
      held.add(lock);
      installExitHook();
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const current = readOwner(file);
    if (current === undefined) continue; // released meanwhile: try again
    if (!isStale(current)) {
      throw new LockHeldError(`${file} is locked by ${describeOwner(current)}.`, file, current);
    }
    // Stale: move it aside under a unique name (only one taker can), check it is the one judged stale, drop it.
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // another runner took it over first
      throw err;
    }
    const moved = readOwner(aside);
    if (moved?.token !== current.token || moved?.pid !== current.pid) {
      // Between reading and moving, someone replaced the stale lock with a live one: put it back.
      try {
        fs.linkSync(aside, file);
      } catch {
        // A third runner holds the name now; the moved lock's owner keeps running unlocked. Never seen in practice.
      }
    }
    fs.rmSync(aside, { force: true });
  }
  const current = readOwner(file);
  throw new LockHeldError(`${file} is locked by ${describeOwner(current)}.`, file, current);
}

/**
 * Takes `file` like {@link tryLock}, waiting up to `timeoutMs` while a live process holds it (for short
 * critical sections such as a baseline update).
 */
export async function lockWithin(file: string, timeoutMs: number, pollMs = 100): Promise<Lock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return tryLock(file);
    } catch (err) {
      if (!(err instanceof LockHeldError) || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Runs on normal exit and on process.exit from the signal handlers (installKernelCleanup); a SIGKILL leaves the
  // file, and the next runner takes it over because the pid is dead.
  process.on("exit", () => {
    for (const lock of [...held]) {
      try {
        lock.release();
      } catch {
        // Exiting anyway.
      }
    }
  });
}
