/** The demo's step type and what steps work with (run.ts runs them, script.ts lists them). */
import type { Probe } from "../agent/probes";
import type { ServerStats } from "../agent/server";
import type { Lab } from "../orchestrate/lab";
import type { TracedFlow } from "../trace/format";
import type { EffectiveRules, Expectation, ProbeSpec } from "./expect";
import type { Judgement } from "./judge";
import type { DemoOptions } from "./run";

/** What a step reports: its judgement, the flow to trace, and its duration when not wall time. */
export type Judged = Judgement & { readonly trace?: TracedFlow; readonly ms?: number };

/** One step of the script: what it does, what the rules file expects, and how it runs. */
export type DemoStep = {
  /** Stable id: reports and tests refer to the step by it. */
  readonly id: string;
  /** What the step does. */
  readonly does: string;
  /** What the rules file says should happen to the step's traffic (shown after `does`). */
  readonly expect?: Expectation;
} & (
  | { /** Why the step cannot run in this lab: reported as skipped. */ readonly skip: string }
  | { /** Sends the traffic and judges what came back against `expect`. */ run(): Promise<Judged> }
);

/**
 * An entry of the script: the steps it contributes when its turn comes (most one; the blocked
 * ports one per port; steps that depend on an earlier one none when it did not happen).
 */
export type StepSource = (c: DemoContext) => DemoStep[] | Promise<DemoStep[]>;

/** The options with their defaults applied. */
export type DemoSettings = Required<Omit<DemoOptions, "kill" | "log">>;

/** What the steps work with: the lab, the rules, the settings, and what earlier steps did. */
export interface DemoContext {
  readonly lab: Lab;
  readonly rules: EffectiveRules;
  readonly settings: DemoSettings;
  readonly client: string;
  readonly server: string;
  /** What the rules say about client -> server traffic (IPv4 unless `family` says 6). */
  expect(proto: ProbeSpec["proto"], port?: number, extra?: Partial<ProbeSpec>): Expectation;
  /** Runs a probe in the client's namespace. */
  probe<T>(p: Probe, timeoutMs?: number): Promise<T>;
  /** What the server has seen so far, per `proto/port`. */
  serverStats(): Promise<ServerStats>;
  /** A GET on the GWLB emulator's control API. */
  emulator<T>(path: "/flows" | "/status"): Promise<T>;
  kill(appliance: string): boolean;
  log(line: string): void;
  /** The appliance the failover step killed. */
  killed?: string;
}

/** "expected allow (rules[1])", as titles and traces show an expectation. */
export function verdictText(x: Expectation): string {
  return `${x.verdict === "unknown" ? "expected: unknown" : `expected ${x.verdict}`} (${x.because})`;
}

/** A judgement with the flow to follow in the trace, when the probe got a client port. */
export function traced(
  j: Judgement,
  x: Expectation,
  localPort: number | undefined,
  flow: Omit<TracedFlow, "clientPort" | "verdict">,
): Judged {
  return localPort
    ? { ...j, trace: { ...flow, clientPort: localPort, verdict: verdictText(x) } }
    : j;
}
