// The seeded RNG: identical streams for a seed, different for another, roughly uniform.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "../lib/src/random";

test("same seed, same stream; different seed, different stream", () => {
  const a = createRng(1);
  const b = createRng(1);
  const c = createRng(2);
  const sa = Array.from({ length: 20 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 20 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 20 }, () => c.next()));
  assert.ok(sa.every((x) => x >= 0 && x < 1));
});

test("int is uniform enough over 10 buckets and normal has mean ~0 and sd ~1", () => {
  const rng = createRng(123);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) buckets[rng.int(10)]++;
  for (const b of buckets) assert.ok(Math.abs(b - 10000) < 500, `bucket ${b}`);
  const xs = Array.from({ length: 50000 }, () => rng.normal());
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(sd - 1) < 0.02, `sd ${sd}`);
});

test("shuffle is a seeded permutation; bad arguments throw", () => {
  const arr = Array.from({ length: 100 }, (_, i) => i);
  const s1 = createRng(5).shuffle([...arr]);
  assert.deepEqual(s1, createRng(5).shuffle([...arr]));
  assert.notDeepEqual(s1, arr);
  assert.deepEqual([...s1].sort((x, y) => x - y), arr);
  assert.throws(() => createRng(1.5), /seed must be an integer/);
  assert.throws(() => createRng(1).int(0), /positive integer/);
});
