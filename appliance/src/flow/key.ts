/**
 * Direction-independent flow keys: A->B and B->A give the same key, so the return path finds the
 * flow the forward path stored. TCP and UDP are keyed by protocol, addresses and ports; every
 * other protocol (ICMP, ICMPv6, ESP, GRE, ...) and non-first fragments by protocol and addresses.
 *
 * A key is a short string of 16-bit code units (8 for IPv4, 20 for IPv6), built straight from the
 * packet bytes: one small string per packet, no intermediate objects. Keys are opaque: compare
 * them, use them as Map keys, never parse them.
 */
import { locatePacket, createPacketScratch, type PacketScratch } from "../packet/parse";

const scratch = createPacketScratch();

/** Compares (address, port) endpoints a and b: negative when a sorts first. */
function compareEndpoints(
  buf: Uint8Array,
  a: number,
  b: number,
  alen: number,
  pa: number,
  pb: number,
): number {
  for (let i = 0; i < alen; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d;
  }
  return pa - pb;
}

function w(buf: Uint8Array, p: number): number {
  return (buf[p]! << 8) | buf[p + 1]!;
}

/**
 * Key of an already located packet (see {@link locatePacket}). `tag` (0..65535) namespaces keys,
 * e.g. an endpoint index when one cache serves several endpoints.
 */
export function flowKeyFromScratch(buf: Uint8Array, s: PacketScratch, tag = 0): string {
  const alen = s.family === 4 ? 4 : 16;
  const src = s.srcOffset;
  const dst = src + alen;
  const ps = s.hasPorts ? s.srcPort : 0;
  const pd = s.hasPorts ? s.dstPort : 0;
  const swap = compareEndpoints(buf, src, dst, alen, ps, pd) > 0;
  const a = swap ? dst : src;
  const b = swap ? src : dst;
  const pa = swap ? pd : ps;
  const pb = swap ? ps : pd;
  const head = (s.family << 8) | s.proto;
  const t = tag & 0xffff;
  if (s.family === 4) {
    return String.fromCharCode(t, head, w(buf, a), w(buf, a + 2), w(buf, b), w(buf, b + 2), pa, pb);
  }
  return String.fromCharCode(
    t,
    head,
    w(buf, a),
    w(buf, a + 2),
    w(buf, a + 4),
    w(buf, a + 6),
    w(buf, a + 8),
    w(buf, a + 10),
    w(buf, a + 12),
    w(buf, a + 14),
    w(buf, b),
    w(buf, b + 2),
    w(buf, b + 4),
    w(buf, b + 6),
    w(buf, b + 8),
    w(buf, b + 10),
    w(buf, b + 12),
    w(buf, b + 14),
    pa,
    pb,
  );
}

/**
 * The flow key of the IP packet in `buf[offset, offset + length)`, or undefined when the packet
 * cannot be parsed. Never throws.
 */
export function flowKey(
  buf: Uint8Array,
  offset = 0,
  length: number = buf.length - offset,
  tag = 0,
): string | undefined {
  if (locatePacket(buf, offset, length, scratch) !== undefined) return undefined;
  return flowKeyFromScratch(buf, scratch, tag);
}

/**
 * Key of the fragmented datagram a packet belongs to: tag, protocol, source, destination (in
 * that order: fragments of one datagram travel one way) and the fragment identification.
 * Undefined for an unfragmented packet.
 *
 * A non-first fragment has no ports, so its 5-tuple flow cannot be found from it alone. The
 * return path resolves it like the kernel's reassembly does: when the first fragment (ports
 * present) matches a flow, remember that flow under this key for a few seconds; later fragments
 * look it up by this key.
 */
export function fragmentKeyFromScratch(
  buf: Uint8Array,
  s: PacketScratch,
  tag = 0,
): string | undefined {
  if (!s.fragment) return undefined;
  const a = s.srcOffset;
  const id = s.fragmentId;
  const head = (s.family << 8) | s.proto;
  const t = tag & 0xffff;
  if (s.family === 4) {
    return String.fromCharCode(
      t,
      head,
      w(buf, a),
      w(buf, a + 2),
      w(buf, a + 4),
      w(buf, a + 6),
      id >>> 16,
      id & 0xffff,
    );
  }
  let k = String.fromCharCode(t, head);
  for (let i = 0; i < 32; i += 2) k += String.fromCharCode(w(buf, a + i));
  return k + String.fromCharCode(id >>> 16, id & 0xffff);
}

/** Protocol number encoded in a key (for choosing the idle timeout of a new cache entry). */
export function flowKeyProtocol(key: string): number {
  return key.charCodeAt(1) & 0xff;
}

/** Human-readable rendering of a key, for logs and debugging. */
export function describeFlowKey(key: string): string {
  const head = key.charCodeAt(1);
  const family = head >> 8;
  const proto = head & 0xff;
  const words = Array.from(key, (c) => c.charCodeAt(0));
  const fmt = (from: number, n: number): string =>
    family === 4
      ? [
          words[from]! >> 8,
          words[from]! & 0xff,
          words[from + 1]! >> 8,
          words[from + 1]! & 0xff,
        ].join(".")
      : words
          .slice(from, from + n)
          .map((x) => x.toString(16))
          .join(":");
  const n = family === 4 ? 2 : 8;
  const a = fmt(2, n);
  const b = fmt(2 + n, n);
  const pa = words[2 + 2 * n];
  const pb = words[3 + 2 * n];
  return `proto ${proto} ${a}:${pa} <-> ${b}:${pb} tag ${words[0]}`;
}
