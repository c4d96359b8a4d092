/**
 * The scripted demo: the steps of script.ts run in order against a lab that is up, each judged
 * against what the rules file says should happen to its traffic.
 */
import type { ServerStats } from "../agent/server";
import { controlJson } from "../control";
import type { Lab } from "../orchestrate/lab";
import { clientSocket, serverSocket } from "../orchestrate/processes";
import type { TracedFlow } from "../trace/format";
import { expectVerdict, type EffectiveRules } from "./expect";
import type { StepStatus } from "./judge";
import { SCRIPT } from "./script";
import {
  verdictText,
  type DemoContext,
  type DemoSettings,
  type DemoStep,
  type Judged,
} from "./step";

export interface StepOutcome {
  readonly id: string;
  readonly title: string;
  readonly status: StepStatus;
  readonly detail: string;
  readonly ms: number;
  /** The flow to follow in the trace, when the step made one. */
  readonly trace?: TracedFlow;
}

export interface DemoOptions {
  /** Client source ports of the failover stream (one flow each). Defaults to 42001-42008. */
  readonly streamPorts?: readonly number[];
  /** Send interval per stream flow. Defaults to 20 ms. */
  readonly streamIntervalMs?: number;
  /** Stream duration. Defaults to 3500 ms. */
  readonly streamMs?: number;
  /** When the appliance is killed after the stream starts. Defaults to 800 ms. */
  readonly killAfterMs?: number;
  /** Timeout of the blocked-port probes. Defaults to 1500 ms. */
  readonly blockedTimeoutMs?: number;
  /** Kills an appliance's daemon (SIGKILL); returns false if it was not running. */
  readonly kill: (appliance: string) => boolean;
  readonly log: (line: string) => void;
}

export interface DemoResult {
  readonly steps: readonly StepOutcome[];
  readonly passed: boolean;
  /** The appliance the failover step killed. */
  readonly killed?: string;
}

const DEFAULTS: DemoSettings = {
  streamPorts: [42001, 42002, 42003, 42004, 42005, 42006, 42007, 42008],
  streamIntervalMs: 20,
  streamMs: 3500,
  killAfterMs: 800,
  blockedTimeoutMs: 1500,
};

const SYMBOL: Record<StepStatus, string> = { pass: "✔", fail: "✘", skip: "-", info: "i" };

/** Runs the scripted demo against a lab that is up; every step is judged against the rules file. */
export async function runDemo(
  lab: Lab,
  rules: EffectiveRules,
  o: DemoOptions,
): Promise<DemoResult> {
  const c = demoContext(lab, rules, o);
  const steps: StepOutcome[] = [];
  for (const source of SCRIPT) {
    for (const s of await source(c)) steps.push(await runStep(s, c.log));
  }
  return {
    steps,
    passed: steps.every((s) => s.status !== "fail"),
    ...(c.killed ? { killed: c.killed } : {}),
  };
}

/** Runs one step: logs it, times it, and turns an error into a failed step. */
async function runStep(s: DemoStep, log: (line: string) => void): Promise<StepOutcome> {
  const title = s.expect ? `${s.does} - ${verdictText(s.expect)}` : s.does;
  log(`▶ ${title}`);
  const t0 = Date.now();
  let r: Judged;
  try {
    r = "skip" in s ? { status: "skip", detail: s.skip } : await s.run();
  } catch (e) {
    r = { status: "fail", detail: `error: ${(e as Error).message}` };
  }
  const { ms, ...rest } = r;
  const out: StepOutcome = { id: s.id, title, ms: ms ?? Date.now() - t0, ...rest };
  log(`  ${SYMBOL[out.status]} ${out.status} (${out.ms} ms): ${out.detail}`);
  return out;
}

function demoContext(lab: Lab, rules: EffectiveRules, o: DemoOptions): DemoContext {
  const t = lab.topology;
  const client = t.client.address;
  const server = t.server.address;
  return {
    lab,
    rules,
    settings: {
      streamPorts: o.streamPorts ?? DEFAULTS.streamPorts,
      streamIntervalMs: o.streamIntervalMs ?? DEFAULTS.streamIntervalMs,
      streamMs: o.streamMs ?? DEFAULTS.streamMs,
      killAfterMs: o.killAfterMs ?? DEFAULTS.killAfterMs,
      blockedTimeoutMs: o.blockedTimeoutMs ?? DEFAULTS.blockedTimeoutMs,
    },
    client,
    server,
    expect: (proto, port, extra) =>
      expectVerdict(rules, {
        proto,
        src: client,
        dst: server,
        ...(port !== undefined ? { port } : {}),
        ...extra,
      }),
    probe: (p, timeoutMs = 15_000) => controlJson(clientSocket(t), "POST", "/probe", p, timeoutMs),
    serverStats: () => controlJson<ServerStats>(serverSocket(t), "GET", "/stats"),
    emulator: (path) => controlJson(t.gwlb.controlSocket, "GET", path),
    kill: (appliance) => o.kill(appliance),
    log: (line) => o.log(line),
  };
}
