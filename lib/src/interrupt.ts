/**
 * Stopping long work cleanly on Jupyter's "interrupt kernel" (SIGINT to the kernel process).
 *
 * tslab's own interrupt abandons the running cell: it rejects the cell with "Interrupted
 * asynchronously" (a stack trace), while the cell's promise keeps running in the background — a
 * training loop would go on to evaluate and save a half-trained model. Inside an interrupt scope the
 * first SIGINT only raises a flag that the work checks between steps (a training batch, a search
 * trial); the work then returns normally with what it has, and the cell is marked failed so that
 * the cells queued behind it (Run All) are not run, as ipykernel does on KeyboardInterrupt. A second
 * SIGINT while the work is still stopping hands over to tslab's handling (abandon the cell).
 */
import { markCellFailed } from "./tslab-guard";

/** What work inside {@link withInterrupts} checks between steps. */
export interface InterruptScope {
  /** True once SIGINT arrived in this scope. */
  readonly requested: boolean;
}

interface ActiveScope extends InterruptScope {
  requested: boolean;
  depth: number;
  saved: NodeJS.SignalsListener[];
  onSigint: () => void;
}

let active: ActiveScope | undefined;

/** The innermost active interrupt scope, if any (for work nested inside a scope someone else opened). */
export function currentInterruptScope(): InterruptScope | undefined {
  return active;
}

/**
 * Runs `work` with SIGINT turned into a stop request it can poll (`scope.requested`). Nested calls
 * share the outer scope. When `listen` is false (plain scripts, where Ctrl-C should end the
 * process) the scope never fires. If SIGINT arrived, the current notebook cell is marked failed when
 * the work returns (see module comment).
 */
export async function withInterrupts<T>(work: (scope: InterruptScope) => Promise<T>, opts: { listen: boolean }): Promise<T> {
  if (active) {
    active.depth++;
    try {
      return await work(active);
    } finally {
      active.depth--;
    }
  }
  if (!opts.listen) return work({ requested: false });
  // Register only after yielding: tslab runs a cell's synchronous part inside node's breakOnSigint
  // wrapper, which restores SIGINT handling on exit in a way that drops a listener added meanwhile.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const scope: ActiveScope = {
    requested: false,
    depth: 1,
    saved: process.listeners("SIGINT") as NodeJS.SignalsListener[],
    onSigint: () => {
      if (!scope.requested) {
        scope.requested = true;
        return;
      }
      // Second interrupt while stopping: give the cell back to tslab (it abandons the cell).
      for (const l of scope.saved) l("SIGINT");
    },
  };
  process.removeAllListeners("SIGINT");
  process.on("SIGINT", scope.onSigint);
  active = scope;
  try {
    return await work(scope);
  } finally {
    active = undefined;
    process.off("SIGINT", scope.onSigint);
    for (const l of scope.saved) if (!process.listeners("SIGINT").includes(l)) process.on("SIGINT", l);
    if (scope.requested) markCellFailed();
  }
}
