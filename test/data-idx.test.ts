// IDX parsing on crafted bytes, gzip handling, and the real files' integrity checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { clearVerificationCache, encodeIdx, gunzip, loadFashionMnist, parseIdx, readChecksums, sha256 } from "../lib/src/data/index";

const REAL = path.resolve(__dirname, "..", "data", "fashion-mnist");

test("parseIdx reads a well-formed rank-3 file, big-endian dims, payload as a view", () => {
  const payload = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const bytes = encodeIdx([2, 3, 4], payload);
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 2]);
  const idx = parseIdx(bytes, "x.idx", { rank: 3, dims: [2, 3, 4] });
  assert.deepEqual(idx.dims, [2, 3, 4]);
  assert.deepEqual([...idx.data], [...payload]);
});

test("parseIdx rejects wrong magic, wrong rank, wrong dims, truncated and overlong payloads", () => {
  const good = encodeIdx([2, 2], new Uint8Array(4));
  const wrongMagic = Uint8Array.from(good);
  wrongMagic[2] = 0x0d; // float32 type code
  assert.throws(() => parseIdx(wrongMagic, "m.idx"), /m\.idx: wrong magic number 0x00000d02/);
  assert.throws(() => parseIdx(good, "r.idx", { rank: 3 }), /r\.idx: rank 2 in the header, expected 3/);
  assert.throws(() => parseIdx(good, "d.idx", { rank: 2, dims: [3, null] }), /d\.idx: dimension 0 is 2, expected 3/);
  assert.throws(() => parseIdx(good.subarray(0, good.length - 1), "t.idx"), /t\.idx: payload is 3 bytes but the header \(2×2\) says 4: the file is truncated/);
  const long = new Uint8Array(good.length + 2);
  long.set(good);
  assert.throws(() => parseIdx(long, "l.idx"), /too long/);
  assert.throws(() => parseIdx(good.subarray(0, 6), "h.idx"), /truncated header/);
  assert.throws(() => parseIdx(new Uint8Array(2), "s.idx"), /too short/);
});

test("gunzip names the file when the gzip stream is damaged", () => {
  const gz = zlib.gzipSync(Buffer.from("hello world, hello world"));
  assert.equal(Buffer.from(gunzip(gz, "ok.gz")).toString(), "hello world, hello world");
  assert.throws(() => gunzip(gz.subarray(0, gz.length - 6), "cut.gz"), /cut\.gz: not a valid gzip file/);
});

test("SHA256SUMS matches the committed files", () => {
  const sums = readChecksums(REAL);
  assert.equal(Object.keys(sums).length, 4);
  const labels = fs.readFileSync(path.join(REAL, "t10k-labels-idx1-ubyte.gz"));
  assert.equal(sha256(labels), sums["t10k-labels-idx1-ubyte.gz"]);
});

function copyData(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-data-"));
  for (const f of fs.readdirSync(REAL)) fs.copyFileSync(path.join(REAL, f), path.join(dir, f));
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
  return dir;
}

test("a flipped byte, a truncated file and a missing file each give one clear error naming the file", () => {
  process.env.XDG_CACHE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-cache-"));
  clearVerificationCache();
  const dir = copyData();
  const labels = path.join(dir, "t10k-labels-idx1-ubyte.gz");
  const bytes = fs.readFileSync(labels);
  bytes[100] ^= 0xff;
  fs.writeFileSync(labels, bytes);
  assert.throws(() => loadFashionMnist("test", { dataDir: dir }), (err: Error) => {
    assert.match(err.message, /t10k-labels-idx1-ubyte\.gz failed its integrity check: SHA-256 is [0-9a-f]{64}, expected 67da17c7/);
    assert.match(err.message, /FMNIST_DATA_DIR/);
    return true;
  });
  fs.writeFileSync(labels, bytes.subarray(0, 1000));
  assert.throws(() => loadFashionMnist("test", { dataDir: dir }), /t10k-labels-idx1-ubyte\.gz failed its integrity check.*1000 bytes/);
  fs.rmSync(labels);
  assert.throws(() => loadFashionMnist("test", { dataDir: dir }), /t10k-labels-idx1-ubyte\.gz is missing\. Restore the original files/);
});

test("a file with the right checksum entry but wrong content shape is caught by the parser", () => {
  process.env.XDG_CACHE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-cache-"));
  clearVerificationCache();
  const dir = copyData();
  // Swap in a well-formed gzip of an IDX with the wrong magic, and make SHA256SUMS agree with it.
  const fake = zlib.gzipSync(Buffer.from([0, 0, 9, 1, 0, 0, 0, 1, 7]));
  fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte.gz"), fake);
  const sums = fs.readFileSync(path.join(dir, "SHA256SUMS"), "utf8").replace(/^[0-9a-f]{64}(?=\s+t10k-labels)/m, sha256(fake));
  fs.writeFileSync(path.join(dir, "SHA256SUMS"), sums);
  assert.throws(() => loadFashionMnist("test", { dataDir: dir }), /t10k-labels-idx1-ubyte\.gz: wrong magic number 0x00000901/);
});
