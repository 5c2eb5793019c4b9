// Issue 16: item 2 (the SHA-256 check could be bypassed through its cache) and the smaller data
// faults (a data file replaced by a folder; an unreadable data folder reported as "missing").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadFashionMnist, readChecksums } from "../lib/src/data/index";

const REAL = path.join(__dirname, "..", "data", "fashion-mnist");
const TEST_FILES = ["SHA256SUMS", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
const isRoot = process.getuid?.() === 0;

/** A private copy of the test part of the dataset (loads are memoised per folder). */
function copyTestPart(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-data-"));
  for (const f of TEST_FILES) {
    fs.copyFileSync(path.join(REAL, f), path.join(dir, f));
    fs.chmodSync(path.join(dir, f), 0o644);
  }
  return dir;
}

test("a data file modified with its size kept and its mtime restored (touch -r) is rejected, naming the file", (t) => {
  const dir = copyTestPart();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-cache-"));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  });
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const file = path.join(dir, "t10k-labels-idx1-ubyte.gz");
  // A whole-second mtime, so that restoring it below is exact (Date loses the nanoseconds).
  fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
  // A first, successful load in another process, as notebook 01 would do: anything it may
  // remember about the files (a cache of verdicts, formerly) is in place.
  const first = spawnSync(process.execPath, ["--import", "tsx", "-e", `require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "data", "index.ts"))}).loadFashionMnist("test", { dataDir: ${JSON.stringify(dir)} }); console.log("loaded")`], { env, encoding: "utf8", timeout: 60_000 });
  assert.equal(first.status, 0, first.stderr);
  // Tamper: the gzip header's timestamp (bytes 4–7) is rewritten, so the file still decompresses to
  // valid labels but is not the original; same size, and the mtime put back as `touch -r` would.
  const before = fs.statSync(file);
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32LE(bytes.readUInt32LE(4) ^ 0x5a5a5a5a, 4);
  fs.writeFileSync(file, bytes);
  fs.utimesSync(file, before.atimeMs / 1000, before.mtimeMs / 1000);
  const after = fs.statSync(file);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);

  process.env.XDG_CACHE_HOME = cache;
  assert.throws(
    () => loadFashionMnist("test", { dataDir: dir }),
    (err: Error) => {
      assert.match(err.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} failed its integrity check: SHA-256 is [0-9a-f]{64}, expected`));
      assert.match(err.message, /Restore the original files/);
      return true;
    },
  );
});

test("a data file replaced by a folder is reported with its path and what to do, not a bare EISDIR", (t) => {
  const dir = copyTestPart();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "t10k-images-idx3-ubyte.gz");
  fs.rmSync(file);
  fs.mkdirSync(file);
  assert.throws(() => loadFashionMnist("test", { dataDir: dir }), (err: Error) => {
    assert.ok(err.message.startsWith(`${file} is a folder, not a file`), err.message);
    assert.match(err.message, /remove or rename the folder.*Restore the original files/);
    return true;
  });
  // The checksum list itself, too.
  fs.rmSync(path.join(dir, "SHA256SUMS"));
  fs.mkdirSync(path.join(dir, "SHA256SUMS"));
  assert.throws(() => readChecksums(dir), new RegExp(`^Error: ${path.join(dir, "SHA256SUMS").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is a folder, not a file`));
});

test("a data folder that cannot be read is reported as such (permission denied / not a folder), not as SHA256SUMS missing", (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-perm-"));
  const dir = path.join(parent, "data");
  t.after(() => {
    if (fs.existsSync(dir)) fs.chmodSync(dir, 0o755);
    fs.rmSync(parent, { recursive: true, force: true });
  });
  fs.chmodSync(parent, 0o755);
  fs.mkdirSync(dir);
  for (const f of TEST_FILES) fs.copyFileSync(path.join(REAL, f), path.join(dir, f));
  fs.chmodSync(dir, 0o000);
  const sums = path.join(dir, "SHA256SUMS");
  let message: string;
  if (isRoot) {
    // chmod 000 does not stop root: read as user nobody, for whom it does. nobody may not be able to read this
    // checkout (a clone under /root), so it runs a copy of the module (node: imports only), transpiled here.
    const ts = require("typescript") as typeof import("typescript");
    const source = fs.readFileSync(path.join(__dirname, "..", "lib", "src", "data", "integrity.ts"), "utf8");
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-integrity-copy-"));
    fs.chmodSync(copyDir, 0o755);
    const copy = path.join(copyDir, "integrity.js");
    fs.writeFileSync(copy, js, { mode: 0o644 });
    try {
      const r = spawnSync(
        process.execPath,
        ["-e", `try { require(${JSON.stringify(copy)}).readChecksums(${JSON.stringify(dir)}); console.log("read it"); } catch (e) { console.log(e.message); }`],
        { uid: 65534, gid: 65534, cwd: "/", encoding: "utf8", timeout: 60_000, env: { PATH: process.env.PATH ?? "", HOME: "/" } },
      );
      assert.equal(r.status, 0, r.stderr);
      message = r.stdout.trim();
    } finally {
      fs.rmSync(copyDir, { recursive: true, force: true });
    }
  } else {
    try {
      readChecksums(dir);
      message = "read it";
    } catch (e) {
      message = (e as Error).message;
    }
  }
  assert.ok(message.startsWith(`${sums} cannot be read: permission denied`), message);
  assert.doesNotMatch(message, /missing/);

  // A data "folder" that is a file: ENOTDIR, also not "missing".
  const notDir = path.join(parent, "not-a-folder");
  fs.writeFileSync(notDir, "x");
  assert.throws(() => readChecksums(notDir), (err: Error) => {
    assert.ok(err.message.startsWith(`${path.join(notDir, "SHA256SUMS")} cannot be reached: a part of its path is not a folder`), err.message);
    return true;
  });
});
