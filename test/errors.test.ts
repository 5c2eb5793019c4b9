// cleanError: an expected failure prints as one line, however it is printed (tslab uses console.error, which
// goes through util.inspect; Node adds the source line and a caret to errors thrown from a vm script).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as util from "node:util";
import * as vm from "node:vm";
import { cleanError } from "../lib/src/errors";

test("cleanError prints as 'Name: message' through util.inspect, also when thrown from a vm script", () => {
  const e = cleanError("Results not written: the training of best was interrupted.");
  assert.equal(util.inspect(e), "Error: Results not written: the training of best was interrupted.");
  assert.equal(String(e.stack), "Error: Results not written: the training of best was interrupted.");
  let thrown: unknown;
  try {
    vm.runInNewContext("fail()", { fail: () => { throw cleanError("plain line", "Interrupted"); } }, { filename: "cell.ts" });
  } catch (err) {
    thrown = err;
  }
  assert.equal(util.inspect(thrown), "Interrupted: plain line");
  assert.ok(thrown instanceof Error && thrown.message === "plain line");
  // A plain Error from the same place is printed with its frames: the difference is cleanError's doing.
  assert.notEqual(util.inspect(new Error("plain line")), "Error: plain line");
});
