import type {
  HttpResult,
  PingResult,
  Probe,
  StreamResult,
  TcpResult,
  UdpResult,
} from "../agent/probes";
import type { ServerStats } from "../agent/server";
import { controlJson } from "../control";
import type { EmulatorStatus, FlowView } from "../emulator/config";
import type { Lab } from "../orchestrate/lab";
import {
  clientSocket,
  SERVER_ECHO_PORT,
  SERVER_HTTP_PORT,
  serverSocket,
} from "../orchestrate/processes";
import type { TracedFlow } from "../trace/format";
import { flowOf } from "./flows";
import {
  blockedPorts,
  expectVerdict,
  type EffectiveRules,
  type Expectation,
  type ProbeSpec,
} from "./expect";
import {
  judgeFailover,
  judgeHttp,
  judgePing,
  judgeTcp,
  judgeUdp,
  type Judgement,
  type StepStatus,
} from "./judge";

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

const SYMBOL: Record<StepStatus, string> = { pass: "✔", fail: "✘", skip: "-", info: "i" };

function probe<T>(lab: Lab, p: Probe, timeoutMs = 15_000): Promise<T> {
  return controlJson<T>(clientSocket(lab.topology), "POST", "/probe", p, timeoutMs);
}

function serverStats(lab: Lab): Promise<ServerStats> {
  return controlJson<ServerStats>(serverSocket(lab.topology), "GET", "/stats");
}

/** Runs the scripted demo against a lab that is up; every step is judged against the rules file. */
export async function runDemo(
  lab: Lab,
  rules: EffectiveRules,
  o: DemoOptions,
): Promise<DemoResult> {
  const t = lab.topology;
  const client = t.client.address;
  const server = t.server.address;
  const steps: StepOutcome[] = [];
  const spec = (proto: ProbeSpec["proto"], port?: number, icmpType?: number): ProbeSpec => ({
    proto,
    src: client,
    dst: server,
    ...(port !== undefined ? { port } : {}),
    ...(icmpType !== undefined ? { icmpType } : {}),
  });
  const step = async (
    id: string,
    title: string,
    fn: () => Promise<Judgement & { trace?: TracedFlow; ms?: number }>,
  ): Promise<StepOutcome> => {
    o.log(`▶ ${title}`);
    const t0 = Date.now();
    let r: Judgement & { trace?: TracedFlow; ms?: number };
    try {
      r = await fn();
    } catch (e) {
      r = { status: "fail", detail: `error: ${(e as Error).message}` };
    }
    const { ms, ...rest } = r;
    const out: StepOutcome = { id, title, ms: ms ?? Date.now() - t0, ...rest };
    o.log(`  ${SYMBOL[out.status]} ${out.status} (${out.ms} ms): ${out.detail}`);
    steps.push(out);
    return out;
  };
  const verdictText = (x: Expectation) =>
    `${x.verdict === "unknown" ? "expected: unknown" : `expected ${x.verdict}`} (${x.because})`;

  const httpX = expectVerdict(rules, spec("tcp", SERVER_HTTP_PORT));
  await step(
    "http",
    `HTTP GET http://${server}/ from the client - ${verdictText(httpX)}`,
    async () => {
      const r = await probe<HttpResult>(lab, {
        kind: "http",
        url: `http://${server}/`,
        timeoutMs: 3000,
      });
      return {
        ...judgeHttp(httpX, r, client),
        ...(r.localPort
          ? {
              trace: {
                title: "HTTP GET",
                protocol: 6,
                clientPort: r.localPort,
                serverPort: SERVER_HTTP_PORT,
                verdict: verdictText(httpX),
              },
            }
          : {}),
      };
    },
  );

  const http6X = expectVerdict(rules, {
    ...spec("tcp", SERVER_HTTP_PORT),
    family: 6,
    src: t.client.address6,
    dst: t.server.address6,
  });
  await step(
    "http6",
    `HTTP GET http://[${t.server.address6}]/ (inner IPv6 in GENEVE over IPv4) - ${verdictText(http6X)}`,
    async () => {
      const r = await probe<HttpResult>(lab, {
        kind: "http",
        url: `http://[${t.server.address6}]/`,
        timeoutMs: 3000,
      });
      return {
        ...judgeHttp(http6X, r, `[${t.client.address6}]`),
        ...(r.localPort
          ? {
              trace: {
                title: "HTTP GET over IPv6",
                protocol: 6,
                clientPort: r.localPort,
                serverPort: SERVER_HTTP_PORT,
                verdict: verdictText(http6X),
                client: t.client.address6,
                server: t.server.address6,
              },
            }
          : {}),
      };
    },
  );

  const udpX = expectVerdict(rules, spec("udp", SERVER_ECHO_PORT));
  await step(
    "udp-echo",
    `UDP echo ${server}:${SERVER_ECHO_PORT} - ${verdictText(udpX)}`,
    async () => {
      const before = (await serverStats(lab))[`udp/${SERVER_ECHO_PORT}`]?.count ?? 0;
      const r = await probe<UdpResult>(lab, {
        kind: "udp",
        host: server,
        port: SERVER_ECHO_PORT,
        payload: "tollgate lab udp echo",
        timeoutMs: 1500,
      });
      const after = (await serverStats(lab))[`udp/${SERVER_ECHO_PORT}`]?.count ?? 0;
      return {
        ...judgeUdp(udpX, r, after - before),
        ...(r.localPort
          ? {
              trace: {
                title: "UDP echo",
                protocol: 17,
                clientPort: r.localPort,
                serverPort: SERVER_ECHO_PORT,
                verdict: verdictText(udpX),
              },
            }
          : {}),
      };
    },
  );

  const tcpX = expectVerdict(rules, spec("tcp", SERVER_ECHO_PORT));
  await step(
    "tcp-echo",
    `TCP echo ${server}:${SERVER_ECHO_PORT} - ${verdictText(tcpX)}`,
    async () => {
      const before = (await serverStats(lab))[`tcp/${SERVER_ECHO_PORT}`]?.count ?? 0;
      const r = await probe<TcpResult>(lab, {
        kind: "tcp",
        host: server,
        port: SERVER_ECHO_PORT,
        timeoutMs: o.blockedTimeoutMs ?? 1500,
        payload: "tollgate lab tcp echo",
      });
      const after = (await serverStats(lab))[`tcp/${SERVER_ECHO_PORT}`]?.count ?? 0;
      return judgeTcp(tcpX, r, after - before);
    },
  );

  const pingX = expectVerdict(rules, spec("icmp", undefined, 8));
  await step("ping", `ping ${server} - ${verdictText(pingX)}`, async () => {
    const r = await probe<PingResult>(lab, { kind: "ping", host: server, count: 3 });
    return {
      ...judgePing(pingX, r),
      ...(r.available
        ? { trace: { title: "ping", protocol: 1, verdict: verdictText(pingX) } }
        : {}),
    };
  });

  const blocked = blockedPorts(rules, client, server);
  if (blocked.length === 0) {
    await step("blocked", "blocked port from the rules file", async () => ({
      status: "skip",
      detail:
        "the rules file has no drop/reject rule with a TCP/UDP port that applies to client -> server traffic",
    }));
  }
  const before = await serverStats(lab);
  if (blocked.length > 0) {
    o.log(
      `  probing ${blocked.map((b) => `${b.proto}/${b.port}`).join(", ")} in parallel ` +
        `(${o.blockedTimeoutMs ?? 1500} ms each)`,
    );
  }
  const blockedResults = await Promise.all(
    blocked.map(async (b) => {
      const timeoutMs = o.blockedTimeoutMs ?? 1500;
      const r =
        b.proto === "tcp"
          ? await probe<TcpResult>(lab, { kind: "tcp", host: server, port: b.port, timeoutMs })
          : await probe<UdpResult>(lab, {
              kind: "udp",
              host: server,
              port: b.port,
              payload: "blocked?",
              timeoutMs,
            });
      return { b, r };
    }),
  );
  const afterBlocked = await serverStats(lab);
  for (const { b, r } of blockedResults) {
    const key = `${b.proto}/${b.port}`;
    const seen = (afterBlocked[key]?.count ?? 0) - (before[key]?.count ?? 0);
    await step(
      `blocked-${b.proto}-${b.port}`,
      `blocked port ${b.proto}/${b.port} - ${verdictText(b.expectation)}`,
      async () => ({
        ...(b.proto === "tcp"
          ? judgeTcp(b.expectation, r as TcpResult, seen)
          : judgeUdp(b.expectation, r as UdpResult, seen)),
        ms: r.ms,
        ...(r.localPort
          ? {
              trace: {
                title: `blocked port ${b.proto}/${b.port}`,
                protocol: b.proto === "tcp" ? 6 : 17,
                clientPort: r.localPort,
                serverPort: b.port,
                verdict: verdictText(b.expectation),
              },
            }
          : {}),
      }),
    );
  }

  let killed: string | undefined;
  const streamPorts = o.streamPorts ?? [42001, 42002, 42003, 42004, 42005, 42006, 42007, 42008];
  if (t.appliances.length < 2) {
    await step("failover", "failover", async () => ({
      status: "skip",
      detail: "needs two appliances",
    }));
  } else if (udpX.verdict !== "allow") {
    await step("failover", "failover", async () => ({
      status: "skip",
      detail: `the failover stream uses UDP echo, which the rules do not allow (${udpX.because})`,
    }));
  } else {
    await step(
      "failover",
      `failover (${lab.run.failover}): ${streamPorts.length} UDP flows, kill the appliance holding most of them` +
        (lab.run.failover === "rebalance"
          ? ", its flows move to the other"
          : ", its flows stay with it"),
      async () => {
        const intervalMs = o.streamIntervalMs ?? 20;
        const durationMs = o.streamMs ?? 3500;
        const streamP = probe<StreamResult>(
          lab,
          {
            kind: "udp-stream",
            host: server,
            port: SERVER_ECHO_PORT,
            localPorts: streamPorts,
            intervalMs,
            durationMs,
          },
          durationMs + 10_000,
        );
        await new Promise((r) => setTimeout(r, Math.min(400, o.killAfterMs ?? 800)));
        const flowsBefore = await controlJson<FlowView[]>(t.gwlb.controlSocket, "GET", "/flows");
        const mode = lab.run.hashMode;
        const entry = (flows: readonly FlowView[], port: number) =>
          flowOf(flows, mode, { protocol: 17, client, server, clientPort: port });
        const placed = streamPorts.map((port) => ({ port, flow: entry(flowsBefore, port) }));
        const byTarget = new Map<string, number>();
        for (const p of placed)
          if (p.flow) byTarget.set(p.flow.target, (byTarget.get(p.flow.target) ?? 0) + 1);
        const victim =
          [...byTarget].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ??
          t.appliances[0]!.name;
        const survivor = t.appliances.find((a) => a.name !== victim)!.name;
        const movedPorts = placed.filter((p) => p.flow?.target === victim).map((p) => p.port);
        const movedEntries = new Set(
          placed.filter((p) => p.flow?.target === victim).map((p) => p.flow!.cookie),
        ).size;
        o.log(`  stream flows: ${[...byTarget].map(([k, v]) => `${v} on ${k}`).join(", ")}`);
        await new Promise((r) => setTimeout(r, Math.max(0, (o.killAfterMs ?? 800) - 400)));
        const s0 = await controlJson<EmulatorStatus>(t.gwlb.controlSocket, "GET", "/status");
        const t0 = Date.now();
        if (!o.kill(victim)) throw new Error(`${victim} was not running`);
        killed = victim;
        o.log(
          `  killed ${victim}'s tollgate daemon (SIGKILL) at stream time ~${o.killAfterMs ?? 800} ms`,
        );
        const killAtEmu = s0.uptimeMs + (Date.now() - t0);
        const stream = await streamP;
        const s1 = await controlJson<EmulatorStatus>(t.gwlb.controlSocket, "GET", "/status");
        const flowsAfter = await controlJson<FlowView[]>(t.gwlb.controlSocket, "GET", "/flows");
        const ev = s1.events.find(
          (e) =>
            e.t >= s0.uptimeMs &&
            e.text.startsWith(`target ${victim}:`) &&
            e.text.includes("-> unhealthy"),
        );
        if (ev) o.log(`  emulator: ${ev.text}`);
        return judgeFailover(
          {
            killed: victim,
            survivor,
            movedPorts,
            movedEntries,
            detectionMs: ev ? Math.max(0, ev.t - killAtEmu) : undefined,
            flowsMoved: s1.counters.flowsMoved - s0.counters.flowsMoved,
            movedFlowTargets: movedPorts.map((port) => entry(flowsAfter, port)?.target ?? "(gone)"),
            stream,
            failover: lab.run.failover,
          },
          lab.run.health,
        );
      },
    );
    if (killed) {
      const survivor = t.appliances.find((a) => a.name !== killed)!.name;
      await step(
        "after-failover",
        `HTTP again after the failover - ${verdictText(httpX)}`,
        async () => {
          // Under 3-/2-tuple hashing the new connection may belong to an existing flow entry; with
          // no_rebalance an entry pinned to the dead target stays dark until it idles out (as on AWS).
          const before = await controlJson<FlowView[]>(t.gwlb.controlSocket, "GET", "/flows");
          const pinned =
            lab.run.hashMode === "5-tuple"
              ? undefined
              : flowOf(before, lab.run.hashMode, { protocol: 6, client, server });
          const dark = lab.run.failover === "no_rebalance" && pinned?.target === killed;
          const r = await probe<HttpResult>(lab, {
            kind: "http",
            url: `http://${server}/`,
            timeoutMs: dark ? 1500 : 3000,
          });
          if (dark && httpX.verdict === "allow") {
            return r.ok
              ? {
                  status: "fail",
                  detail: `HTTP ${r.status}, but its ${lab.run.hashMode} flow is pinned to dead ${killed}`,
                }
              : {
                  status: "pass",
                  detail: `no answer (${r.error}): the connection belongs to the ${lab.run.hashMode} flow pinned to dead ${killed} (no_rebalance); it stays dark until it idles out`,
                };
          }
          const j = judgeHttp(httpX, r, client);
          if (j.status !== "pass" || !r.localPort) return j;
          const flows = await controlJson<FlowView[]>(t.gwlb.controlSocket, "GET", "/flows");
          const f = flowOf(flows, lab.run.hashMode, {
            protocol: 6,
            client,
            server,
            clientPort: r.localPort,
          });
          if (httpX.verdict === "allow" && f && f.target !== survivor) {
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
              verdict: verdictText(httpX),
            },
          };
        },
      );
    }
  }
  return { steps, passed: steps.every((s) => s.status !== "fail"), ...(killed ? { killed } : {}) };
}
