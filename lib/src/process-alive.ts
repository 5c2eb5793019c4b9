/**
 * Whether a process id is alive, for the clean-ups that remove what dead processes left behind
 * (private temp folders, interrupted saves, runner locks and connection folders).
 */

/** True when `pid` names a live process (ours or, EPERM, another user's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
