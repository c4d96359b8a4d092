/**
 * One applier at a time (the daemon's listener and a manual `tollgate rules apply` must not
 * interleave their snapshots): an exclusive lock directory next to the state file, holding the
 * owner's pid; a lock whose owner is gone is taken over.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `fn` holding `<stateFile>.lock`; waits up to `timeoutMs` for another holder. */
export async function withApplyLock<T>(
  stateFile: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const dir = `${stateFile}.lock`;
  const owner = path.join(dir, "pid");
  const deadline = Date.now() + timeoutMs;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  for (;;) {
    try {
      await fs.mkdir(dir);
      await fs.writeFile(owner, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(await fs.readFile(owner, "utf8").catch(() => "0"));
      if (pid > 0 && !alive(pid)) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`another Tollgate rules apply holds ${dir} (pid ${pid || "unknown"})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
