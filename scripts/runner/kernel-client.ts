// Starts this project's tslab kernel as a child process and talks to it over the Jupyter messaging
// protocol (nteract's enchannel-zmq-backend + @nteract/messaging), with no Python or Jupyter installed.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createMainChannel, type JupyterConnectionInfo } from "enchannel-zmq-backend";
import { childOf, executeRequest, kernelInfoRequest, shutdownRequest, type JupyterMessage } from "@nteract/messaging";
import { Subject, type OperatorFunction, type Subscription } from "rxjs";
import { isProcessAlive } from "../../lib/src/process-alive";

/** The kernel process exited (or was killed) while the runner was waiting for it. */
export class KernelDiedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = "KernelDiedError";
  }
}

/** The kernel did not answer (start) or finish (cell) within the allowed time. */
export class KernelTimeoutError extends Error {
  constructor(message: string, readonly timeoutMs: number) {
    super(message);
    this.name = "KernelTimeoutError";
  }
}

/** Options for {@link KernelClient.start}. */
export interface KernelStartOptions {
  /** Working directory of the kernel (Jupyter uses the notebook's folder; tslab makes it the TypeScript rootDir). */
  cwd: string;
  /** Full environment of the kernel process. */
  env: NodeJS.ProcessEnv;
  /** How long to wait for the first kernel_info_reply. */
  startTimeoutMs: number;
  /** Repository whose node_modules/tslab to run (default: this checkout). */
  repoRoot?: string;
}

/** What one execute_request produced. */
export interface ExecuteOutcome {
  /** execute_reply status; tslab answers "error" for a failing cell, with the reason on stderr. */
  status: "ok" | "error" | "abort";
  executionCount: number | null;
  /** iopub messages that are children of the request (streams, display data, ...), in arrival order. */
  iopub: JupyterMessage[];
  /** The execute_reply content. */
  reply: Record<string, unknown>;
  /** Kernel-side timestamps (message header dates) of the iopub busy, the shell reply and the iopub idle. */
  timing: { busy?: string; reply?: string; idle?: string };
  /** msg_id of the execute_request (matches {@link KernelClient.takeLateOutputs}). */
  requestId: string;
}

/** Options for {@link KernelClient.execute}. */
export interface ExecuteOptions {
  /** Per-request timeout; on expiry the promise rejects with KernelTimeoutError (the kernel is left to the caller). */
  timeoutMs: number;
  /** Called for each child iopub message as it arrives (live progress). */
  onIopub?: (msg: JupyterMessage) => void;
}

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const STDERR_TAIL_BYTES = 8192;
/** Starts tslab in-process behind a watchdog that ends the kernel when this process is gone (see the file). */
const LAUNCHER = path.join(__dirname, "kernel-launcher.cjs");
/** Prefix of the private per-kernel folders (connection file + owner record) in the temp directory. */
export const CONNECTION_DIR_PREFIX = "fmnist-kernel-";
/** The file in a connection folder naming the process that owns it. */
export const OWNER_FILE = "owner.json";
/** A connection folder without an owner record (written by an older runner) is removed once this old. */
const UNOWNED_DIR_MAX_AGE_MS = 24 * 3600 * 1000;

/** V8's fatal out-of-memory report ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"). */
const V8_OOM = /FATAL ERROR:.*(?:heap out of memory|Allocation failed|out of memory)|JavaScript heap out of memory|Fatal JavaScript out of memory/;

/** Who owns a kernel connection folder. */
export interface ConnectionDirOwner {
  pid: number;
  host: string;
  created: string;
}

export { isProcessAlive };

/**
 * Removes kernel connection folders left in `tmpDir` by runners that are gone (a runner and its kernel both
 * killed at once, a reboot): only folders of this user, recorded as owned by a process on this host that no
 * longer exists (or, without an owner record, older than a day). Others' and live runners' folders are kept.
 * @returns the folders removed
 */
export function cleanStaleConnectionDirs(tmpDir: string = os.tmpdir(), now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(tmpDir).filter((n) => n.startsWith(CONNECTION_DIR_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  for (const name of names) {
    const dir = path.join(tmpDir, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      let stale: boolean;
      const ownerFile = path.join(dir, OWNER_FILE);
      if (fs.existsSync(ownerFile)) {
        const owner = JSON.parse(fs.readFileSync(ownerFile, "utf8")) as Partial<ConnectionDirOwner>;
        stale = owner.host === os.hostname() && typeof owner.pid === "number" && owner.pid > 0 && !isProcessAlive(owner.pid);
      } else {
        stale = now - st.mtimeMs > UNOWNED_DIR_MAX_AGE_MS;
      }
      if (stale) {
        fs.rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    } catch {
      // Unreadable or vanished meanwhile (another runner cleaning up): not ours to judge.
    }
  }
  return removed;
}

/** Describes a kernel death from its exit and its process output, recognising V8's out-of-memory abort. */
export function describeKernelDeath(code: number | null, signal: NodeJS.Signals | null, output: string): string {
  const how = signal ? `signal ${signal}` : `exit code ${code}`;
  if (V8_OOM.test(output)) {
    return `out of memory: the kernel's JavaScript heap reached its limit (${how}); free tensors and arrays a cell no longer needs, lower the sizes (--set TRAIN_SIZE=…) or raise the limit with NODE_OPTIONS=--max-old-space-size=<MB>`;
  }
  if (signal === "SIGKILL") return `${how}; if nothing here killed it, the system's out-of-memory killer may have (see \`dmesg\`)`;
  return how;
}

/** Kernels started by this process and not yet stopped; killed on exit and on SIGINT/SIGTERM. */
const liveKernels = new Set<KernelClient>();
let cleanupInstalled = false;

/**
 * Makes sure no kernel outlives this process: on exit, SIGINT, SIGTERM or SIGHUP every live kernel's
 * process group is killed (synchronously, so it works from the exit handler too).
 */
export function installKernelCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", () => {
    for (const k of liveKernels) k.abandon();
  });
  const signals: Array<[NodeJS.Signals, number]> = [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ];
  for (const [sig, code] of signals) {
    process.on(sig, () => {
      for (const k of liveKernels) k.abandon();
      process.stderr.write(`\nreceived ${sig}: kernel(s) stopped\n`);
      process.exit(code);
    });
  }
}

/** Picks `n` distinct free TCP ports on 127.0.0.1 by binding port 0 on all of them at once. */
export async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
      ports.push((srv.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** True for a message enchannel decoded and verified; it passes undecodable or badly signed frames on raw as `{ frames }`. */
export function isVerifiedMessage(msg: unknown): msg is JupyterMessage {
  if (typeof msg !== "object" || msg === null) return false;
  const header = (msg as { header?: { msg_type?: unknown; msg_id?: unknown } }).header;
  return typeof header === "object" && header !== null && typeof header.msg_type === "string" && typeof header.msg_id === "string";
}

/** A running tslab kernel and the client connection to it. */
export class KernelClient {
  /** Messages dropped because their signature (or framing) did not verify. */
  droppedMessages = 0;
  /** Milliseconds from spawn to the first kernel_info_reply. */
  startMs = 0;

  /** Execute requests already sent (their msg_id → nothing), and the one in flight. */
  private readonly executeIds = new Set<string>();
  private inFlight: string | undefined;
  /** iopub messages that arrived for an execute request after it had finished (see {@link takeLateOutputs}). */
  private late: Array<{ requestId: string; msg: JupyterMessage }> = [];
  /** Whether the process output showed V8's out-of-memory abort (checked as it arrives: the tail may lose it). */
  private sawOom = false;
  private exited = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  private stderrTail = "";
  private readonly exitWaiters: Array<() => void> = [];
  private verified: Subscription | undefined;
  private channel: Subject<JupyterMessage> | undefined;
  /** Verified messages from all channels. */
  private readonly incoming = new Subject<JupyterMessage>();

  /** Registers the child for cleanup and exit tracking at once, before any await, so no exit or signal is missed. */
  private constructor(
    private readonly child: ChildProcess,
    private readonly privateDir: string,
  ) {
    liveKernels.add(this);
    child.stdout?.on("data", (b: Buffer) => this.appendStderr(b));
    child.stderr?.on("data", (b: Buffer) => this.appendStderr(b));
    child.on("exit", (code, signal) => this.onExit(code, signal));
    child.on("error", (err) => {
      this.appendStderr(Buffer.from(String(err)));
      this.onExit(null, null);
    });
  }

  private connect(channel: Subject<JupyterMessage>): void {
    this.channel = channel;
    this.verified = channel.subscribe({
      next: (msg: unknown) => {
        if (!isVerifiedMessage(msg)) {
          this.droppedMessages++;
          return;
        }
        const parent = (msg.parent_header as { msg_id?: unknown } | undefined)?.msg_id;
        if (msg.channel === "iopub" && typeof parent === "string" && parent !== this.inFlight && this.executeIds.has(parent)) {
          if (msg.header.msg_type !== "status") this.late.push({ requestId: parent, msg });
          return;
        }
        this.incoming.next(msg);
      },
      error: () => {
        // A socket error ends the stream; waiting requests then fail by timeout or by the exit handler.
      },
    });
  }

  private send(msg: JupyterMessage, channelName: "shell" | "control"): void {
    if (!this.channel) throw new Error("internal: kernel channel used before connecting");
    this.channel.next({ ...msg, channel: channelName });
  }

  /**
   * Takes the iopub messages (streams, displays) that arrived for execute requests after they had finished:
   * tslab keeps writing a finished cell's console output (timers, callbacks, "UncaughtException: …" from its
   * handler) to that cell until the next one starts.
   */
  takeLateOutputs(): Array<{ requestId: string; msg: JupyterMessage }> {
    return this.late.splice(0);
  }

  /** Process id of the kernel (also its process group id). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Whether the kernel process has exited. */
  get hasExited(): boolean {
    return this.exited;
  }

  /**
   * Writes a private connection file (5 free loopback ports, fresh HMAC-SHA256 key, mode 0600 in a 0700
   * temp folder with an owner record), spawns tslab's kernel through kernel-launcher.cjs (a watchdog that
   * ends the kernel when this process is gone, however it ends) in its own process group, connects, and
   * waits for kernel_info_reply plus the matching iopub status (so iopub is subscribed before any cell runs).
   * Connection folders of dead runners are removed first.
   */
  static async start(opts: KernelStartOptions): Promise<KernelClient> {
    installKernelCleanup();
    const t0 = performance.now();
    const repoRoot = opts.repoRoot ?? REPO_ROOT;
    const tslabMain = path.join(repoRoot, "node_modules", "tslab", "dist", "main.js");
    if (!fs.existsSync(tslabMain)) throw new Error(`tslab not found at ${tslabMain}; run \`npm ci\` first.`);
    cleanStaleConnectionDirs();

    const [shell, iopub, stdin, control, hb] = await freeLoopbackPorts(5);
    const conn: JupyterConnectionInfo = {
      version: 5,
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
      signature_scheme: "hmac-sha256",
      key: randomBytes(32).toString("hex"),
    };
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), CONNECTION_DIR_PREFIX));
    fs.chmodSync(privateDir, 0o700);
    const owner: ConnectionDirOwner = { pid: process.pid, host: os.hostname(), created: new Date().toISOString() };
    fs.writeFileSync(path.join(privateDir, OWNER_FILE), JSON.stringify(owner) + "\n", { mode: 0o600, flag: "wx" });
    const connFile = path.join(privateDir, "kernel.json");
    fs.writeFileSync(connFile, JSON.stringify(conn), { mode: 0o600, flag: "wx" });

    const child = spawn(process.execPath, [LAUNCHER, String(process.pid), privateDir, tslabMain, "kernel", "--config-path", connFile], {
      cwd: opts.cwd,
      env: opts.env,
      // Own process group: killing -pid also takes down anything a cell spawned.
      detached: true,
      // fd 3: the watchdog pipe. Its end here closes when this process ends, however it ends; the launcher
      // then kills the kernel's group.
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    const watchdogPipe = child.stdio[3] as net.Socket | null;
    // Held open (never written) for the kernel's lifetime; it must not keep this process alive by itself.
    watchdogPipe?.on("error", () => {});
    watchdogPipe?.unref();
    const kernel = new KernelClient(child, privateDir);
    try {
      // @nteract/messaging types its Subject against its own rxjs copy; the runtime object is an rxjs 7 Subject.
      kernel.connect((await createMainChannel(conn)) as unknown as Subject<JupyterMessage>);
    } catch (err) {
      await kernel.dispose();
      throw err;
    }
    try {
      await kernel.waitReady(opts.startTimeoutMs);
    } catch (err) {
      await kernel.dispose();
      throw err;
    }
    kernel.startMs = performance.now() - t0;
    return kernel;
  }

  private appendStderr(b: Buffer): void {
    const text = b.toString("utf8");
    // Checked on the last tail plus the new chunk, so a message split across chunks is still seen.
    if (!this.sawOom && V8_OOM.test(this.stderrTail.slice(-200) + text)) this.sawOom = true;
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitInfo = { code, signal };
    for (const w of this.exitWaiters.splice(0)) w();
  }

  private diedError(during: string): KernelDiedError {
    const { code, signal } = this.exitInfo;
    const how = describeKernelDeath(code, signal, this.sawOom ? "JavaScript heap out of memory" : this.stderrTail);
    return new KernelDiedError(`kernel (pid ${this.pid}) died during ${during} (${how})`, code, signal, this.stderrTail);
  }

  /** Resolves when the kernel exits (immediately if it already has). */
  private whenExited(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /**
   * Sends `request` and feeds its children to `onChild` until that returns true, failing on timeout or kernel exit.
   */
  private request(
    request: JupyterMessage,
    channelName: "shell" | "control",
    opts: { timeoutMs: number; what: string; onChild: (msg: JupyterMessage) => boolean },
  ): Promise<void> {
    if (this.exited) return Promise.reject(this.diedError(opts.what));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (this.inFlight === request.header.msg_id) this.inFlight = undefined;
        clearTimeout(timer);
        sub.unsubscribe();
        const i = this.exitWaiters.indexOf(onDeath);
        if (i >= 0) this.exitWaiters.splice(i, 1);
        if (err) reject(err);
        else resolve();
      };
      const onDeath = () => finish(this.diedError(opts.what));
      this.exitWaiters.push(onDeath);
      const timer = setTimeout(
        () => finish(new KernelTimeoutError(`${opts.what} did not finish within ${fmtMs(opts.timeoutMs)}`, opts.timeoutMs)),
        opts.timeoutMs,
      );
      // childOf filters on parent_header.msg_id, i.e. the replies and outputs caused by this request.
      const onlyChildren = childOf(request) as unknown as OperatorFunction<JupyterMessage, JupyterMessage>;
      const sub = this.incoming.pipe(onlyChildren).subscribe((msg: JupyterMessage) => {
        try {
          if (opts.onChild(msg)) finish();
        } catch (err) {
          finish(err as Error);
        }
      });
      if (request.header.msg_type === "execute_request") {
        this.executeIds.add(request.header.msg_id);
        this.inFlight = request.header.msg_id;
      }
      this.send(request, channelName);
    });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    // Re-send a fresh kernel_info_request until one gets both its reply and its iopub status: only then are
    // shell and iopub both known to be connected (the "slow joiner" problem of PUB/SUB).
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let gotReply = false;
      let gotStatus = false;
      try {
        await this.request(kernelInfoRequest(), "shell", {
          timeoutMs: Math.min(left, 200),
          what: "kernel start",
          onChild: (m) => {
            if (m.header.msg_type === "kernel_info_reply") gotReply = true;
            if (m.header.msg_type === "status" && m.channel === "iopub") gotStatus = true;
            return gotReply && gotStatus;
          },
        });
        return;
      } catch (err) {
        if (!(err instanceof KernelTimeoutError)) throw err;
      }
    }
    throw new KernelTimeoutError(`kernel did not start within ${fmtMs(timeoutMs)}`, timeoutMs);
  }

  /**
   * Executes `code` and resolves once both the execute_reply and the iopub `status: idle` of the request
   * have arrived (outputs may follow the reply on iopub).
   */
  async execute(code: string, opts: ExecuteOptions): Promise<ExecuteOutcome> {
    const req = executeRequest(code, {
      silent: false,
      store_history: true,
      allow_stdin: false,
      stop_on_error: true,
    }) as unknown as JupyterMessage;
    const iopub: JupyterMessage[] = [];
    let reply: Record<string, unknown> | undefined;
    let idle = false;
    const timing: ExecuteOutcome["timing"] = {};
    await this.request(req, "shell", {
      timeoutMs: opts.timeoutMs,
      what: "cell execution",
      onChild: (m) => {
        if (m.channel === "shell" && m.header.msg_type === "execute_reply") {
          reply = m.content as Record<string, unknown>;
          timing.reply = m.header.date;
        } else if (m.channel === "iopub") {
          if (m.header.msg_type === "status") {
            const state = (m.content as { execution_state?: string }).execution_state;
            if (state === "busy") timing.busy = m.header.date;
            if (state === "idle") {
              idle = true;
              timing.idle = m.header.date;
            }
          } else {
            iopub.push(m);
            opts.onIopub?.(m);
          }
        }
        return reply !== undefined && idle;
      },
    });
    const r = reply ?? {};
    const status = r.status === "ok" || r.status === "abort" ? r.status : "error";
    const count = typeof r.execution_count === "number" ? r.execution_count : null;
    return { status, executionCount: count, iopub, reply: r, timing, requestId: req.header.msg_id };
  }

  /** Asks the kernel to shut down, waits up to `graceMs`, then kills its process group and cleans up. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (!this.exited) {
      this.send(shutdownRequest({ restart: false }) as unknown as JupyterMessage, "control");
      await Promise.race([this.whenExited(), sleep(graceMs)]);
    }
    await this.dispose();
  }

  /** Kills the kernel's whole process group immediately (synchronous; safe to call repeatedly). */
  kill(): void {
    killGroup(this.child);
  }

  /** Synchronous last-resort cleanup (exit and signal handlers): kill the group, remove the connection file. */
  abandon(): void {
    this.kill();
    fs.rmSync(this.privateDir, { recursive: true, force: true });
    liveKernels.delete(this);
  }

  /** Kills the process group, waits for the exit, closes the sockets and removes the connection file. */
  async dispose(): Promise<void> {
    this.kill();
    await Promise.race([this.whenExited(), sleep(3000)]);
    liveKernels.delete(this);
    this.verified?.unsubscribe();
    this.incoming.complete();
    try {
      this.channel?.complete();
    } catch {
      // Closing sockets of a dead peer can throw in zeromq; nothing is left to clean up then.
    }
    fs.rmSync(this.privateDir, { recursive: true, force: true });
  }

  /** The kernel's last stdout/stderr output outside cells (for death reports). */
  get processOutputTail(): string {
    return this.stderrTail;
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    // The leader is gone, but cells may have left children in its group.
    if (child.pid !== undefined) tryKill(-child.pid);
    return;
  }
  tryKill(-child.pid);
  tryKill(child.pid);
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Formats milliseconds for messages: "850 ms", "12.3 s", "4 min 5 s". */
export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}
