/**
 * Cleanup that runs even when a test fails or the process dies: every resource the boot harness
 * creates registers a synchronous undo step here. `runCleanup()` (from mocha's after hooks) and the
 * process's exit/signal handlers run them in reverse order, each at most once.
 */
const steps: { what: string; undo: () => void }[] = [];
let installed = false;

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => runCleanup());
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      runCleanup();
      process.kill(process.pid, sig);
    });
  }
}

/** Registers `undo`; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(what: string, undo: () => void): () => void {
  installHandlers();
  const step = { what, undo };
  steps.push(step);
  return () => {
    const i = steps.indexOf(step);
    if (i < 0) return;
    steps.splice(i, 1);
    runStep(step);
  };
}

function runStep(step: { what: string; undo: () => void }): void {
  try {
    step.undo();
  } catch (err) {
    console.error(`boot test cleanup: ${step.what}: ${String(err)}`);
  }
}

/** Runs every registered undo step, newest first. */
export function runCleanup(): void {
  while (steps.length > 0) runStep(steps.pop()!);
}

/** Whether a process with this pid exists (what a stale leftover's owner is checked with). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
