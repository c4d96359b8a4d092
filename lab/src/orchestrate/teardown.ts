import * as fs from "node:fs";
import { sendSignal, type CommandRunner } from "@tollgate/appliance";

/** Sending signals and checking processes; injected so teardown is tested without processes. */
export interface ProcessControl {
  /** Sends a signal; false when the process does not exist. */
  kill(pid: number, signal: NodeJS.Signals): boolean;
  alive(pid: number): boolean;
  sleep(ms: number): Promise<void>;
}

export const realProcessControl: ProcessControl = {
  kill: sendSignal,
  alive(pid) {
    // A zombie (exited, not yet reaped by its parent) counts as gone.
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Only the lab's own namespaces match: `<prefix>-client|gwlb|inet|app<N>`, never a longer prefix. */
export function labNamespacePattern(prefix: string): RegExp {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped}-(client|gwlb|inet|app[1-9])$`);
}

/** Namespaces of the lab with this prefix that exist now. */
export async function listLabNamespaces(runner: CommandRunner, prefix: string): Promise<string[]> {
  const r = await runner.run(["ip", "netns", "list"]);
  const re = labNamespacePattern(prefix);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => re.test(n))
    .sort();
}

/**
 * Teardown order: appliances first (their daemons remove their own interfaces and rules on
 * SIGTERM), then the emulator, then the client and internet agents.
 */
export function teardownOrder(namespaces: readonly string[]): string[] {
  const rank = (n: string) =>
    /-app\d+$/.test(n) ? 0 : n.endsWith("-gwlb") ? 1 : n.endsWith("-client") ? 2 : 3;
  return [...namespaces].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export interface TeardownReport {
  readonly namespaces: readonly string[];
  /** Processes that got SIGTERM, and those that needed SIGKILL. */
  readonly terminated: readonly number[];
  readonly killed: readonly number[];
  /** Namespaces still present afterwards (should be empty). */
  readonly leftovers: readonly string[];
  readonly errors: readonly string[];
}

export interface TeardownOptions {
  /** How long processes get to exit after SIGTERM. Defaults to 3000 ms. */
  readonly graceMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Removes everything of the lab with `prefix`: stops every process inside its namespaces
 * (SIGTERM, then SIGKILL after the grace period), deletes the namespaces (which deletes every
 * veth, bridge and tun in them), then checks nothing is left. Never throws: errors are
 * reported, and each step runs even when an earlier one failed.
 */
export async function teardownLab(
  runner: CommandRunner,
  pc: ProcessControl,
  prefix: string,
  options: TeardownOptions = {},
): Promise<TeardownReport> {
  const log = options.log ?? (() => undefined);
  const errors: string[] = [];
  const namespaces = teardownOrder(await listLabNamespaces(runner, prefix));
  const pids: number[] = [];
  for (const ns of namespaces) {
    const r = await runner.run(["ip", "netns", "pids", ns]);
    for (const p of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      if (Number.isInteger(p) && p > 1 && p !== process.pid && !pids.includes(p)) pids.push(p);
    }
  }
  const terminated = pids.filter((p) => pc.kill(p, "SIGTERM"));
  if (terminated.length > 0)
    log(`stopping ${terminated.length} process(es) in the lab's namespaces`);
  const deadline = (options.graceMs ?? 3000) / 50;
  for (let i = 0; i < deadline && terminated.some((p) => pc.alive(p)); i++) await pc.sleep(50);
  const killed = terminated.filter((p) => pc.alive(p) && pc.kill(p, "SIGKILL"));
  if (killed.length > 0) log(`killed ${killed.length} process(es) that ignored SIGTERM`);
  for (const ns of namespaces) {
    const r = await runner.run(["ip", "netns", "del", ns]);
    if (r.code !== 0) errors.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
  }
  if (namespaces.length > 0) log(`deleted namespaces ${namespaces.join(", ")}`);
  const leftovers = await listLabNamespaces(runner, prefix);
  return { namespaces, terminated, killed, leftovers, errors };
}
