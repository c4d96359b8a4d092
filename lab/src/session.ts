import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { blockedPorts, effectiveRules, type EffectiveRules } from "./demo/expect";
import { runDemo, type DemoOptions, type DemoResult } from "./demo/run";
import type { FailoverMode } from "./emulator/balancer";
import type { HashMode } from "./emulator/hash";
import type { HealthCheckSettings } from "./emulator/health";
import { labDown, LabExistsError, labUp, waitHealthy, type Lab } from "./orchestrate/lab";
import {
  defaultPaths,
  startProcess,
  type LabPaths,
  type LabRunOptions,
} from "./orchestrate/processes";
import { realProcessControl, type TeardownReport } from "./orchestrate/teardown";
import { parseRules, tunNames, type CommandRunner } from "@tollgate/appliance";
import { labCommandRunner } from "./topology/commands";
import { planTopology, type LabTopology } from "./topology/plan";
import { collectSnapshot } from "./trace/collect";
import { formatCounters, formatFollowThePacket } from "./trace/format";

/** The rules file the lab uses when none is given: examples/rules/lab.yaml of this checkout. */
export const DEFAULT_RULES_FILE = path.resolve(
  __dirname,
  "..",
  "..",
  "examples",
  "rules",
  "lab.yaml",
);

/** Reads and validates a rules file with the appliance's own parser; throws with every error, line-precise. */
export function loadEffectiveRules(file: string, endpointId: bigint): EffectiveRules {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(
      `cannot read rules file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const r = parseRules(text, file);
  if (!r.ok) throw new Error(`invalid rules file:\n  ${r.errors.join("\n  ")}`);
  return effectiveRules(r.rules, tunNames(endpointId).gwi);
}

export interface LabSessionOptions {
  readonly prefix: string;
  readonly stateDir?: string;
  readonly rulesFile: string;
  readonly hashMode: HashMode;
  readonly failover: FailoverMode;
  readonly health: HealthCheckSettings;
  readonly appliance: "tollgate" | "reflector";
  /** Extra arguments for every appliance daemon. */
  readonly daemonArgs?: readonly string[];
  /** Leave the lab running after the demo (no teardown). */
  readonly keep?: boolean;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Report lines (trace, counters, timing). */
  readonly print: (line: string) => void;
  readonly demo?: Partial<Omit<DemoOptions, "kill" | "log">>;
  readonly runner?: CommandRunner;
  readonly paths?: LabPaths;
  /** Install SIGINT/SIGTERM handlers that tear the lab down. Defaults to true. */
  readonly handleSignals?: boolean;
}

export interface LabSessionResult {
  readonly topology: LabTopology;
  readonly demo?: DemoResult;
  readonly error?: string;
  readonly teardown?: TeardownReport;
  readonly timings: {
    readonly upMs: number;
    readonly demoMs: number;
    readonly downMs: number;
    readonly totalMs: number;
  };
  readonly report: readonly string[];
}

export function runOptionsFor(
  o: LabSessionOptions,
  rules: EffectiveRules,
  t: LabTopology,
): LabRunOptions {
  const blocked = blockedPorts(rules, t.client.address, t.server.address);
  return {
    rulesFile: path.resolve(o.rulesFile),
    hashMode: o.hashMode,
    failover: o.failover,
    health: o.health,
    extraTcpPorts: blocked.filter((b) => b.proto === "tcp").map((b) => b.port),
    extraUdpPorts: blocked.filter((b) => b.proto === "udp").map((b) => b.port),
    appliance: o.appliance,
    daemonArgs: o.daemonArgs ?? [],
  };
}

/** Copies the processes' logs out of the state directory (which teardown removes) after a failure. */
function keepLogs(t: LabTopology, log: (line: string) => void): void {
  try {
    const logs = fs.readdirSync(t.stateDir).filter((f) => f.endsWith(".log"));
    if (logs.length === 0) return;
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-lab-${t.prefix}-logs-`));
    for (const f of logs) fs.copyFileSync(path.join(t.stateDir, f), path.join(dest, f));
    log(`logs of the lab's processes kept in ${dest}`);
  } catch {
    // nothing to keep
  }
}

/**
 * `npm run lab`: up, scripted demo, follow-the-packet trace, down, timing line. Everything is
 * torn down on error, SIGINT or SIGTERM (unless `keep`).
 */
export async function runLabSession(o: LabSessionOptions): Promise<LabSessionResult> {
  const runner = o.runner ?? labCommandRunner();
  const t = planTopology({ prefix: o.prefix, ...(o.stateDir ? { stateDir: o.stateDir } : {}) });
  const rules = loadEffectiveRules(o.rulesFile, t.gwlb.endpointId);
  const run = runOptionsFor(o, rules, t);
  const report: string[] = [];
  const print = (l: string) => {
    report.push(l);
    o.print(l);
  };
  const t0 = Date.now();
  let upMs = 0;
  let demoMs = 0;
  let downMs = 0;
  let lab: Lab | undefined;
  let demo: DemoResult | undefined;
  let error: string | undefined;
  let teardown: TeardownReport | undefined;
  let tearingDown: Promise<TeardownReport> | undefined;
  let foreign = false;
  const down = () => {
    tearingDown ??= (async () => {
      const d0 = Date.now();
      o.log("tear down: stop processes, delete namespaces");
      const r = await labDown(runner, realProcessControl, t, o.log);
      downMs = Date.now() - d0;
      return r;
    })();
    return tearingDown;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    o.log(`${sig}: tearing the lab down`);
    void down().then(
      () => process.exit(sig === "SIGINT" ? 130 : 143),
      () => process.exit(1),
    );
  };
  if (o.handleSignals ?? true) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  const killed = new Set<string>();
  try {
    o.log(
      `lab ${t.prefix}: rules ${run.rulesFile}, ${o.hashMode} hash, target failover ${o.failover}, appliance ${o.appliance}`,
    );
    lab = await labUp({
      prefix: t.prefix,
      stateDir: t.stateDir,
      run,
      // With --keep the processes must outlive this one (and not hold its event loop open).
      detached: o.keep ?? false,
      runner,
      paths: o.paths ?? defaultPaths(),
      log: o.log,
    });
    upMs = Date.now() - t0;
    const d0 = Date.now();
    const current = lab;
    demo = await runDemo(lab, rules, {
      ...o.demo,
      log: o.log,
      kill: (name) => {
        const p = current.processes.get(name);
        if (!p) return false;
        killed.add(name);
        try {
          process.kill(p.pid, "SIGKILL");
          return true;
        } catch {
          return false;
        }
      },
    });
    demoMs = Date.now() - d0;
    const snap = await collectSnapshot(runner, t, (name) => !killed.has(name));
    print("");
    for (const s of demo.steps.filter((x) => x.trace)) {
      for (const l of formatFollowThePacket(snap, s.trace!)) print(l);
      print("");
    }
    for (const l of formatCounters(snap)) print(l);
    if (o.keep && demo.killed) {
      // The lab stays up: bring the killed appliance back (its flows stay where they are now).
      const old = lab.processes.get(demo.killed)!;
      o.log(`restart ${demo.killed}'s daemon so the kept lab is complete`);
      lab.processes.set(demo.killed, startProcess(old.spec, true));
      killed.delete(demo.killed);
      await waitHealthy(t, lab.processes, 20_000, [demo.killed]);
      o.log(`${demo.killed} is healthy again`);
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    // Another lab with this prefix is running (e.g. `lab up`): it is not ours to remove.
    if (e instanceof LabExistsError) foreign = true;
    o.log(`error: ${error}`);
  } finally {
    if (error && !foreign) keepLogs(t, o.log);
    if (!foreign && (!o.keep || error)) teardown = await down();
    if (o.handleSignals ?? true) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
  const totalMs = Date.now() - t0;
  if (teardown && teardown.leftovers.length > 0) {
    const msg = `left behind after teardown: ${teardown.leftovers.join(", ")}`;
    error = error ? `${error}; ${msg}` : msg;
  }
  if (demo) {
    const failed = demo.steps.filter((s) => s.status === "fail").length;
    const passed = demo.steps.filter((s) => s.status === "pass").length;
    print("");
    print(
      `demo: ${passed} passed, ${failed} failed, ${demo.steps.length - passed - failed} skipped/informational`,
    );
  }
  if (!foreign) {
    print(
      `timing: up ${(upMs / 1000).toFixed(1)} s + demo ${(demoMs / 1000).toFixed(1)} s + down ${(downMs / 1000).toFixed(1)} s = ` +
        `${(totalMs / 1000).toFixed(1)} s (target < 30 s)${o.keep && !error ? "; lab kept up: lab down to remove it" : ""}`,
    );
  }
  return {
    topology: t,
    ...(demo ? { demo } : {}),
    ...(error ? { error } : {}),
    ...(teardown ? { teardown } : {}),
    timings: { upMs, demoMs, downMs, totalMs },
    report,
  };
}
