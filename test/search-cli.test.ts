// Tuning at scale: `npm run search` on two simulated machines (--shard 1/2 and 2/2, separate artifacts folders),
// gathered into one search whose trials equal, bit for bit, one machine's run of the same search, and whose best
// trial is the quick baseline's notebook 10 best trial. Plus the gather's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runNode } from "./helpers/run-node";
import { parseSearchArgs } from "../scripts/search";
import { deterministicPart, listStoredSearches, readTrialFile } from "../lib/src/search-store";

const ROOT = path.resolve(__dirname, "..");
const env = (): NodeJS.ProcessEnv => {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith("FMNIST_") || k === "JOB_COMPLETION_INDEX") delete e[k];
  // The quick baseline is recorded on wasm (and "auto" would pick native TensorFlow where it is installed).
  return { ...e, FMNIST_BACKEND: "wasm" };
};
const search = (args: string[]) => runNode(["scripts/search.ts", ...args], env());

test("search arguments: usage errors name the problem", () => {
  assert.throws(() => parseSearchArgs(["--trials", "0"]), /--trials = "0": expected a whole number of trials from 1 to 243/);
  assert.throws(() => parseSearchArgs(["--profile", "huge"]), /--profile must be quick or full/);
  assert.throws(() => parseSearchArgs(["--gather", "a"]), /--gather needs --out DIR/);
  assert.throws(() => parseSearchArgs(["--gather", "--out", "o"]), /needs the shards' artifacts folders/);
  assert.throws(() => parseSearchArgs(["somewhere"]), /folders are only for --gather/);
  assert.throws(() => parseSearchArgs(["--out", "o"]), /go with --gather/);
  const o = parseSearchArgs(["--gather", "--out", "o", "a", "b"], "/x");
  assert.ok(o !== "help" && o.mode === "gather" && o.out === "/x/o" && o.shardDirs.join() === "/x/a,/x/b");
});

test("a search shared by two machines gathers into the same trials, bit for bit, as one machine's", { timeout: 900_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-search-"));
  try {
    const dir = (name: string) => path.join(tmp, name);
    const list = await search(["--profile", "quick", "--trials", "3", "--shard-count", "2", "--list", "--artifacts", dir("one")]);
    // --shard-count without JOB_COMPLETION_INDEX is an error that says what is missing.
    assert.equal(list.code, 2, list.out);
    assert.match(list.out, /--shard-count needs JOB_COMPLETION_INDEX/);
    assert.match(list.out, /usage: npm run search/);
    for (const i of [1, 2]) {
      const r = await search(["--profile", "quick", "--trials", "3", "--shard", `${i}/2`, "--artifacts", dir(`machine${i}`)]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`shard ${i}/2: trials `));
    }
    const single = await search(["--profile", "quick", "--trials", "3", "--artifacts", dir("one")]);
    assert.equal(single.code, 0, single.out);
    const again = await search(["--profile", "quick", "--trials", "3", "--artifacts", dir("one")]);
    assert.match(again.out, /0 trained now, 3 already there/, "a second run trains nothing");

    const g = await search(["--gather", "--out", dir("gathered"), dir("machine1"), dir("machine2")]);
    assert.equal(g.code, 0, g.out);
    const [[id, files]] = [...listStoredSearches(dir("gathered")).entries()];
    const [[idOne, filesOne]] = [...listStoredSearches(dir("one")).entries()];
    assert.equal(id, idOne, "both machines ran the same search as the single one");
    assert.equal(files.length, 3);
    const results = files.map((f) => readTrialFile(f).result);
    filesOne.forEach((f, k) => assert.equal(deterministicPart(readTrialFile(f).result), deterministicPart(results[k]), `trial ${k + 1}`));
    const ranking = JSON.parse(fs.readFileSync(path.join(dir("gathered"), "search", id, "ranking.json"), "utf8")) as { ranking: Array<{ id: number; valAcc: number }> };
    const baseline = JSON.parse(fs.readFileSync(path.join(ROOT, "notebooks", "baselines", "quick.json"), "utf8"));
    assert.equal(ranking.ranking[0].valAcc, baseline.notebooks["10-tuning"].metrics["tuning.best_trial_val_acc"].value, "notebook 10's best trial, bit for bit");
    assert.match(g.out, /plan: trial \d+ \(best validation accuracy\)/);

    // Refusals. One machine's folder alone: trials missing, named.
    const missing = await search(["--gather", "--out", dir("g2"), dir("machine1")]);
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /search --gather refused: search [0-9a-f]{16} has 3 trials, but trial\(s\) [\d, ]+ are in none of the folders/);
    assert.equal(fs.existsSync(dir("g2")), false, "nothing written when refused");
    // A trial whose result differs between two folders.
    fs.cpSync(dir("machine2"), dir("tampered"), { recursive: true });
    const victim = listStoredSearches(dir("tampered")).get(id)![0];
    const stored = JSON.parse(fs.readFileSync(victim, "utf8"));
    stored.result.valAcc += 0.01;
    fs.writeFileSync(victim, JSON.stringify(stored));
    const differs = await search(["--gather", "--out", dir("g3"), dir("machine1"), dir("machine2"), dir("tampered")]);
    assert.equal(differs.code, 2, differs.out);
    assert.match(differs.out, /trial \d+ differs between .* \(beyond its measured times\)/);
    // Another search (here: another backend) in one of the folders.
    const other = dir("other");
    fs.mkdirSync(path.join(other, "search", "0123456789abcdef"), { recursive: true });
    const meta = JSON.parse(fs.readFileSync(path.join(dir("machine1"), "search", id, "search.json"), "utf8"));
    meta.key.backend = "cpu";
    meta.searchId = "0123456789abcdef";
    fs.writeFileSync(path.join(other, "search", "0123456789abcdef", "search.json"), JSON.stringify(meta));
    const foreign = await search(["--gather", "--out", dir("g4"), dir("machine1"), other]);
    assert.equal(foreign.code, 2, foreign.out);
    assert.match(foreign.out, /hold different searches .* differ in backend: "wasm" vs "cpu"/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
