import type { HttpResult, PingResult, StreamResult, TcpResult, UdpResult } from "../agent/probes";
import type { HealthCheckSettings } from "../emulator/health";
import type { Expectation } from "./expect";

/** "info": the rules could not be evaluated from outside; reported, not asserted. */
export type StepStatus = "pass" | "fail" | "skip" | "info";

export interface Judgement {
  readonly status: StepStatus;
  readonly detail: string;
}

function unknown(observed: string, x: Expectation): Judgement {
  return {
    status: "info",
    detail: `${observed} (the rules cannot be evaluated here: ${x.because})`,
  };
}

/** Judges a TCP connection attempt; `serverCount` is how many connections the server saw on that port. */
export function judgeTcp(x: Expectation, r: TcpResult, serverCount: number): Judgement {
  const observed =
    r.outcome === "connected"
      ? `connected, reply ${JSON.stringify((r.reply ?? "").trim())}`
      : r.outcome === "timeout"
        ? `no answer within ${r.ms} ms`
        : `${r.outcome}${r.error ? ` (${r.error})` : ""}`;
  switch (x.verdict) {
    case "allow":
      return r.outcome === "connected"
        ? { status: "pass", detail: `${observed}: allowed by ${x.because}` }
        : {
            status: "fail",
            detail: `expected a connection (allowed by ${x.because}) but got ${observed}`,
          };
    case "drop":
      if (r.outcome === "timeout" && serverCount === 0) {
        return {
          status: "pass",
          detail: `${observed}, server saw no connection: dropped by ${x.because}`,
        };
      }
      return {
        status: "fail",
        detail: `expected a silent drop (${x.because}) but got ${observed}; server saw ${serverCount}`,
      };
    case "reject":
      if (
        (r.outcome === "refused" || r.outcome === "reset" || r.outcome === "unreachable") &&
        serverCount === 0
      ) {
        return {
          status: "pass",
          detail: `${observed}, server saw no connection: rejected by ${x.because}`,
        };
      }
      return {
        status: "fail",
        detail: `expected a reject (${x.because}) but got ${observed}; server saw ${serverCount}`,
      };
    case "unknown":
      return unknown(observed, x);
  }
}

export function judgeUdp(x: Expectation, r: UdpResult, serverCount: number): Judgement {
  const tries = r.attempts !== undefined && r.attempts > 1 ? ` after ${r.attempts} attempts` : "";
  const refused = !r.ok && r.error === "ECONNREFUSED";
  const observed = r.ok
    ? `reply ${JSON.stringify((r.reply ?? "").trim())} in ${r.ms} ms${tries}`
    : refused
      ? "ICMP port unreachable (ECONNREFUSED)"
      : `no reply (${r.error}${r.attempts ? `, ${r.attempts} attempt(s)` : ""})`;
  switch (x.verdict) {
    case "allow":
      return r.ok
        ? { status: "pass", detail: `${observed}: allowed by ${x.because}` }
        : {
            status: "fail",
            detail: `expected a reply (allowed by ${x.because}) but got ${observed}`,
          };
    case "drop":
      return !r.ok && !refused && serverCount === 0
        ? { status: "pass", detail: `${observed}, server saw nothing: dropped by ${x.because}` }
        : {
            status: "fail",
            detail: `expected a silent drop (${x.because}) but got ${observed}; server saw ${serverCount}`,
          };
    case "reject":
      // The reject may be an ICMP error other than port unreachable, which a UDP socket does not see.
      return !r.ok && serverCount === 0
        ? { status: "pass", detail: `${observed}, server saw nothing: rejected by ${x.because}` }
        : {
            status: "fail",
            detail: `expected a reject (${x.because}) but got ${observed}; server saw ${serverCount}`,
          };
    case "unknown":
      return unknown(observed, x);
  }
}

/** `clientAddress` as the server prints it: "10.10.1.10" or "[fd00:10:1::10]". */
export function judgeHttp(x: Expectation, r: HttpResult, clientAddress: string): Judgement {
  const observed = r.ok ? `HTTP ${r.status} in ${r.ms} ms` : `failed: ${r.error}`;
  switch (x.verdict) {
    case "allow": {
      if (!r.ok || r.status !== 200) {
        return {
          status: "fail",
          detail: `expected HTTP 200 (allowed by ${x.because}) but ${observed}`,
        };
      }
      const sawClient = (r.body ?? "").includes(`you are ${clientAddress}:`);
      return sawClient
        ? {
            status: "pass",
            detail: `${observed}; the server saw ${clientAddress} (no NAT on the path)`,
          }
        : {
            status: "fail",
            detail: `${observed} but the server did not see the client's address: ${JSON.stringify(r.body)}`,
          };
    }
    case "drop":
    case "reject":
      return !r.ok
        ? { status: "pass", detail: `${observed}: ${x.verdict} by ${x.because}` }
        : {
            status: "fail",
            detail: `expected HTTP to be blocked (${x.because}) but got ${observed}`,
          };
    case "unknown":
      return unknown(observed, x);
  }
}

export function judgePing(x: Expectation, r: PingResult): Judgement {
  if (!r.available)
    return { status: "skip", detail: "ping is not installed (apt-get install iputils-ping)" };
  const observed = `${r.received}/${r.transmitted} replies`;
  switch (x.verdict) {
    case "allow":
      return r.received > 0
        ? { status: "pass", detail: `${observed}: allowed by ${x.because}` }
        : {
            status: "fail",
            detail: `expected replies (allowed by ${x.because}) but got ${observed}`,
          };
    case "drop":
    case "reject":
      return r.received === 0
        ? { status: "pass", detail: `${observed}: ${x.verdict} by ${x.because}` }
        : { status: "fail", detail: `expected no replies (${x.because}) but got ${observed}` };
    case "unknown":
      return unknown(observed, x);
  }
}

export interface FailoverFacts {
  readonly killed: string;
  readonly survivor: string;
  /** Client ports of the stream's flows that were on the killed appliance before the kill. */
  readonly movedPorts: readonly number[];
  /** Milliseconds from the kill to the emulator marking the target unhealthy; undefined if it never did. */
  readonly detectionMs: number | undefined;
  /** Distinct emulator flow entries behind movedPorts (fewer under 3-/2-tuple hashing). */
  readonly movedEntries?: number;
  /** Flows the emulator reports as moved during the step. */
  readonly flowsMoved: number;
  /** Targets of the moved flows afterwards (from the emulator's flow table). */
  readonly movedFlowTargets: readonly string[];
  readonly stream: StreamResult;
  /** The target group's failover setting. Defaults to "rebalance". */
  readonly failover?: "rebalance" | "no_rebalance";
}

/**
 * Worst-case loss of a moved flow: the kill can land just after a passing check, then
 * `unhealthyThreshold` failing checks one interval apart mark the target unhealthy.
 */
export function failoverLossBound(
  h: HealthCheckSettings,
  streamIntervalMs: number,
): { ms: number; packets: number } {
  const ms = (h.unhealthyThreshold + 1) * h.intervalMs + h.timeoutMs + 300;
  return { ms, packets: Math.ceil(ms / streamIntervalMs) + 2 };
}

export function judgeFailover(f: FailoverFacts, h: HealthCheckSettings): Judgement {
  const bound = failoverLossBound(h, f.stream.intervalMs);
  if (f.movedPorts.length === 0) {
    return {
      status: "fail",
      detail: `no flow of the stream was on ${f.killed} before the kill: nothing to fail over`,
    };
  }
  if (f.failover === "no_rebalance") return judgeNoRebalance(f);
  if (f.detectionMs === undefined) {
    return { status: "fail", detail: `the emulator never marked ${f.killed} unhealthy` };
  }
  const problems: string[] = [];
  const entries = f.movedEntries ?? f.movedPorts.length;
  if (f.flowsMoved < entries) {
    problems.push(`only ${f.flowsMoved} flow(s) moved, ${entries} were on ${f.killed}`);
  }
  if (f.movedFlowTargets.some((t) => t !== f.survivor)) {
    problems.push(
      `moved flows now on ${[...new Set(f.movedFlowTargets)].join(", ")}, expected ${f.survivor}`,
    );
  }
  let worstMoved = 0;
  let worstOther = 0;
  for (const fl of f.stream.flows) {
    const lost = fl.sent - fl.received;
    if (fl.receivedAtEnd === 0) problems.push(`flow from port ${fl.localPort} did not recover`);
    if (f.movedPorts.includes(fl.localPort)) worstMoved = Math.max(worstMoved, lost);
    else worstOther = Math.max(worstOther, lost);
  }
  if (worstMoved > bound.packets) {
    problems.push(
      `a moved flow lost ${worstMoved} packets, more than the bound ${bound.packets} (${bound.ms} ms)`,
    );
  }
  if (worstOther > 3)
    problems.push(`a flow on ${f.survivor} lost ${worstOther} packets (should lose none)`);
  const sent = f.stream.flows.reduce((n, x) => n + x.sent, 0);
  const received = f.stream.flows.reduce((n, x) => n + x.received, 0);
  const summary =
    `${f.killed} killed; unhealthy after ${f.detectionMs} ms; ${f.movedPorts.length} flow(s) moved to ${f.survivor}; ` +
    `stream ${received}/${sent} packets back; worst moved flow lost ${worstMoved} (bound ${bound.packets}), ` +
    `flows on ${f.survivor} lost at most ${worstOther}`;
  return problems.length === 0
    ? { status: "pass", detail: summary }
    : { status: "fail", detail: `${summary}: ${problems.join("; ")}` };
}

/**
 * `no_rebalance`: the failed target's existing flows stay with it (and go dark until they end,
 * as on AWS); flows on the other target are untouched.
 */
function judgeNoRebalance(f: FailoverFacts): Judgement {
  const problems: string[] = [];
  if (f.detectionMs === undefined) problems.push(`the emulator never marked ${f.killed} unhealthy`);
  if (f.flowsMoved > 0)
    problems.push(`${f.flowsMoved} flow(s) moved although target failover is no_rebalance`);
  if (f.movedFlowTargets.some((t) => t !== f.killed)) {
    problems.push(`flows of ${f.killed} now on ${[...new Set(f.movedFlowTargets)].join(", ")}`);
  }
  let worstOther = 0;
  for (const fl of f.stream.flows) {
    if (f.movedPorts.includes(fl.localPort)) {
      if (fl.receivedAtEnd > 0)
        problems.push(`flow from port ${fl.localPort} still answered by a dead target`);
    } else {
      worstOther = Math.max(worstOther, fl.sent - fl.received);
    }
  }
  if (worstOther > 3)
    problems.push(`a flow on ${f.survivor} lost ${worstOther} packets (should lose none)`);
  const summary =
    `${f.killed} killed; ${f.detectionMs === undefined ? "never marked unhealthy" : `unhealthy after ${f.detectionMs} ms`}; ` +
    `no_rebalance: its ${f.movedPorts.length} flow(s) stayed on it and went dark; flows on ${f.survivor} lost at most ${worstOther}`;
  return problems.length === 0
    ? { status: "pass", detail: summary }
    : { status: "fail", detail: `${summary}: ${problems.join("; ")}` };
}
