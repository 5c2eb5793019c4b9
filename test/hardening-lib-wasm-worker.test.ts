// Issue 16, item 1: the wasm pthread worker script must not be replaceable by another local user.
// A victim process starts the threaded wasm backend with TMPDIR pointing at a fresh world-writable
// sticky folder (like /tmp). An attacker running as `nobody` plants payloads before the backend
// starts (at the old predictable name, with the genuine content so that a content check passes),
// again at the moment the first worker thread is created (the race the old code lost), and once
// more after the backend is up. A payload that runs writes a marker file; there must be none, and
// the script must live in a 0700 folder of the victim's, removed when the victim exits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** The old code's file name and content (tfjs 4.22's worker script with the main-script import patched). */
function oldWorkerFile(tmp: string): { file: string; content: string } {
  const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  const mainScript = path.join(dir, "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(dir, "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js")) as { wasmWorkerContents: string };
  const load =
    'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
  const content = wasmWorkerContents.replace(/\n/g, "\\n").replace(load, `importScripts(${JSON.stringify(mainScript)});`);
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 12);
  return { file: path.join(tmp, `fmnist-tfjs-wasm-worker-${hash}.js`), content };
}

// The attacker, as `nobody`: writes the payload over every file it can reach under TMPDIR (and the
// path the victim's worker is about to load, as if read from /proc), and plants new files in every
// folder it can enter. Prints what it managed to write.
const ATTACKER = `
const fs = require("fs"), path = require("path");
const [root, payload, ...targets] = process.argv.slice(1);
const wrote = [];
const tryWrite = (f) => { try { fs.writeFileSync(f, payload); wrote.push(f); } catch {} };
const walk = (dir, depth) => {
  let names = [];
  try { names = fs.readdirSync(dir); } catch { return; }
  tryWrite(path.join(dir, "planted-" + process.pid + ".js"));
  for (const n of names) {
    const p = path.join(dir, n);
    let st; try { st = fs.lstatSync(p); } catch { continue; }
    if (st.isDirectory() && depth < 4) walk(p, depth + 1);
    else if (st.isFile() && !/\\.(go|done)$/.test(n) && n !== "marker") tryWrite(p);
  }
};
for (const t of targets) tryWrite(t);
walk(root, 0);
console.log(JSON.stringify(wrote));
`;

// The victim: starts the threaded backend; pauses at the first worker thread's creation and once
// the backend is up, so that the attacker can act at exactly those moments.
const VICTIM = `
const fs = require("fs"), path = require("path");
const tmp = process.env.TMPDIR;
const sync = (name, detail) => {
  fs.writeFileSync(path.join(tmp, name + ".go"), detail);
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(path.join(tmp, name + ".done")) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
};
const wt = require("worker_threads");
const Original = wt.Worker;
let first = true;
wt.Worker = class extends Original {
  constructor(file, opts) {
    // The first worker not started from an installed package (tsx starts esbuild's) is a pthread worker.
    if (first && !String(file).includes(path.sep + "node_modules" + path.sep)) { first = false; sync("worker", String(file)); }
    super(file, opts);
  }
};
const tf = require("@tensorflow/tfjs");
const be = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
(async () => {
  const info = await be.initBackend("wasm");
  sync("started", "");
  const x = tf.randomNormal([8, 12, 12, 8], 0, 1, "float32", 1);
  const w = tf.randomNormal([3, 3, 8, 16], 0, 1, "float32", 2);
  tf.conv2d(x, w, 1, "same").dataSync();
  const file = be.wasmWorkerScriptPath ? be.wasmWorkerScriptPath() : undefined;
  const dirStat = file && fs.statSync(path.dirname(file));
  const fileStat = file && fs.statSync(file);
  console.log("@@" + JSON.stringify({ threads: info.threads, file, dirMode: dirStat && dirStat.mode & 0o7777, dirUid: dirStat && dirStat.uid, fileMode: fileStat && fileStat.mode & 0o777 }));
})();
`;

test("the wasm worker script cannot be planted or swapped by another user (FMNIST_WASM_THREADS=2)", { timeout: 180_000 }, async (t) => {
  if (!isRoot) {
    t.skip("runs the attacker as user nobody, which needs root; not run here");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-"));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  fs.chmodSync(tmp, 0o1777); // a shared temp folder, like /tmp
  const marker = path.join(tmp, "marker");
  const payload = `require("fs").writeFileSync(${JSON.stringify(marker)}, "payload ran as uid " + process.getuid());`;
  const old = oldWorkerFile(tmp);
  const attack = (...targets: string[]): string[] => {
    const r = spawnSync(process.execPath, ["-e", ATTACKER, tmp, payload, ...targets], { uid: NOBODY, gid: NOBODY, encoding: "utf8", cwd: "/" });
    assert.equal(r.status, 0, `attacker failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  };
  // Before the backend starts: the old predictable name with the genuine content (so a content
  // check passes), owned by the attacker, plus payloads at other names.
  const r0 = spawnSync(process.execPath, ["-e", `require("fs").writeFileSync(process.argv[1], process.argv[2]); require("fs").writeFileSync(process.argv[3], process.argv[4])`, old.file, old.content, path.join(tmp, "fmnist-wasm-worker.js"), payload], { uid: NOBODY, gid: NOBODY, cwd: "/" });
  assert.equal(r0.status, 0, String(r0.stderr));

  const child = spawn(process.execPath, ["--import", "tsx", "-e", VICTIM], {
    env: { ...process.env, FMNIST_WASM_THREADS: "2", TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const wrote: Record<string, string[]> = {};
  const deadline = Date.now() + 150_000;
  let workerPath = "";
  for (const step of ["worker", "started"]) {
    const go = path.join(tmp, `${step}.go`);
    while (!fs.existsSync(go) && !done && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!fs.existsSync(go)) break;
    if (step === "worker") workerPath = fs.readFileSync(go, "utf8");
    wrote[step] = attack(...(workerPath ? [workerPath] : []), old.file);
    fs.writeFileSync(path.join(tmp, `${step}.done`), "");
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(1000, deadline - Date.now()));
  const code = await exited;
  clearTimeout(timer);

  assert.ok(!fs.existsSync(marker), `the planted payload ran: ${fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : ""} (attacker wrote ${JSON.stringify(wrote)})`);
  assert.equal(code, 0, `victim exited with ${code}: ${stderr}`);
  const line = stdout.split("\n").find((l) => l.startsWith("@@"));
  assert.ok(line, `no result from the victim: ${stdout} ${stderr}`);
  const r = JSON.parse(line.slice(2)) as { threads: number; file?: string; dirMode?: number; dirUid?: number; fileMode?: number };
  assert.equal(r.threads, 2, "the threaded backend started");
  assert.ok(r.file, "the worker script's path is reported");
  assert.equal(workerPath, r.file, "the worker threads load the script this process wrote");
  assert.notEqual(path.dirname(r.file), tmp, "not directly in the shared temp folder");
  assert.equal(r.dirMode, 0o700, `its folder is 0700, got ${r.dirMode?.toString(8)}`);
  assert.equal(r.dirUid, process.getuid?.(), "its folder belongs to the victim");
  assert.equal(r.fileMode, 0o600);
  for (const [step, files] of Object.entries(wrote)) {
    assert.ok(!files.some((f) => f.startsWith(path.dirname(r.file!) + path.sep) || f === r.file), `the attacker wrote into the private folder at "${step}": ${files}`);
  }
  assert.ok(!fs.existsSync(path.dirname(r.file)), "the private folder is removed when the process exits");
});
