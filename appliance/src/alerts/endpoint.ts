/**
 * Which GWLB endpoint (vpce id) an alert's traffic came through. Two sources, in this order:
 *
 * 1. The capture interface (`in_iface`): Suricata capturing on an endpoint's `gwi-X`/`gwo-X`
 *    (af-packet) names it, and `X` is the endpoint id in base 60 (naming.ts), so the name alone
 *    gives the id. Pure: the same answer anywhere.
 * 2. The daemon's flow table, by the alert's inner 5-tuple: every flow the data path forwards is
 *    stored under its endpoint's tag (flow/key.ts). This is what names the endpoint in NFQUEUE
 *    (IPS) mode, where `in_iface` is the queue, and for a shared monitor interface. It works while
 *    the flow is in the table (its idle timeout: 350 s TCP, 120 s UDP by default, far longer than
 *    the follower's poll interval).
 *
 * Otherwise the endpoint is unknown. The daemon resolves once, when it follows the EVE log, and
 * writes the answer into its alert log, which `tollgate alerts` reads: the command never resolves
 * on its own, so it cannot disagree with the daemon.
 */
import { hex17, parseBase60 } from "../naming";
import { buildIpPacket } from "../packet/build";
import { flowKey, type FlowKey } from "../flow/key";
import { resolveEndpointKey } from "../rules/parse";
import type { Alert } from "./eve";

/** The GWLB endpoint's name as AWS shows it: `vpce-` and the id in 17 hex digits. */
export function vpceName(idHex17: string): string {
  return `vpce-${idHex17}`;
}

/** The endpoint named by a `gwi-X`/`gwo-X` interface, or undefined. */
export function endpointOfInterface(name: string | undefined): string | undefined {
  const names = name?.startsWith("gw") ? resolveEndpointKey(name) : undefined;
  const id = names ? parseBase60(names.suffix) : undefined;
  return id === undefined ? undefined : vpceName(hex17(id));
}

/** What the flow lookup needs from the data path (datapath.ts). */
export interface FlowTableView {
  readonly flows: { has(key: FlowKey): boolean };
  readonly endpoints: {
    list(): readonly { readonly tag: number; readonly info: { readonly idHex17: string } }[];
  };
}

const PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, ICMP: 1, "IPV6-ICMP": 58 };

/** A minimal packet with the alert's addresses, protocol and ports: flowKey reads only those. */
function tuplePacket(a: Alert): Buffer | undefined {
  const proto = PROTOCOLS[a.proto.toUpperCase()];
  if (proto === undefined) return undefined;
  const segment = Buffer.alloc(20);
  segment.writeUInt16BE(a.srcPort ?? 0, 0);
  segment.writeUInt16BE(a.destPort ?? 0, 2);
  if (proto === 6) segment[12] = 0x50;
  if (proto === 17) segment.writeUInt16BE(segment.length, 4);
  try {
    return buildIpPacket({ src: a.src, dst: a.dest }, proto, segment);
  } catch {
    return undefined;
  }
}

/** The endpoint whose flow table holds the alert's 5-tuple (either direction), or undefined. */
export function endpointOfFlow(table: FlowTableView, a: Alert): string | undefined {
  const packet = tuplePacket(a);
  if (!packet) return undefined;
  for (const ep of table.endpoints.list()) {
    const key = flowKey(packet, 0, packet.length, ep.tag);
    if (key !== undefined && table.flows.has(key)) return vpceName(ep.info.idHex17);
  }
  return undefined;
}

/** Resolves an alert's endpoint: interface first, then the flow table when there is one. */
export function endpointResolver(table?: FlowTableView): (a: Alert) => string | undefined {
  return (a) => endpointOfInterface(a.inIface) ?? (table ? endpointOfFlow(table, a) : undefined);
}
