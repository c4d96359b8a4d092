/**
 * The failover steps: a UDP stream of several flows, the appliance holding most of them killed
 * mid-stream, then a new HTTP connection after the failover.
 */
import type { HttpResult, StreamResult } from "../agent/probes";
import type { EmulatorStatus, FlowView } from "../emulator/config";
import { SERVER_ECHO_PORT, SERVER_HTTP_PORT } from "../orchestrate/processes";
import { flowOf } from "./flows";
import { judgeFailover, judgeHttp } from "./judge";
import { verdictText, type DemoContext, type DemoStep, type Judged } from "./step";

/** How long the stream runs before the emulator's flow table is read (to pick the victim). */
const PLACEMENT_READ_MS = 400;

export function failover(c: DemoContext): DemoStep[] {
  const udp = c.expect("udp", SERVER_ECHO_PORT);
  if (c.lab.topology.appliances.length < 2) {
    return [{ id: "failover", does: "failover", skip: "needs two appliances" }];
  }
  if (udp.verdict !== "allow") {
    const skip = `the failover stream uses UDP echo, which the rules do not allow (${udp.because})`;
    return [{ id: "failover", does: "failover", skip }];
  }
  const mode = c.lab.run.failover;
  const moves = mode === "rebalance" ? ", its flows move to the other" : ", its flows stay with it";
  return [
    {
      id: "failover",
      does: `failover (${mode}): ${c.settings.streamPorts.length} UDP flows, kill the appliance holding most of them${moves}`,
      run: () => runFailover(c),
    },
  ];
}

/** Where the stream's flows sit when the victim is chosen. */
interface Placement {
  readonly victim: string;
  readonly survivor: string;
  /** Client ports of the flows on the victim. */
  readonly movedPorts: number[];
  /** Distinct flow entries on the victim (fewer than ports under 3-/2-tuple hashing). */
  readonly movedEntries: number;
  /** "7 on app2, 1 on app1". */
  readonly summary: string;
}

/** The flow entry of the stream's flow from client port `port`. */
function streamFlow(c: DemoContext, flows: readonly FlowView[], port: number) {
  return flowOf(flows, c.lab.run.hashMode, {
    protocol: 17,
    client: c.client,
    server: c.server,
    clientPort: port,
  });
}

/** The victim is the appliance holding most stream flows (ties: by name). */
function placement(c: DemoContext, flows: readonly FlowView[]): Placement {
  const appliances = c.lab.topology.appliances;
  const placed = c.settings.streamPorts.map((port) => ({ port, flow: streamFlow(c, flows, port) }));
  const byTarget = new Map<string, number>();
  for (const p of placed)
    if (p.flow) byTarget.set(p.flow.target, (byTarget.get(p.flow.target) ?? 0) + 1);
  const victim =
    [...byTarget].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ??
    appliances[0]!.name;
  const onVictim = placed.filter((p) => p.flow?.target === victim);
  return {
    victim,
    survivor: appliances.find((a) => a.name !== victim)!.name,
    movedPorts: onVictim.map((p) => p.port),
    movedEntries: new Set(onVictim.map((p) => p.flow!.cookie)).size,
    summary: [...byTarget].map(([k, v]) => `${v} on ${k}`).join(", "),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runFailover(c: DemoContext): Promise<Judged> {
  const { streamPorts, streamIntervalMs, streamMs, killAfterMs } = c.settings;
  const streamP = c.probe<StreamResult>(
    {
      kind: "udp-stream",
      host: c.server,
      port: SERVER_ECHO_PORT,
      localPorts: streamPorts,
      intervalMs: streamIntervalMs,
      durationMs: streamMs,
    },
    streamMs + 10_000,
  );
  await sleep(Math.min(PLACEMENT_READ_MS, killAfterMs));
  const p = placement(c, await c.emulator<FlowView[]>("/flows"));
  c.log(`  stream flows: ${p.summary}`);
  await sleep(Math.max(0, killAfterMs - PLACEMENT_READ_MS));
  const s0 = await c.emulator<EmulatorStatus>("/status");
  const t0 = Date.now();
  if (!c.kill(p.victim)) throw new Error(`${p.victim} was not running`);
  c.killed = p.victim;
  c.log(`  killed ${p.victim}'s tollgate daemon (SIGKILL) at stream time ~${killAfterMs} ms`);
  const killAtEmu = s0.uptimeMs + (Date.now() - t0);
  const stream = await streamP;
  const s1 = await c.emulator<EmulatorStatus>("/status");
  const flowsAfter = await c.emulator<FlowView[]>("/flows");
  const ev = s1.events.find(
    (e) =>
      e.t >= s0.uptimeMs &&
      e.text.startsWith(`target ${p.victim}:`) &&
      e.text.includes("-> unhealthy"),
  );
  if (ev) c.log(`  emulator: ${ev.text}`);
  return judgeFailover(
    {
      killed: p.victim,
      survivor: p.survivor,
      movedPorts: p.movedPorts,
      movedEntries: p.movedEntries,
      detectionMs: ev ? Math.max(0, ev.t - killAtEmu) : undefined,
      flowsMoved: s1.counters.flowsMoved - s0.counters.flowsMoved,
      movedFlowTargets: p.movedPorts.map(
        (port) => streamFlow(c, flowsAfter, port)?.target ?? "(gone)",
      ),
      stream,
      failover: c.lab.run.failover,
    },
    c.lab.run.health,
  );
}

/** A new HTTP connection after the failover: it must reach the survivor (or stay dark if pinned). */
export function afterFailover(c: DemoContext): DemoStep[] {
  const killed = c.killed;
  if (!killed) return [];
  const x = c.expect("tcp", SERVER_HTTP_PORT);
  return [
    {
      id: "after-failover",
      does: "HTTP again after the failover",
      expect: x,
      run: () => runAfterFailover(c, killed),
    },
  ];
}

async function runAfterFailover(c: DemoContext, killed: string): Promise<Judged> {
  const { hashMode, failover: mode } = c.lab.run;
  const x = c.expect("tcp", SERVER_HTTP_PORT);
  const survivor = c.lab.topology.appliances.find((a) => a.name !== killed)!.name;
  const http = { protocol: 6, client: c.client, server: c.server };
  // Under 3-/2-tuple hashing the new connection may belong to an existing flow entry; with
  // no_rebalance an entry pinned to the dead target stays dark until it idles out (as on AWS).
  const before = await c.emulator<FlowView[]>("/flows");
  const pinned = hashMode === "5-tuple" ? undefined : flowOf(before, hashMode, http);
  const dark = mode === "no_rebalance" && pinned?.target === killed;
  const r = await c.probe<HttpResult>({
    kind: "http",
    url: `http://${c.server}/`,
    timeoutMs: dark ? 1500 : 3000,
  });
  if (dark && x.verdict === "allow") {
    return r.ok
      ? {
          status: "fail",
          detail: `HTTP ${r.status}, but its ${hashMode} flow is pinned to dead ${killed}`,
        }
      : {
          status: "pass",
          detail: `no answer (${r.error}): the connection belongs to the ${hashMode} flow pinned to dead ${killed} (no_rebalance); it stays dark until it idles out`,
        };
  }
  const j = judgeHttp(x, r, c.client);
  if (j.status !== "pass" || !r.localPort) return j;
  const flows = await c.emulator<FlowView[]>("/flows");
  const f = flowOf(flows, hashMode, { ...http, clientPort: r.localPort });
  if (x.verdict === "allow" && f && f.target !== survivor) {
    return { status: "fail", detail: `the flow went to ${f.target}, not ${survivor}` };
  }
  return {
    ...j,
    detail: `${j.detail}; flow on ${f?.target ?? "?"}`,
    trace: {
      title: "HTTP GET after failover",
      protocol: 6,
      clientPort: r.localPort,
      serverPort: SERVER_HTTP_PORT,
      verdict: verdictText(x),
    },
  };
}
