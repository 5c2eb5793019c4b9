/**
 * Keeps a busy notebook kernel alive. tslab sends every Jupyter message with zeromq 6's
 * `socket.send()` without waiting for the previous send to finish; zeromq 6 rejects a send while
 * another is in flight ("Socket is busy writing", EBUSY), and in a kernel that rejection is
 * unhandled, which ends the process (seen in a full-profile run: a training progress redraw
 * while the machine was saturated killed notebook 08's kernel). Queuing each socket's sends one
 * after another removes the race without changing what is sent.
 */

interface SendProto {
  send(this: object, ...args: unknown[]): Promise<unknown>;
}

const QUEUED = Symbol.for("fmnist.queuedSend");

/**
 * Replaces `send` on `proto` (the zeromq Socket prototype unless given) by a version that waits
 * for the same socket's previous send. Idempotent; false when zeromq is absent or already queued.
 */
export function queueSocketSends(proto?: object): boolean {
  let target = proto;
  if (!target) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const zmq = require("zeromq") as { Publisher?: { prototype: object } };
      let p: object | null = zmq.Publisher?.prototype ?? null;
      while (p && !Object.prototype.hasOwnProperty.call(p, "send")) p = Object.getPrototypeOf(p) as object | null;
      if (!p) return false;
      target = p;
    } catch {
      return false; // not inside a tslab kernel's dependency tree
    }
  }
  const t = target as SendProto & { [QUEUED]?: boolean };
  if (t[QUEUED]) return false;
  const original = t.send;
  const tails = new WeakMap<object, Promise<unknown>>();
  Object.defineProperty(t, "send", {
    configurable: true,
    writable: false,
    value: function send(this: object, ...args: unknown[]): Promise<unknown> {
      const run = (tails.get(this) ?? Promise.resolve()).then(() => original.apply(this, args));
      tails.set(this, run.catch(() => undefined));
      return run;
    },
  });
  Object.defineProperty(t, QUEUED, { value: true });
  return true;
}
