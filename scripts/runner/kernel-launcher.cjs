// @ts-check
// Starts tslab's kernel in this process with a watchdog, so the kernel never outlives the runner that
// started it, whatever ends the runner (SIGKILL included). Plain CommonJS so it starts without a TypeScript
// loader in the kernel process.
//
// Usage (by scripts/runner/kernel-client.ts only):
//   node kernel-launcher.cjs <runner pid> <private dir> <tslab main.js> kernel --config-path <file>
// File descriptor 3 must be a pipe from the runner; the runner never writes to it.
//
// The watchdog runs on a worker thread, so a cell that blocks the main thread (a long synchronous loop) does
// not delay it. It ends the kernel when the pipe reports end-of-file or an error (the runner's end closed:
// the runner exited or was killed) or, as a backstop, when this process's parent pid is no longer the
// runner's. Ending = removing the private folder holding the connection file (it has the HMAC key), then
// SIGKILL to the kernel's whole process group (the runner starts the kernel as a group leader, so this also
// ends whatever the cells started). tslab itself runs in-process: SIGINT still reaches tslab's own handler
// (Kernel → Interrupt), and the kernel's pid and exit status are tslab's.
"use strict";
const fs = require("node:fs");
const net = require("node:net");
const { Worker, isMainThread, workerData } = require("node:worker_threads");

const PARENT_POLL_MS = 500;

/** @param {string} privateDir */
function endKernel(privateDir) {
  try {
    fs.rmSync(privateDir, { recursive: true, force: true });
  } catch {
    // Nothing more can be done; the runner's next start removes folders whose owner is dead.
  }
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    // Not a group leader (started by hand): at least end this process.
  }
  process.kill(process.pid, "SIGKILL");
}

if (isMainThread) {
  const [parentPidArg, privateDir, tslabMain, ...tslabArgs] = process.argv.slice(2);
  const parentPid = Number(parentPidArg);
  if (!Number.isInteger(parentPid) || parentPid <= 0 || !privateDir || !tslabMain || tslabArgs.length === 0) {
    process.stderr.write(
      "usage: node kernel-launcher.cjs <runner pid> <private dir> <tslab main.js> kernel --config-path <file>\n" +
        "(started by the notebook runner; to run tslab by hand use node_modules/tslab/bin/tslab)\n",
    );
    process.exit(2);
  }
  if (process.ppid !== parentPid) {
    // The runner is already gone (or this was not started by it): do not start an unguarded kernel.
    endKernel(privateDir);
  }
  const watchdog = new Worker(__filename, { workerData: { parentPid, privateDir } });
  watchdog.unref();
  watchdog.on("error", (err) => {
    process.stderr.write(`kernel watchdog failed (${err && err.message}); stopping the kernel rather than leaving it unguarded\n`);
    endKernel(privateDir);
  });
  // tslab reads its command line with commander: make it look like `node tslab kernel --config-path FILE`.
  process.argv = [process.argv[0], tslabMain, ...tslabArgs];
  /** @type {{ main: () => void }} */
  const tslab = require(tslabMain);
  tslab.main();
} else {
  const { parentPid, privateDir } = /** @type {{ parentPid: number; privateDir: string }} */ (workerData);
  const gone = () => endKernel(privateDir);
  let pipe;
  try {
    pipe = new net.Socket({ fd: 3, readable: true, writable: false });
  } catch (err) {
    process.stderr.write(`kernel watchdog: fd 3 is not the runner's pipe (${/** @type {Error} */ (err).message})\n`);
    gone();
    throw err;
  }
  pipe.on("end", gone);
  pipe.on("close", gone);
  pipe.on("error", gone);
  pipe.on("data", () => {
    // The runner never writes; anything read is ignored.
  });
  setInterval(() => {
    if (process.ppid !== parentPid) gone();
  }, PARENT_POLL_MS);
}
