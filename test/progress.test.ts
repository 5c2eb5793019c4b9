// Training progress: in a (simulated) tslab kernel one display entry rewritten in place through
// display.ts's updatableDisplay (the same hook as show), HTML-escaped; detaching when the cell is gone;
// plain lines elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import Module from "node:module";
import { createReporter, fmtSec } from "../lib/src/progress";

interface Sent {
  data: Record<string, unknown>;
  transient: { display_id?: string };
  update: boolean;
}

function fakeKernel(): { sent: Sent[]; jupyter: { lastWriteDisplayData: unknown }; remove(): void } {
  const sent: Sent[] = [];
  const file = path.join(__dirname, "..", "node_modules", "tslab-fake-progress", "tslab", "dist", "jupyter.js");
  const m = new Module(file);
  const jupyter = { lastWriteDisplayData: (d: Omit<Sent, "update">, update: boolean) => void sent.push({ ...d, update }) as unknown };
  m.exports = jupyter;
  m.loaded = true;
  require.cache[file] = m;
  return { sent, jupyter, remove: () => void delete require.cache[file] };
}

test("in a kernel: one entry (one display_id), first sent then updated, HTML escaped; detached once the cell is gone", () => {
  const k = fakeKernel();
  try {
    const r = createReporter("auto", "a<b>", 2, () => 5);
    r.epochStart(1, 4);
    r.epochEnd({ epoch: 1, epochs: 2, loss: 0.5, acc: 0.75, sec: 3 }, "");
    r.end("done");
    assert.equal(k.sent.length, 3);
    const ids = new Set(k.sent.map((s) => s.transient.display_id));
    assert.equal(ids.size, 1);
    assert.match([...ids][0] ?? "", /^[0-9a-f]{16}$/);
    assert.deepEqual(k.sent.map((s) => s.update), [false, true, true]);
    const last = k.sent[2].data["text/html"] as string;
    assert.equal(last, `<pre style="margin:0">[a&lt;b&gt;] epoch 1/2 loss 0.5000 acc 0.7500 (3s)\n[a&lt;b&gt;] done</pre>`);
    k.jupyter.lastWriteDisplayData = null; // tslab clears the hook when no cell executes
    r.end("again");
    k.jupyter.lastWriteDisplayData = (d: Omit<Sent, "update">, update: boolean) => void k.sent.push({ ...d, update });
    r.end("and again");
    assert.equal(k.sent.length, 3, "a detached reporter sends nothing more");
  } finally {
    k.remove();
  }
});

test("outside a kernel: lines; \"none\" prints nothing", () => {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    const r = createReporter("auto", "m", 1, () => 0);
    r.epochStart(1, 2);
    r.epochEnd({ epoch: 1, epochs: 1, loss: 1, acc: 0.5, val_loss: 2, val_acc: 0.25, sec: 75 }, " (x)");
    r.end("done");
    createReporter("none", "m", 1, () => 0).end("quiet");
  } finally {
    console.log = orig;
  }
  assert.deepEqual(lines, ["[m] epoch 1/1 loss 1.0000 acc 0.5000 val_loss 2.0000 val_acc 0.2500 (1m15s) (x)", "[m] done"]);
  assert.deepEqual([fmtSec(42), fmtSec(187), fmtSec(3900), fmtSec(Infinity)], ["42s", "3m07s", "1h05m", "?"]);
});
