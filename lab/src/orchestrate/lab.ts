import * as fs from "node:fs";
import { controlJson, waitForControl } from "../control";
import type { EmulatorStatus } from "../emulator/config";
import { tunSteps, setupSteps } from "../topology/commands";
import { labRulesFile, prepareLabFiles } from "./suricata";
import { planTopology, type LabTopology, type LabTopologyArgs } from "../topology/plan";
import { runChecked, type CommandRunner } from "@tollgate/appliance";
import {
  clientSocket,
  logTail,
  processSpecs,
  serverSocket,
  startProcess,
  type LabPaths,
  type LabRunOptions,
  type RunningProcess,
} from "./processes";
import {
  listLabNamespaces,
  teardownLab,
  type ProcessControl,
  type TeardownReport,
} from "./teardown";

export interface LabUpOptions extends LabTopologyArgs {
  readonly run: LabRunOptions;
  /** Keep the lab's processes running after this process exits (`lab up`). */
  readonly detached: boolean;
  readonly runner: CommandRunner;
  readonly paths: LabPaths;
  readonly log: (line: string) => void;
  /** How long appliances get to become healthy. Defaults to 20000 ms. */
  readonly readyTimeoutMs?: number;
}

/** A running lab. */
export interface Lab {
  readonly topology: LabTopology;
  readonly run: LabRunOptions;
  readonly processes: Map<string, RunningProcess>;
}

/** Thrown when a lab with the same prefix already exists. */
export class LabExistsError extends Error {}

/** Written to the state directory so `lab status`/`lab down` know what `lab up` built. */
export interface LabStateFile {
  readonly prefix: string;
  readonly createdAt: string;
  readonly rulesFile: string;
  readonly hashMode: string;
  readonly failover: string;
  readonly pids: Record<string, number>;
}

export function stateFilePath(t: LabTopology): string {
  return `${t.stateDir}/lab.json`;
}

async function runSteps(
  runner: CommandRunner,
  steps: ReturnType<typeof setupSteps>,
  log: (l: string) => void,
) {
  for (const step of steps) {
    log(step.title);
    for (const argv of step.commands) await runChecked(runner, argv);
  }
}

function failIfExited(p: RunningProcess, what: string): Promise<never> {
  return p.exited.then((how) => {
    throw new Error(
      `${p.spec.name} exited (${how}) while ${what}; its log (${p.spec.logFile}):\n${logTail(p.spec)}`,
    );
  });
}

async function waitReady(
  p: RunningProcess,
  socket: string,
  path: string,
  timeoutMs: number,
): Promise<void> {
  await Promise.race([waitForControl(socket, path, timeoutMs), failIfExited(p, "starting")]);
}

/** Polls the emulator until every target is healthy. */
export async function waitHealthy(
  t: LabTopology,
  processes: Map<string, RunningProcess>,
  timeoutMs: number,
  targets?: readonly string[],
): Promise<EmulatorStatus> {
  const deadline = Date.now() + timeoutMs;
  const wanted = targets ?? t.appliances.map((a) => a.name);
  for (;;) {
    let s: EmulatorStatus;
    try {
      s = await controlJson<EmulatorStatus>(t.gwlb.controlSocket, "GET", "/status");
    } catch (e) {
      const emu = processes.get("emulator");
      const how = emu ? await Promise.race([emu.exited, Promise.resolve(undefined)]) : undefined;
      if (emu && how !== undefined) {
        throw new Error(
          `the GWLB emulator exited (${how}); its log (${emu.spec.logFile}):\n${logTail(emu.spec)}`,
        );
      }
      throw e;
    }
    const bad = s.targets.filter((x) => wanted.includes(x.name) && x.state !== "healthy");
    if (bad.length === 0) return s;
    for (const b of bad) {
      const p = processes.get(b.name);
      const exited = p ? await Promise.race([p.exited, Promise.resolve(undefined)]) : undefined;
      if (p && exited !== undefined) {
        throw new Error(
          `appliance ${b.name} exited (${exited}); its log (${p.spec.logFile}):\n${logTail(p.spec)}`,
        );
      }
    }
    if (Date.now() > deadline) {
      const lines = bad.map((b) => {
        const p = processes.get(b.name);
        return `  ${b.name}: ${b.state} after ${b.checks} check(s), last: ${b.detail}${p ? `\n${logTail(p.spec, 8).replace(/^/gm, "    ")}` : ""}`;
      });
      throw new Error(`appliances not healthy within ${timeoutMs} ms:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Builds the lab: namespaces and links, the internet server, the client agent, the GWLB
 * emulator, the tun steering, then the appliances; returns once every appliance is healthy.
 * On error the caller tears down (whatever was created has the lab's prefix).
 */
export async function labUp(o: LabUpOptions): Promise<Lab> {
  const t = planTopology(o);
  const existing = await listLabNamespaces(o.runner, t.prefix);
  if (existing.length > 0) {
    throw new LabExistsError(
      `a lab with prefix ${t.prefix} exists already (${existing.join(", ")}): run \`lab down${t.prefix === "tg-lab" ? "" : ` --prefix ${t.prefix}`}\` first`,
    );
  }
  fs.mkdirSync(t.stateDir, { recursive: true, mode: 0o700 });
  prepareLabFiles(t, o.run.rulesFile);
  await runSteps(o.runner, setupSteps(t), o.log);

  const specs = processSpecs(t, o.run, o.paths);
  const processes = new Map<string, RunningProcess>();
  const start = (name: string) => {
    const spec = specs.find((s) => s.name === name)!;
    const p = startProcess(spec, o.detached);
    processes.set(name, p);
    return p;
  };
  o.log(
    "start the internet server (HTTP :80, HTTPS :443 with a self-signed certificate, TCP/UDP echo :7), the client agent and the GWLB emulator",
  );
  const server = start("server");
  const client = start("client");
  const emulator = start("emulator");
  await Promise.all([
    waitReady(server, serverSocket(t), "/stats", 10_000),
    waitReady(client, clientSocket(t), "/ready", 10_000),
    waitReady(emulator, t.gwlb.controlSocket, "/status", 10_000),
  ]);
  await runSteps(o.runner, tunSteps(t), o.log);

  o.log(
    `start ${t.appliances.length} appliance daemon(s): tollgate --rules ${labRulesFile(t)} (a copy of ${o.run.rulesFile})`,
  );
  for (const a of t.appliances) start(a.name);
  writeState(t, o.run, processes);
  const s = await waitHealthy(t, processes, o.readyTimeoutMs ?? 20_000);
  o.log(`appliances healthy: ${s.targets.map((x) => `${x.name} (${x.address})`).join(", ")}`);
  return { topology: t, run: o.run, processes };
}

function writeState(
  t: LabTopology,
  run: LabRunOptions,
  processes: Map<string, RunningProcess>,
): void {
  const state: LabStateFile = {
    prefix: t.prefix,
    createdAt: new Date().toISOString(),
    rulesFile: run.rulesFile,
    hashMode: run.hashMode,
    failover: run.failover,
    pids: Object.fromEntries([...processes].map(([n, p]) => [n, p.pid])),
  };
  fs.writeFileSync(stateFilePath(t), `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(t: LabTopology): LabStateFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFilePath(t), "utf8")) as LabStateFile;
  } catch {
    return undefined;
  }
}

/** Tears down everything with the prefix and removes the state directory. */
export async function labDown(
  runner: CommandRunner,
  pc: ProcessControl,
  t: LabTopology,
  log: (line: string) => void,
): Promise<TeardownReport> {
  const report = await teardownLab(runner, pc, t.prefix, { log });
  fs.rmSync(t.stateDir, { recursive: true, force: true });
  return report;
}
