// The write-up table (lib/src/writeups.ts) against what is derived from it and against docs/writeups.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ANCHOR_FIGURES, WRITEUP_FIGURES, WRITEUPS } from "../lib/src/writeups";
import { WRITEUP_REPORTED } from "../lib/src/results";
import { REFERENCE_NUMBERS } from "../scripts/report/reference";

const DOC = fs.readFileSync(path.join(__dirname, "..", "docs", "writeups.md"), "utf8");

/** docs/writeups.md's section of one write-up: from its "## <id> — " heading to the next heading. */
function section(id: string): string {
  const start = DOC.indexOf(`\n## ${id} — `);
  assert.ok(start >= 0, `docs/writeups.md has no "## ${id} — " section`);
  const end = DOC.indexOf("\n## ", start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

test("the table lists write-ups 000–004, each with its own section in docs/writeups.md under its title", () => {
  assert.deepEqual(WRITEUPS.map((w) => w.id), ["000", "001", "002", "003", "004"]);
  for (const w of WRITEUPS) assert.ok(section(w.id).startsWith(`\n## ${w.id} — "${w.title}"`), `section ${w.id} is titled "${w.title}"`);
});

test("every figure in the table appears in its write-up's section of docs/writeups.md", () => {
  for (const f of WRITEUP_FIGURES) {
    const text = section(f.writeUp);
    for (const [metric, v] of Object.entries(f.metrics)) {
      const forms = [String(v), v.toFixed(4), `${+(100 * v).toFixed(2)}%`];
      assert.ok(forms.some((s) => text.includes(s)), `${f.writeUp} ${f.model} ${metric} = ${v} not in docs/writeups.md (looked for ${forms.join(", ")})`);
    }
  }
  for (const a of ANCHOR_FIGURES) assert.ok(DOC.includes(String(a.value)), `anchor ${a.model}`);
});

test("WRITEUP_REPORTED merges a model's entries; the comparison rows are the table's headline figures plus the anchors", () => {
  assert.deepEqual(Object.keys(WRITEUP_REPORTED).sort(), [...new Set(WRITEUP_FIGURES.map((f) => f.ourModel))].sort());
  assert.deepEqual(WRITEUP_REPORTED.cnn_maxpool.metrics, { train_loss: 0.0156, train_acc: 0.9963, val_loss: 0.4081, val_acc: 0.9152, test_acc: 0.91 });
  assert.equal(WRITEUP_REPORTED.cnn_maxpool.note, "\"new model\" with MaxPooling; test accuracy from its classification report (10,000 images)");
  assert.equal(REFERENCE_NUMBERS.length, WRITEUP_FIGURES.filter((f) => f.compared).length + ANCHOR_FIGURES.length);
  for (const r of REFERENCE_NUMBERS.filter((r) => r.writeUp !== "anchor")) {
    assert.equal(WRITEUP_REPORTED[r.ourModel!].metrics[r.metric], r.value, `${r.writeUp} ${r.model}`);
    assert.equal(WRITEUP_REPORTED[r.ourModel!].source, r.writeUp);
  }
  assert.deepEqual(REFERENCE_NUMBERS.filter((r) => r.writeUp === "anchor").map((r) => r.ourModel), ANCHOR_FIGURES.map((a) => a.ourModel));
});
