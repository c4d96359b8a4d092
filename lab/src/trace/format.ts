import type { EmulatorStatus, FlowView } from "../emulator/config";
import type { ServerStats } from "../agent/server";
import { flowOf } from "../demo/flows";
import { summarizeMetrics, type MetricSample } from "./metrics";
import { GENEVE_PORT, protocolName } from "@tollgate/appliance";

/** Counters of one interface (from `ip -s -j link show`). */
export interface InterfaceCounters {
  readonly ns: string;
  readonly ifname: string;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxDropped: number;
  readonly txDropped: number;
}

export interface ApplianceSnapshot {
  readonly name: string;
  readonly address: string;
  /** False when the daemon is not running (killed by the failover step). */
  readonly running: boolean;
  readonly metrics?: readonly MetricSample[];
  readonly metricsError?: string;
}

/** Everything the trace prints, gathered once after the demo. */
export interface TraceSnapshot {
  readonly clientAddress: string;
  readonly serverAddress: string;
  readonly endpointAddress: string;
  readonly edgeAddress: string;
  readonly gwlbAddress: string;
  readonly clientSubnet: string;
  /** IPv6 counterparts (inner IPv6 flows). */
  readonly endpointAddress6?: string;
  readonly edgeAddress6?: string;
  readonly clientSubnet6?: string;
  readonly tun: string;
  readonly endpointTable: number;
  readonly vpce: string;
  readonly gwi: string;
  readonly gwo: string;
  readonly emulator: EmulatorStatus;
  readonly flows: readonly FlowView[];
  readonly appliances: readonly ApplianceSnapshot[];
  readonly interfaces: readonly InterfaceCounters[];
  readonly server: ServerStats;
}

/** A flow of the demo to follow: found in the emulator's flow table by protocol and client port. */
export interface TracedFlow {
  readonly title: string;
  /** 6, 17 or 1. */
  readonly protocol: number;
  readonly clientPort?: number;
  readonly serverPort?: number;
  /** What the rules said and what happened, e.g. "allowed by rules[1]". */
  readonly verdict: string;
  /** Client and server addresses of the flow; default to the snapshot's IPv4 ones. */
  readonly client?: string;
  readonly server?: string;
}

function protoName(n: number): string {
  return protocolName(n) ?? `proto ${n}`;
}

/** The emulator's flow entry of a traced connection (one entry per hash key: see flowOf). */
export function findFlow(s: TraceSnapshot, f: TracedFlow): FlowView | undefined {
  return flowOf(s.flows, s.emulator.hashMode, {
    protocol: f.protocol,
    client: f.client ?? s.clientAddress,
    server: f.server ?? s.serverAddress,
    ...(f.clientPort !== undefined ? { clientPort: f.clientPort } : {}),
  });
}

function pad(label: string): string {
  return label.padEnd(10);
}

/** The per-hop path of one flow, with the counters each element reports. Pure. */
export function formatFollowThePacket(s: TraceSnapshot, f: TracedFlow): string[] {
  const flow = findFlow(s, f);
  const client = f.client ?? s.clientAddress;
  const server = f.server ?? s.serverAddress;
  const v6 = client.includes(":");
  const hp = (a: string, p: number | undefined) => (v6 ? `[${a}]:${p}` : `${a}:${p}`);
  const ports =
    f.clientPort !== undefined
      ? `${hp(client, f.clientPort)} -> ${hp(server, f.serverPort)}`
      : `${client} -> ${server}`;
  const endpoint = v6 ? (s.endpointAddress6 ?? "?") : s.endpointAddress;
  const edge = v6 ? (s.edgeAddress6 ?? "?") : s.edgeAddress;
  const subnet = v6 ? (s.clientSubnet6 ?? "?") : s.clientSubnet;
  const lines = [
    `Follow the packet: ${f.title} (${protoName(f.protocol)} ${ports}) - ${f.verdict}`,
  ];
  if (!flow) {
    lines.push("  (the emulator has no flow for it: the packet never reached the GWLB endpoint)");
    return lines;
  }
  const first = flow.targets[0]!;
  const placement =
    flow.targets.length > 1
      ? `${first}, moved to ${flow.targets.slice(1).join(" then ")} when ${first} failed (rebalance)`
      : first;
  // The step's packets went to the flow's first target; a later rebalance is shown in hop 3.
  const handler = first;
  const app = s.appliances.find((a) => a.name === handler);
  const service =
    f.protocol === 6 && f.serverPort === 80
      ? "http/80"
      : `${protoName(f.protocol)}/${f.serverPort}`;
  const hits = s.server[service];
  const serverText =
    f.protocol === 1
      ? "the kernel answers the echo request"
      : hits
        ? `the server answers (${hits.count} ${service} in total, all from ${hits.peers.join(", ")})`
        : "the server saw nothing";
  const sent = flow.forward.packets + flow.reverse.packets;
  lines.push(
    `  1 ${pad("client")} ${client} -> default route via ${endpoint} (the GWLB endpoint): ${flow.forward.packets} pkt(s)`,
    `  2 ${pad("gwlb")} ip rule iif c0 -> table ${s.endpointTable} -> ${s.tun}: the emulator reads it as the endpoint`,
    `  3 ${pad("emulator")} ${s.emulator.hashMode} hash -> target ${placement}; flow cookie 0x${flow.cookie}`,
    `    ${pad("")} GENEVE ${s.gwlbAddress} -> ${app?.address ?? "?"}:${GENEVE_PORT}, endpoint ${s.vpce}, attachment 0x${s.emulator.attachmentIdHex}: ${sent} datagram(s) sent`,
  );
  if (flow.returned.packets === 0) {
    lines.push(
      `  4 ${pad(handler)} tollgate: decap -> ${s.gwi} -> rules: nothing came back, the packet ended here (dropped)`,
      `  - ${pad("internet")} ${server}: ${serverText}`,
    );
    return lines;
  }
  lines.push(
    `  4 ${pad(handler)} tollgate: decap -> ${s.gwi} -> rules -> ${s.gwo} -> GENEVE back to ${s.gwlbAddress}:${GENEVE_PORT}`,
  );
  lines.push(
    `  5 ${pad("emulator")} cookie 0x${flow.cookie} checked, decap -> ${s.tun} -> kernel routes it on (i0 or c0): ${flow.returned.packets} pkt(s) returned by appliances`,
    `  6 ${pad("internet")} ${server}: ${serverText}`,
    `  7 ${pad("return")} internet routes ${subnet} via ${edge} (edge route) -> i0 -> ${s.tun} -> same flow and cookie -> ${handler} -> c0 -> client: ${flow.reverse.packets} pkt(s)`,
  );
  return lines;
}

/** Counters from every element of the lab. Pure. */
export function formatCounters(s: TraceSnapshot): string[] {
  const c = s.emulator.counters;
  const drops = Object.entries(c.drops)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const lines = [
    "Counters",
    `  emulator  endpoint rx ${c.endpointRx}, GENEVE out ${c.encapsulated}, GENEVE in ${c.geneveRx}, decapsulated ${c.decapsulated}; ` +
      `flows ${s.emulator.flowCount} (created ${c.flowsCreated}, moved ${c.flowsMoved}); drops ${drops || "none"}`,
  ];
  for (const t of s.emulator.targets) {
    lines.push(
      `  target    ${t.name} ${t.address}: ${t.state} (${t.detail}), ${t.checks} checks, sent ${t.sentPackets}, returned ${t.returnedPackets}, flows ${t.flows}`,
    );
  }
  for (const a of s.appliances) {
    if (!a.running) {
      lines.push(`  ${a.name.padEnd(9)} daemon not running (stopped by the failover step)`);
      continue;
    }
    if (!a.metrics) {
      lines.push(`  ${a.name.padEnd(9)} /metrics unavailable: ${a.metricsError ?? "no answer"}`);
      continue;
    }
    const summary = summarizeMetrics(a.metrics);
    lines.push(
      `  ${a.name.padEnd(9)} /metrics: ${summary.length > 0 ? summary.join("; ") : "(no packet metrics)"}`,
    );
  }
  const byNs = new Map<string, InterfaceCounters[]>();
  for (const i of s.interfaces) byNs.set(i.ns, [...(byNs.get(i.ns) ?? []), i]);
  for (const [ns, list] of byNs) {
    const text = list.map((i) => {
      const drops = i.rxDropped + i.txDropped > 0 ? ` (dropped ${i.rxDropped}/${i.txDropped})` : "";
      return `${i.ifname} rx ${i.rxPackets}/tx ${i.txPackets}${drops}`;
    });
    lines.push(`  ${"netns".padEnd(9)} ${ns}: ${text.join(", ")}`);
  }
  const svc = Object.entries(s.server)
    .map(([k, v]) => `${k} ${v.count}`)
    .join(", ");
  lines.push(`  server    ${svc || "nothing received"}`);
  return lines;
}
