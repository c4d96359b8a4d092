/**
 * The demo's script: the steps in the order they run. Each sends traffic from the client to the
 * server through the GWLB emulator and the appliances, and judges it against the rules file.
 */
import type { HttpResult, PingResult, TcpResult, UdpResult } from "../agent/probes";
import { SERVER_ECHO_PORT, SERVER_HTTP_PORT } from "../orchestrate/processes";
import { blockedPorts, type BlockedPort } from "./expect";
import { afterFailover, failover } from "./failover";
import { judgeHttp, judgePing, judgeTcp, judgeUdp } from "./judge";
import { suricataSteps } from "./suricata";
import { traced, verdictText, type DemoContext, type DemoStep, type StepSource } from "./step";

/** The steps, in order. */
export const SCRIPT: readonly StepSource[] = [
  http,
  http6,
  echo("udp"),
  echo("tcp"),
  ping,
  blocked,
  suricataSteps,
  failover,
  afterFailover,
];

function http(c: DemoContext): DemoStep[] {
  const x = c.expect("tcp", SERVER_HTTP_PORT);
  return [
    {
      id: "http",
      does: `HTTP GET http://${c.server}/ from the client`,
      expect: x,
      async run() {
        const url = `http://${c.server}/`;
        const r = await c.probe<HttpResult>({ kind: "http", url, timeoutMs: 3000 });
        return traced(judgeHttp(x, r, c.client), x, r.localPort, {
          title: "HTTP GET",
          protocol: 6,
          serverPort: SERVER_HTTP_PORT,
        });
      },
    },
  ];
}

/** HTTP over IPv6 between the client and the server: inner IPv6 in GENEVE over IPv4. */
function http6(c: DemoContext): DemoStep[] {
  const { client, server } = c.lab.topology;
  const x = c.expect("tcp", SERVER_HTTP_PORT, {
    family: 6,
    src: client.address6,
    dst: server.address6,
  });
  const url = `http://[${server.address6}]/`;
  return [
    {
      id: "http6",
      does: `HTTP GET ${url} (inner IPv6 in GENEVE over IPv4)`,
      expect: x,
      async run() {
        const r = await c.probe<HttpResult>({ kind: "http", url, timeoutMs: 3000 });
        return traced(judgeHttp(x, r, `[${client.address6}]`), x, r.localPort, {
          title: "HTTP GET over IPv6",
          protocol: 6,
          serverPort: SERVER_HTTP_PORT,
          client: client.address6,
          server: server.address6,
        });
      },
    },
  ];
}

/** Runs a probe and counts what the server saw on `key` ("udp/7") meanwhile. */
async function seenByServer<R>(
  c: DemoContext,
  key: string,
  probe: () => Promise<R>,
): Promise<{ r: R; seen: number }> {
  const before = (await c.serverStats())[key]?.count ?? 0;
  const r = await probe();
  const after = (await c.serverStats())[key]?.count ?? 0;
  return { r, seen: after - before };
}

/** Echo on the server's echo port over UDP or TCP; the server counts what reached it. */
function echo(proto: "udp" | "tcp"): StepSource {
  return (c) => {
    const x = c.expect(proto, SERVER_ECHO_PORT);
    const target = {
      host: c.server,
      port: SERVER_ECHO_PORT,
      payload: `tollgate lab ${proto} echo`,
    };
    const key = `${proto}/${SERVER_ECHO_PORT}`;
    return [
      {
        id: `${proto}-echo`,
        does: `${proto.toUpperCase()} echo ${c.server}:${SERVER_ECHO_PORT}`,
        expect: x,
        async run() {
          if (proto === "tcp") {
            const timeoutMs = c.settings.blockedTimeoutMs;
            const { r, seen } = await seenByServer(c, key, () =>
              c.probe<TcpResult>({ kind: "tcp", ...target, timeoutMs }),
            );
            return judgeTcp(x, r, seen);
          }
          const { r, seen } = await seenByServer(c, key, () =>
            c.probe<UdpResult>({ kind: "udp", ...target, timeoutMs: 1500 }),
          );
          return traced(judgeUdp(x, r, seen), x, r.localPort, {
            title: "UDP echo",
            protocol: 17,
            serverPort: SERVER_ECHO_PORT,
          });
        },
      },
    ];
  };
}

function ping(c: DemoContext): DemoStep[] {
  const x = c.expect("icmp", undefined, { icmpType: 8 });
  return [
    {
      id: "ping",
      does: `ping ${c.server}`,
      expect: x,
      async run() {
        const r = await c.probe<PingResult>({ kind: "ping", host: c.server, count: 3 });
        const j = judgePing(x, r);
        return r.available
          ? { ...j, trace: { title: "ping", protocol: 1, verdict: verdictText(x) } }
          : j;
      },
    },
  ];
}

/**
 * Ports the rules file blocks, probed in parallel (each waits out its timeout), then one step per
 * port judging what its probe saw.
 */
async function blocked(c: DemoContext): Promise<DemoStep[]> {
  const ports = blockedPorts(c.rules, c.client, c.server);
  if (ports.length === 0) {
    return [
      {
        id: "blocked",
        does: "blocked port from the rules file",
        skip: "the rules file has no drop/reject rule with a TCP/UDP port that applies to client -> server traffic",
      },
    ];
  }
  const timeoutMs = c.settings.blockedTimeoutMs;
  const before = await c.serverStats();
  c.log(
    `  probing ${ports.map((b) => `${b.proto}/${b.port}`).join(", ")} in parallel ` +
      `(${timeoutMs} ms each)`,
  );
  const results = await Promise.all(ports.map((b) => probeBlocked(c, b, timeoutMs)));
  const after = await c.serverStats();
  return results.map(({ b, judge, r }): DemoStep => {
    const key = `${b.proto}/${b.port}`;
    const seen = (after[key]?.count ?? 0) - (before[key]?.count ?? 0);
    return {
      id: `blocked-${b.proto}-${b.port}`,
      does: `blocked port ${b.proto}/${b.port}`,
      expect: b.expectation,
      run: async () => ({
        ...traced(judge(seen), b.expectation, r.localPort, {
          title: `blocked port ${b.proto}/${b.port}`,
          protocol: b.proto === "tcp" ? 6 : 17,
          serverPort: b.port,
        }),
        ms: r.ms,
      }),
    };
  });
}

/** One blocked-port probe, and how to judge it once the server's count is known. */
async function probeBlocked(c: DemoContext, b: BlockedPort, timeoutMs: number) {
  const target = { host: c.server, port: b.port, timeoutMs };
  if (b.proto === "tcp") {
    const r = await c.probe<TcpResult>({ kind: "tcp", ...target });
    return { b, r, judge: (seen: number) => judgeTcp(b.expectation, r, seen) };
  }
  const r = await c.probe<UdpResult>({ kind: "udp", ...target, payload: "blocked?" });
  return { b, r, judge: (seen: number) => judgeUdp(b.expectation, r, seen) };
}
