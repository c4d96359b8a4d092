/**
 * Test traffic like `../shared/tools/gwlb-emu` generates it: endpoint ids, attachment ids and flow
 * cookies per flow, and inner IPv4/IPv6 UDP/TCP/ICMP packets with valid checksums.
 */
import { buildUdpPacket, fillL4Checksum } from "@tollgate/appliance";
import { buildIcmpEchoPacket, buildTcpPacket } from "../packet";

/** GENEVE-side identity of a flow: what GWLB puts in the three AWS options. */
export interface PeerFlow {
  readonly endpointId: bigint;
  readonly attachmentId: bigint;
  readonly flowCookie: number;
  /** VNI. Defaults to 0 (what GWLB sends). */
  readonly vni?: number;
}

export interface EmulatedFlow extends PeerFlow {
  /** Flow index (0-based). */
  readonly index: number;
  /** Endpoint index (flow i uses endpoint i % endpoints). */
  readonly endpoint: number;
  /** Inner packet template (sequence number 0). */
  readonly inner: Buffer;
  readonly family: 4 | 6;
  readonly proto: "udp" | "tcp" | "icmp";
}

/** gwlb-emu's endpoint id for endpoint e. */
export function gwlbEmuEndpointId(e: number): bigint {
  return 0x2b8ee1d4db0c5100n + BigInt(e);
}

/** gwlb-emu's attachment id for endpoint e. */
export function gwlbEmuAttachmentId(e: number): bigint {
  return 0x0a77ac4e00000000n + BigInt(e) * 0x10001n;
}

/** gwlb-emu's 32-bit mixer. */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** gwlb-emu's flow cookie for flow i (never 0). */
export function gwlbEmuFlowCookie(i: number): number {
  return (mix32((0x9e3779b9 ^ i) >>> 0) | 1) >>> 0;
}

/** Magic at the start of every generated inner payload ("TGEM"). */
export const PAYLOAD_MAGIC = 0x5447454d;

export interface GenerateFlowsOptions {
  /** Defaults to 1. */
  readonly flows?: number;
  /** Distinct endpoint ids; flow i uses endpoint i % endpoints. Defaults to 1. */
  readonly endpoints?: number;
  /** Defaults to "udp". */
  readonly proto?: "udp" | "tcp" | "icmp";
  /** Defaults to 4. */
  readonly family?: 4 | 6;
  /** Inner packet size in bytes, IP header included. Defaults to 512. */
  readonly size?: number;
  /** Endpoint ids to use instead of gwlb-emu's (index e for endpoint e). */
  readonly endpointIds?: readonly bigint[];
}

function fill(payload: Buffer, from: number): void {
  for (let k = from; k < payload.length; k++) payload[k] = (k * 7 + 1) & 0xff;
}

/**
 * A copy of a flow's inner packet with `seq` stamped into its payload (bytes 8..15 after the
 * magic and flow index) and the L4 checksum fixed, so every packet sent is distinct.
 */
export function stampSequence(flow: EmulatedFlow, seq: number): Buffer {
  const p = Buffer.from(flow.inner);
  const ipLen = flow.family === 4 ? 20 : 40;
  const l4Len = flow.proto === "tcp" ? 20 : 8;
  p.writeBigUInt64BE(BigInt(seq), ipLen + l4Len + 8);
  fillL4Checksum(p);
  return p;
}

function innerPacket(
  family: 4 | 6,
  proto: "udp" | "tcp" | "icmp",
  i: number,
  addr: number,
  size: number,
): Buffer {
  const ipLen = family === 4 ? 20 : 40;
  const l4Len = proto === "tcp" ? 20 : 8;
  const payload = Buffer.alloc(Math.max(16, size - ipLen - l4Len));
  payload.writeUInt32BE(PAYLOAD_MAGIC, 0);
  payload.writeUInt32BE(i >>> 0, 4);
  fill(payload, 16);
  const src =
    family === 4
      ? `10.${100 + ((addr >>> 16) & 0xff)}.${(addr >>> 8) & 0xff}.${(addr & 0xff) + 1}`
      : `fd00:100::${((addr + 1) >>> 16).toString(16)}:${((addr + 1) & 0xffff).toString(16)}`;
  const dst = family === 4 ? "10.200.0.1" : "fd00:200::1";
  const ip = { src, dst, ttl: 64, id: i & 0xffff };
  if (proto === "udp") {
    return buildUdpPacket({ ...ip, srcPort: 1024 + (i % 60000), dstPort: 5001, payload });
  }
  if (proto === "tcp") {
    return buildTcpPacket({
      ...ip,
      srcPort: 1024 + (i % 60000),
      dstPort: 80,
      seq: mix32(i),
      payload,
    });
  }
  return buildIcmpEchoPacket({ ...ip, identifier: i & 0xffff, sequence: 1, payload });
}

/**
 * Flows as gwlb-emu builds them: inner IPv4 10.100.0.1+i -> 10.200.0.1 (IPv6 fd00:100::1+i ->
 * fd00:200::1), UDP sport 1024+i -> 5001, TCP -> 80, ICMP echo; endpoint/attachment ids and
 * cookies as gwlb-emu computes them. Flow indexes above 254 use further /24s for IPv4.
 */
export function generateFlows(options: GenerateFlowsOptions = {}): EmulatedFlow[] {
  const n = options.flows ?? 1;
  const endpoints = options.endpoints ?? options.endpointIds?.length ?? 1;
  const family = options.family ?? 4;
  const proto = options.proto ?? "udp";
  const size = options.size ?? 512;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`flows must be >= 1, got ${n}`);
  if (!Number.isInteger(endpoints) || endpoints < 1 || endpoints > n) {
    throw new RangeError(`need 1 <= endpoints <= flows, got ${endpoints}`);
  }
  const out: EmulatedFlow[] = [];
  for (let i = 0; i < n; i++) {
    const e = i % endpoints;
    // Spread IPv4 sources so each flow has its own address, 254 per /24.
    const v4index = Math.floor(i / 254) * 256 + (i % 254);
    out.push({
      index: i,
      endpoint: e,
      endpointId: options.endpointIds?.[e] ?? gwlbEmuEndpointId(e),
      attachmentId: gwlbEmuAttachmentId(e),
      flowCookie: gwlbEmuFlowCookie(i),
      family,
      proto,
      inner: innerPacket(family, proto, i, family === 4 ? v4index : i, size),
    });
  }
  return out;
}
