/**
 * A Suricata the previous daemon started and did not stop (the daemon was killed with SIGKILL,
 * so Suricata, its child, kept running on the queue): found through the pidfile Suricata writes
 * (`--pidfile` in runDir, see render.ts) and stopped before a new one starts. Only a process
 * whose command line names this appliance's Suricata configuration is stopped; a pidfile naming
 * anything else (a dead or reused pid) is removed, since Suricata refuses to start while its
 * pidfile names a live process.
 */
import { promises as fs } from "node:fs";

/** The process table as the check needs it (tests inject a fake). */
export interface ProcessTable {
  /** The process's argv (/proc/<pid>/cmdline), or undefined when there is no such process. */
  commandLine(pid: number): Promise<string[] | undefined>;
  /** Sends `signal`; false when there is no such process. */
  kill(pid: number, signal: NodeJS.Signals): boolean;
}

/** Sends `signal` to `pid`; false when there is no such process (or it is not ours to signal). */
export function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export const procProcessTable: ProcessTable = {
  /** A zombie's cmdline is empty: it counts as gone. */
  async commandLine(pid) {
    const raw = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
    return raw === undefined || raw === "" ? undefined : raw.replace(/\0$/, "").split("\0");
  },
  kill: sendSignal,
};

/** What the check found: nothing, a stale pidfile, or a leftover stopped by SIGTERM or SIGKILL. */
export type LeftoverOutcome = "none" | "stale" | "stopped" | "killed";

export interface LeftoverCheck {
  readonly pidFile: string;
  /** The configuration file our Suricata runs with (`-c <file>` on its command line). */
  readonly configFile: string;
  readonly processes: ProcessTable;
  /** Grace after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `argv` is a Suricata running with `configFile`. */
function isOurs(argv: readonly string[], configFile: string): boolean {
  const c = argv.indexOf("-c");
  return c >= 0 && argv[c + 1] === configFile;
}

/** Waits until `pid` is gone, up to `ms`; true when it went. */
async function gone(processes: ProcessTable, pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited <= ms; waited += 50) {
    if ((await processes.commandLine(pid)) === undefined) return true;
    await sleep(50);
  }
  return false;
}

/** Stops a Suricata the pidfile names and that runs our configuration; removes the pidfile. */
export async function stopLeftover(c: LeftoverCheck): Promise<{
  outcome: LeftoverOutcome;
  pid?: number;
}> {
  const text = await fs.readFile(c.pidFile, "utf8").catch(() => undefined);
  if (text === undefined) return { outcome: "none" };
  const pid = Number(text.trim());
  const argv = Number.isInteger(pid) && pid > 1 ? await c.processes.commandLine(pid) : undefined;
  let outcome: LeftoverOutcome = "stale";
  if (argv !== undefined && isOurs(argv, c.configFile)) {
    c.processes.kill(pid, "SIGTERM");
    outcome = "stopped";
    if (!(await gone(c.processes, pid, c.stopTimeoutMs))) {
      c.processes.kill(pid, "SIGKILL");
      outcome = "killed";
      await gone(c.processes, pid, c.stopTimeoutMs);
    }
  }
  await fs.rm(c.pidFile, { force: true });
  return { outcome, pid };
}
