// For the end-to-end front-end test: a private JupyterLab server on 127.0.0.1 (random port and token,
// temporary JUPYTER_* folders holding the project's kernelspec, nothing that phones home), Chromium that
// records and blocks every request leaving 127.0.0.1, and a clean-up that stops everything started —
// server, kernels, browser — also when the test fails or times out.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { installKernelSpec } from "../../scripts/kernel";
import type { JupyterEnv } from "../../scripts/jupyter-env";
import { CHROMIUM } from "./chromium";

/** A free TCP port on 127.0.0.1 (the OS picks it; a clash with another starter is retried by the caller). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Creates a folder readable by its owner only (mode 0700). */
export function privateDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  return dir;
}

export interface JupyterLabServer {
  /** http://127.0.0.1:PORT */
  base: string;
  token: string;
  /** The server's root folder (where the notebooks are). */
  root: string;
  /** The private folders, for the kernels' and the server's clean-up. */
  dirs: { config: string; data: string; runtime: string };
  proc: ChildProcess;
  /** Everything the server printed so far. */
  log(): string;
  /** `base + path` with the token as query parameter. */
  url(p: string): string;
  /** A REST call with the token in the Authorization header. */
  api(p: string, init?: RequestInit): Promise<Response>;
  /** Stops the server, its kernels and anything left in their process groups; safe to call twice. */
  stop(): Promise<void>;
}

/** Pids of processes whose command line or environment mention `marker` (our private runtime folder). */
function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const file of ["cmdline", "environ"]) {
      try {
        if (fs.readFileSync(`/proc/${entry}/${file}`, "latin1").includes(marker)) {
          pids.push(Number(entry));
          break;
        }
      } catch {
        // gone, or not ours to read
      }
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs the process group of each pid (kernels are session leaders) and the pid itself. */
function killHard(pids: number[]): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // already gone or not a group leader
      }
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clean-ups still to run; run synchronously on process exit as the last resort (a test timeout, a crash). */
const pendingKills = new Set<() => void>();
function killPending(): void {
  for (const kill of pendingKills) kill();
  pendingKills.clear();
}
process.on("exit", killPending);
// Ctrl-C or a SIGTERM from the test runner: stop what we started, then die of the signal as usual.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killPending();
    process.kill(process.pid, signal);
  });
}

/** Stops everything still running (server, kernels, Chromium) at once, synchronously: for a watchdog. */
export function killEverything(): void {
  killPending();
}

/**
 * Starts `jupyter lab` on 127.0.0.1 with a random port and token. Its JUPYTER_CONFIG_DIR/DATA_DIR/RUNTIME_DIR
 * and lab settings/workspaces are private folders under `stateDir`; kernels/ holds the project's kernelspec.
 * News, update checks and the extension manager are off. `env` is the whole environment the server and
 * its kernels get.
 */
export async function startJupyterLab(opts: { jenv: JupyterEnv; root: string; stateDir: string; env: NodeJS.ProcessEnv; allowHidden?: boolean; timeoutMs?: number }): Promise<JupyterLabServer> {
  const state = privateDir(opts.stateDir);
  const dirs = {
    config: privateDir(path.join(state, "config")),
    data: privateDir(path.join(state, "data")),
    runtime: privateDir(path.join(state, "runtime")),
  };
  const settings = privateDir(path.join(state, "lab-settings"));
  const workspaces = privateDir(path.join(state, "lab-workspaces"));
  installKernelSpec({ env: { JUPYTER_DATA_DIR: dirs.data } });
  // The extension manager's front end off (it lists extensions from the internet), and no news or update checks.
  privateDir(path.join(dirs.config, "labconfig"));
  fs.writeFileSync(path.join(dirs.config, "labconfig", "page_config.json"), JSON.stringify({
    disabledExtensions: { "@jupyterlab/extensionmanager-extension": true },
    // No "build is out of date" check at every page load (it costs the server ~10 s of CPU; the venv's build is prebuilt).
    buildCheck: false,
    buildAvailable: false,
  }));
  privateDir(path.join(settings, "@jupyterlab", "apputils-extension"));
  fs.writeFileSync(path.join(settings, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"), JSON.stringify({ fetchNews: "false", checkForUpdates: false }));

  const token = crypto.randomBytes(24).toString("hex");
  const env: NodeJS.ProcessEnv = {
    ...opts.env,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTERLAB_SETTINGS_DIR: settings,
    JUPYTERLAB_WORKSPACES_DIR: workspaces,
    PYTHONNOUSERSITE: "1",
  };
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const args = [
      "-m", "jupyter", "lab",
      "--no-browser",
      "--ServerApp.ip=127.0.0.1",
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      `--ServerApp.root_dir=${opts.root}`,
      `--IdentityProvider.token=${token}`,
      "--ServerApp.password=",
      "--ServerApp.allow_remote_access=False",
      "--ServerApp.terminals_enabled=False",
      // The test's notebooks sit in <repo>/.cache/e2e-*/ (hidden from Jupyter by default).
      ...(opts.allowHidden ? ["--ContentsManager.allow_hidden=True"] : []),
      "--LabApp.news_url=None",
      "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
      "--LabApp.extension_manager=readonly",
      // window.jupyterapp, so the test can run JupyterLab's own commands (Run All, Interrupt, Save).
      "--LabApp.expose_app_in_browser=True",
      // CI and these machines run as root; the server is reachable from 127.0.0.1 only, with a random token.
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ];
    // Own process group, so the server and anything it forks go together.
    const proc = spawn(opts.jenv.python, args, { cwd: opts.root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    proc.stdout!.on("data", (b: Buffer) => (log += b.toString()));
    proc.stderr!.on("data", (b: Buffer) => (log += b.toString()));
    let exited: number | string | null = null;
    proc.on("exit", (code, signal) => (exited = code ?? signal ?? "?"));

    const killSync = () => {
      if (proc.pid && exited === null) killHard([proc.pid]);
      killHard(processesMentioning(dirs.runtime));
    };
    pendingKills.add(killSync);
    let stopped = false;
    const server: JupyterLabServer = {
      base, token, root: opts.root, dirs, proc,
      log: () => log,
      url: (p: string) => `${base}${p}${p.includes("?") ? "&" : "?"}token=${token}`,
      api: (p: string, init: RequestInit = {}) =>
        fetch(`${base}${p}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), Authorization: `token ${token}` }, signal: AbortSignal.timeout(20_000) }),
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          if (exited === null) {
            // Graceful first: the server shuts its kernels down and exits.
            await server.api("/api/shutdown", { method: "POST" }).catch(() => undefined);
            for (let i = 0; i < 50 && exited === null; i++) await sleep(200);
          }
          if (exited === null && proc.pid) {
            try {
              process.kill(-proc.pid, "SIGTERM");
            } catch {
              // gone
            }
            for (let i = 0; i < 25 && exited === null; i++) await sleep(200);
          }
        } finally {
          killSync();
          // Kernels run in their own sessions: whatever still names our runtime folder is ours.
          for (let i = 0; i < 25 && processesMentioning(dirs.runtime).some(alive); i++) await sleep(200);
          pendingKills.delete(killSync);
        }
      },
    };

    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    while (Date.now() < deadline && exited === null) {
      try {
        const res = await server.api("/api/status");
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    lastError = exited !== null ? `jupyter lab exited (${exited}) during start-up` : `jupyter lab did not answer on ${base} within ${(opts.timeoutMs ?? 60_000) / 1000} s`;
    lastError += `; its log:\n${log.slice(-4000)}`;
    await server.stop();
    if (!/address already in use/i.test(log)) break;
  }
  throw new Error(lastError);
}

/** Chromium, offline: every request to a host other than 127.0.0.1 is recorded and aborted; page errors collected. */
export interface GuardedBrowser {
  browser: Browser;
  context: BrowserContext;
  /** URLs of requests (http, https, ws, wss, anything with a host) that would have left 127.0.0.1. */
  offHost: string[];
  /** Uncaught exceptions in pages (pageerror events), labelled. */
  pageErrors: string[];
  /** Console errors, labelled (reported, not asserted: JupyterLab logs some of its own). */
  consoleErrors: string[];
  newPage(label: string): Promise<Page>;
  close(): Promise<void>;
}

/** True for a URL that reaches a host other than 127.0.0.1 (data:, blob:, about: reach none). */
export function leavesLoopback(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (["data:", "blob:", "about:", "javascript:", "chrome:", "chrome-extension:", "devtools:"].includes(u.protocol)) return false;
  return u.hostname !== "127.0.0.1";
}

export async function launchGuardedChromium(userDataDir: string, viewport = { width: 1400, height: 1000 }): Promise<GuardedBrowser> {
  // A persistent context only to pick the profile folder: a fresh private one per run, removed with the state folder.
  privateDir(userDataDir);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  const browser = context.browser()!;
  const offHost: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const record = (url: string) => {
    if (leavesLoopback(url) && !offHost.includes(url)) offHost.push(url);
  };
  context.on("request", (req) => record(req.url()));
  // Functions passed to page.evaluate are compiled by tsx (esbuild), which wraps named inner functions in __name().
  await context.addInitScript({ content: "globalThis.__name = globalThis.__name || ((f) => f);" });
  await context.route((url) => leavesLoopback(url.href), (route) => {
    record(route.request().url());
    return route.abort("blockedbyclient");
  });
  const close = async () => {
    await context.close().catch(() => undefined);
  };
  const chromePid = (): number[] => processesMentioning(userDataDir);
  const killSync = () => killHard(chromePid());
  pendingKills.add(killSync);
  return {
    browser, context, offHost, pageErrors, consoleErrors,
    async newPage(label: string) {
      const page = await context.newPage();
      page.on("pageerror", (e) => pageErrors.push(`${label}: ${e.stack ?? e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(`${label}: ${m.text()}`);
      });
      page.on("websocket", (ws) => record(ws.url()));
      return page;
    },
    async close() {
      await Promise.race([close(), sleep(15_000)]);
      killSync();
      pendingKills.delete(killSync);
    },
  };
}

/** `python -c "import nbformat ... validate"` with the venv's nbformat: null when valid, else the error. */
export function validateNotebook(python: string, file: string): string | null {
  const r = spawnSync(
    python,
    ["-c", "import nbformat, sys\nnb = nbformat.read(sys.argv[1], as_version=4)\nnbformat.validate(nb)", file],
    { encoding: "utf8", timeout: 60_000, env: { ...process.env, PYTHONNOUSERSITE: "1" } },
  );
  if (r.status === 0) return null;
  const err = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n");
  // The last lines say what failed and where (nbformat's ValidationError message).
  return err.slice(-12).join("\n");
}
