/**
 * Everything the library needs to know about, or adjust in, a tslab kernel it runs in.
 *
 * Busy kernels stay alive. tslab sends every Jupyter message with zeromq 6's
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

/** tslab's process-wide hook (its dist/jupyter module): the display writer of the executing cell. */
export interface TslabJupyter {
  lastWriteDisplayData: ((data: { data: Record<string, string | object>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void) | null;
  JupyterHandlerImpl?: { prototype: object };
}

/**
 * tslab's jupyter module when this process is a tslab kernel, else undefined. The first call
 * inside a kernel installs the guards of this module (queued sends, cells marked failed).
 */
let found: { key: string; jupyter: TslabJupyter } | undefined;

export function tslabKernel(): TslabJupyter | undefined {
  if (found && require.cache[found.key]?.exports === found.jupyter) return found.jupyter;
  // Look in the module cache first: inside a kernel tslab has loaded it; elsewhere we must not load
  // tslab (it pulls in its bundled TypeScript) just to find out we are not in a kernel.
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) {
      const jupyter = require.cache[key]?.exports as TslabJupyter;
      queueSocketSends();
      if (jupyter.JupyterHandlerImpl) patchExecuteStatus(jupyter.JupyterHandlerImpl.prototype);
      found = { key, jupyter };
      return jupyter;
    }
  }
  return undefined;
}

interface ExecuteProto {
  handleExecuteImpl(this: object, ...args: unknown[]): Promise<unknown>;
}

const PATCHED = Symbol.for("fmnist.executeStatus");
let failPending = false;

/**
 * Makes the cell now executing end with status "error" although its code returned normally. tslab
 * then cancels the cells queued behind it (what Jupyter kernels do after an error or an interrupt),
 * while the variables the cell assigned stay defined. No effect outside a kernel.
 */
export function markCellFailed(): void {
  failPending = true;
}

/**
 * Wraps tslab's per-request execute so that {@link markCellFailed} takes effect: the wrapper rethrows
 * the request's ExecutionCount, tslab's own signal for "this cell failed" (idempotent; returns false
 * when already patched). Exported for tests.
 */
export function patchExecuteStatus(proto: object): boolean {
  const t = proto as ExecuteProto & { [PATCHED]?: boolean };
  if (t[PATCHED] || typeof t.handleExecuteImpl !== "function") return false;
  const original = t.handleExecuteImpl;
  Object.defineProperty(t, "handleExecuteImpl", {
    configurable: true,
    writable: true,
    value: async function handleExecuteImpl(this: object, ...args: unknown[]): Promise<unknown> {
      failPending = false;
      const count = await original.apply(this, args);
      if (failPending) {
        failPending = false;
        throw count;
      }
      return count;
    },
  });
  Object.defineProperty(t, PATCHED, { value: true });
  return true;
}

// Install the guards as soon as the library loads in a kernel (the first cell's import), so they are in
// place before any later cell starts executing.
tslabKernel();
