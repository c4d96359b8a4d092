/**
 * Which GWLB endpoint (vpce id) an alert's traffic came through. Two sources, in this order:
 *
 * 1. The capture interface (`in_iface`): Suricata capturing on an endpoint's `gwi-X`/`gwo-X`
 *    (af-packet) names it, and `X` is the endpoint id in base 60 (naming.ts), so the name alone
 *    gives the id. Pure: the same answer anywhere.
 * 2. The data path's flows, by the alert's inner 5-tuple: every flow it forwards is stored under
 *    its endpoint's tag (flow/key.ts), in the daemon's table or, on the kernel data path, in the
 *    eBPF flow map (datapath/kernel.ts). This is what names the endpoint in NFQUEUE (IPS) mode,
 *    where `in_iface` is the queue, and on the shared monitor link of IDS mode. It works while the
 *    flow is known (its idle timeout: 350 s TCP, 120 s UDP by default, far longer than the
 *    follower's poll interval).
 *
 * Otherwise the endpoint is unknown. The daemon resolves once, when it follows the EVE log, and
 * writes the answer into its alert log, which `tollgate alerts` reads: the command never resolves
 * on its own, so it cannot disagree with the daemon.
 */
import { hex17, parseBase60 } from "../naming";
import { buildIpPacket } from "../packet/build";
import { createPacketScratch, locatePacket, type PacketScratch } from "../packet/parse";
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

/** An endpoint as the flow lookup sees it (datapath/endpoints.ts Endpoint). */
export interface ViewEndpoint {
  readonly tag: number;
  readonly info: { readonly idHex17: string };
}

/**
 * What the flow lookup needs from the data path (datapath.ts): its flow table and, on the kernel
 * data path, the flows the eBPF program stored (datapath/kernel.ts lookupFlow).
 */
export interface FlowTableView<E extends ViewEndpoint = ViewEndpoint> {
  readonly flows: { has(key: FlowKey): boolean };
  readonly endpoints: { list(): readonly E[] };
  readonly kernel?: { lookupFlow(buf: Uint8Array, s: PacketScratch, ep: E): unknown } | undefined;
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

const scratch = createPacketScratch();

/**
 * The endpoint whose flows (the daemon's table, or the kernel path's) hold the alert's 5-tuple,
 * in either direction; undefined when none does.
 */
export function endpointOfFlow<E extends ViewEndpoint>(
  table: FlowTableView<E>,
  a: Alert,
): string | undefined {
  const packet = tuplePacket(a);
  if (!packet || locatePacket(packet, 0, packet.length, scratch) !== undefined) return undefined;
  const has = (ep: E) => {
    const key = flowKey(packet, 0, packet.length, ep.tag);
    return (
      (key !== undefined && table.flows.has(key)) ||
      table.kernel?.lookupFlow(packet, scratch, ep) !== undefined
    );
  };
  const ep = table.endpoints.list().find(has);
  return ep ? vpceName(ep.info.idHex17) : undefined;
}

/** Resolves an alert's endpoint: interface first, then the flow table when there is one. */
export function endpointResolver<E extends ViewEndpoint>(
  table?: FlowTableView<E>,
): (a: Alert) => string | undefined {
  return (a) => endpointOfInterface(a.inIface) ?? (table ? endpointOfFlow(table, a) : undefined);
}
