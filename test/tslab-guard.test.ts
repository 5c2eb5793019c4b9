// Queued socket sends: a zeromq-6-like socket that rejects a send while another is in flight
// (EBUSY) accepts back-to-back sends once queued, in order, per socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { queueSocketSends } from "../lib/src/tslab-guard";

class FakeSocket {
  busy = false;
  sent: string[] = [];
  send(msg: string): Promise<void> {
    if (this.busy) return Promise.reject(Object.assign(new Error("Socket is busy writing; only one send operation may be in progress at any time"), { code: "EBUSY" }));
    this.busy = true;
    return new Promise((resolve) => setTimeout(() => {
      this.busy = false;
      this.sent.push(msg);
      resolve();
    }, 2));
  }
}

test("unqueued, a second send while the first is in flight fails with EBUSY (the kernel-killing race)", async () => {
  const s = new FakeSocket();
  const first = s.send("a");
  await assert.rejects(s.send("b"), /busy writing/);
  await first;
});

test("queued sends wait for each other, keep their order per socket, and queueing is idempotent", async () => {
  class Socket extends FakeSocket {}
  assert.equal(queueSocketSends(Socket.prototype), true);
  assert.equal(queueSocketSends(Socket.prototype), false, "second call changes nothing");
  const a = new Socket();
  const b = new Socket();
  await Promise.all([...["1", "2", "3"].map((m) => a.send(m)), ...["x", "y"].map((m) => b.send(m))]);
  assert.deepEqual(a.sent, ["1", "2", "3"]);
  assert.deepEqual(b.sent, ["x", "y"]);
});

test("a failed send does not block the ones after it", async () => {
  class Flaky extends FakeSocket {
    override send(msg: string): Promise<void> {
      return msg === "bad" ? Promise.reject(new Error("bad message")) : super.send(msg);
    }
  }
  queueSocketSends(Flaky.prototype);
  const s = new Flaky();
  const results = await Promise.allSettled([s.send("ok1"), s.send("bad"), s.send("ok2")]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(s.sent, ["ok1", "ok2"]);
});

test("the real zeromq Socket prototype can be queued (tslab's sockets inherit from it)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zmq = require("zeromq") as { Publisher: { prototype: object } };
  queueSocketSends();
  let p: object | null = zmq.Publisher.prototype;
  while (p && !Object.prototype.hasOwnProperty.call(p, "send")) p = Object.getPrototypeOf(p) as object | null;
  assert.ok(p, "zeromq's Socket prototype has send");
  assert.equal((p as Record<symbol, unknown>)[Symbol.for("fmnist.queuedSend")], true);
});
