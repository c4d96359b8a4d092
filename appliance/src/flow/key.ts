/**
 * Direction-independent flow keys: A->B and B->A give the same key, so the return path finds the
 * flow the forward path stored. TCP and UDP are keyed by protocol, addresses and ports; every
 * other protocol (ICMP, ICMPv6, ESP, GRE, ...) and non-first fragments by protocol and addresses.
 * The endpoint's tag is part of the key: one table serves every endpoint.
 *
 * A key is {@link FLOW_KEY_WORDS} unsigned 32-bit words, written straight from the packet bytes
 * into a caller's array (no allocation per packet), unused words zero, so that every key compares
 * and hashes as the same fixed-size record (see FlowTable):
 *
 * | word | IPv4                                   | IPv6                              |
 * | ---- | -------------------------------------- | --------------------------------- |
 * | 0    | tag << 16 \| family << 8 \| protocol    | same                              |
 * | 1    | lower endpoint's address               | 1-4: lower endpoint's address     |
 * | 2    | higher endpoint's address              | 5-8: higher endpoint's address    |
 * | 3    | lower port << 16 \| higher port         | 9: lower port << 16 \| higher port |
 *
 * "Lower" is the (address bytes, port) pair that sorts first; ports are 0 without TCP/UDP. The
 * kernel path's flow map (appliance/bpf) keys flows the same way: endpoint, then this tuple.
 */
import { locatePacket, createPacketScratch, type PacketScratch } from "../packet/parse";

/** Words in a flow key: the head word, two IPv6 addresses, the ports. */
export const FLOW_KEY_WORDS = 10;

/** A flow key (or a fragment key): FLOW_KEY_WORDS words. Compare with {@link sameFlowKey}. */
export type FlowKey = Uint32Array;

/** A zeroed key to write into. */
export function createFlowKey(): FlowKey {
  return new Uint32Array(FLOW_KEY_WORDS);
}

const scratch = createPacketScratch();

/** Compares (address, port) endpoints a and b: negative when a sorts first. */
export function compareEndpoints(
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

/** Big-endian 32-bit word at buf[p]. */
function word(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

/** Writes an address (1 or 4 words) at out[w]; returns the next word index. */
function putAddress(buf: Uint8Array, p: number, family: 4 | 6, out: FlowKey, w: number): number {
  out[w] = word(buf, p);
  if (family === 4) return w + 1;
  out[w + 1] = word(buf, p + 4);
  out[w + 2] = word(buf, p + 8);
  out[w + 3] = word(buf, p + 12);
  return w + 4;
}

/**
 * Writes the key of an already located packet (see {@link locatePacket}) into `out`. `tag`
 * (0..65535) namespaces keys: the endpoint's tag.
 */
export function writeFlowKey(buf: Uint8Array, s: PacketScratch, tag: number, out: FlowKey): void {
  const alen = s.family === 4 ? 4 : 16;
  const src = s.srcOffset;
  const dst = src + alen;
  const ps = s.hasPorts ? s.srcPort : 0;
  const pd = s.hasPorts ? s.dstPort : 0;
  const swap = compareEndpoints(buf, src, dst, alen, ps, pd) > 0;
  out.fill(0);
  out[0] = ((tag & 0xffff) << 16) | (s.family << 8) | s.proto;
  let w = putAddress(buf, swap ? dst : src, s.family, out, 1);
  w = putAddress(buf, swap ? src : dst, s.family, out, w);
  out[w] = (((swap ? pd : ps) << 16) | (swap ? ps : pd)) >>> 0;
}

/**
 * The flow key of the IP packet in `buf[offset, offset + length)` (a new array), or undefined
 * when the packet cannot be parsed. Never throws. For tests and tools: the data path writes keys
 * into scratch arrays with {@link writeFlowKey}.
 */
export function flowKey(
  buf: Uint8Array,
  offset = 0,
  length: number = buf.length - offset,
  tag = 0,
): FlowKey | undefined {
  if (locatePacket(buf, offset, length, scratch) !== undefined) return undefined;
  const out = createFlowKey();
  writeFlowKey(buf, scratch, tag, out);
  return out;
}

/**
 * Writes the key of the fragmented datagram a packet belongs to: the head word as in a flow key,
 * then source, destination (in that order: fragments of one datagram travel one way) and the
 * fragment identification. Returns false (out untouched) for an unfragmented packet.
 *
 * A non-first fragment has no ports, so its 5-tuple flow cannot be found from it alone. The
 * return path resolves it like the kernel's reassembly does: when the first fragment (ports
 * present) matches a flow, remember that flow under this key for a few seconds; later fragments
 * look it up by this key.
 */
export function writeFragmentKey(
  buf: Uint8Array,
  s: PacketScratch,
  tag: number,
  out: FlowKey,
): boolean {
  if (!s.fragment) return false;
  out.fill(0);
  out[0] = ((tag & 0xffff) << 16) | (s.family << 8) | s.proto;
  let w = putAddress(buf, s.srcOffset, s.family, out, 1);
  w = putAddress(buf, s.srcOffset + (s.family === 4 ? 4 : 16), s.family, out, w);
  out[w] = s.fragmentId >>> 0;
  return true;
}

/** Whether keys a (at word offset ao) and b (at bo) are equal. */
export function sameFlowKey(a: Uint32Array, b: Uint32Array, ao = 0, bo = 0): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Protocol number encoded in a key (for choosing the idle timeout of a new table entry). */
export function flowKeyProtocol(key: FlowKey): number {
  return key[0]! & 0xff;
}

/** Human-readable rendering of a key, for logs and debugging. */
export function describeFlowKey(key: FlowKey): string {
  const head = key[0]!;
  const family = (head >> 8) & 0xff;
  const fmt = (from: number): string => {
    if (family === 4) {
      const a = key[from]!;
      return [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff].join(".");
    }
    const parts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = key[from + i]!;
      parts.push((a >>> 16).toString(16), (a & 0xffff).toString(16));
    }
    return parts.join(":");
  };
  const n = family === 4 ? 1 : 4;
  const ports = key[1 + 2 * n]!;
  return `proto ${head & 0xff} ${fmt(1)}:${ports >>> 16} <-> ${fmt(1 + n)}:${ports & 0xffff} tag ${head >>> 16}`;
}
