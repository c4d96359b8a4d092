/**
 * Packet builders: IPv4/IPv6 with UDP, TCP, ICMP/ICMPv6, all checksums valid. Used by tests, the
 * GWLB emulator and the lab. Builders throw on impossible input (bad address, oversize payload):
 * they are for constructing test traffic, not for parsing untrusted bytes.
 */
import * as ipaddr from "ipaddr.js";
import { foldChecksum, ipv4HeaderChecksum, l4Checksum, onesComplementSum } from "./checksum";
import {
  IPPROTO_FRAGMENT,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  locatePacket,
  createPacketScratch,
} from "./parse";

/** IP layer of a packet to build. The family follows the addresses (both must agree). */
export interface IpSpec {
  readonly src: string;
  readonly dst: string;
  /** TTL / hop limit. Defaults to 64. */
  readonly ttl?: number;
  /** IPv4 identification. Defaults to 0. */
  readonly id?: number;
  /** IPv4 DF bit. Defaults to true. */
  readonly dontFragment?: boolean;
  /** IPv4 options (multiple of 4 bytes, at most 40), raising IHL above 5. Defaults to none. */
  readonly ipv4Options?: Uint8Array;
  /** DSCP/ECN byte (IPv4 TOS / IPv6 traffic class). Defaults to 0. */
  readonly tos?: number;
  /** IPv6 flow label. Defaults to 0. */
  readonly flowLabel?: number;
  /**
   * IPv6 extension headers placed before the upper-layer header, in order: `type` is the header's
   * own protocol number (0 hop-by-hop, 43 routing, 44 fragment, 60 destination options, 51 AH);
   * `body` its bytes after next-header/length (zero-filled to a valid size when omitted).
   */
  readonly extensionHeaders?: readonly { readonly type: number; readonly body?: Uint8Array }[];
}

export function addressBytes(addr: string): { family: 4 | 6; bytes: Uint8Array } {
  if (!ipaddr.isValid(addr)) throw new RangeError(`not an IP address: ${addr}`);
  const a = ipaddr.parse(addr);
  return { family: a.kind() === "ipv4" ? 4 : 6, bytes: Uint8Array.from(a.toByteArray()) };
}

function extensionHeaderBytes(type: number, next: number, body?: Uint8Array): Buffer {
  let b: Buffer;
  if (type === IPPROTO_FRAGMENT) {
    b = Buffer.alloc(8);
    if (body) Buffer.from(body).copy(b, 2, 0, 6);
  } else if (type === 51) {
    // AH: length in 4-byte units minus 2; minimum 12 bytes (SPI, sequence) + ICV.
    const len = Math.max(12, Math.ceil((2 + (body?.length ?? 10)) / 4) * 4);
    b = Buffer.alloc(len);
    if (body) Buffer.from(body).copy(b, 2);
    b[1] = len / 4 - 2;
  } else {
    const len = Math.max(8, Math.ceil((2 + (body?.length ?? 6)) / 8) * 8);
    b = Buffer.alloc(len);
    if (body) Buffer.from(body).copy(b, 2);
    b[1] = len / 8 - 1;
  }
  b[0] = next;
  return b;
}

/**
 * Builds an IP packet around an upper-layer segment and fills the segment's checksum (TCP, UDP,
 * ICMP, ICMPv6) in place in the result. Other protocols are carried as given.
 */
export function buildIpPacket(ip: IpSpec, proto: number, segment: Uint8Array): Buffer {
  const s = addressBytes(ip.src);
  const d = addressBytes(ip.dst);
  if (s.family !== d.family) throw new RangeError(`address families differ: ${ip.src} ${ip.dst}`);
  let packet: Buffer;
  if (s.family === 4) {
    const opts = ip.ipv4Options ?? new Uint8Array(0);
    if (opts.length % 4 !== 0 || opts.length > 40) throw new RangeError("bad IPv4 options length");
    const ihl = 20 + opts.length;
    const total = ihl + segment.length;
    if (total > 0xffff) throw new RangeError(`IPv4 packet too long: ${total}`);
    packet = Buffer.alloc(total);
    packet[0] = 0x40 | (ihl >> 2);
    packet[1] = (ip.tos ?? 0) & 0xff;
    packet.writeUInt16BE(total, 2);
    packet.writeUInt16BE((ip.id ?? 0) & 0xffff, 4);
    packet.writeUInt16BE(ip.dontFragment === false ? 0 : 0x4000, 6);
    packet[8] = ip.ttl ?? 64;
    packet[9] = proto;
    packet.set(s.bytes, 12);
    packet.set(d.bytes, 16);
    packet.set(opts, 20);
    packet.writeUInt16BE(ipv4HeaderChecksum(packet, 0), 10);
    packet.set(segment, ihl);
  } else {
    const ext = ip.extensionHeaders ?? [];
    const parts: Buffer[] = [];
    for (let i = 0; i < ext.length; i++) {
      const next = i + 1 < ext.length ? ext[i + 1]!.type : proto;
      parts.push(extensionHeaderBytes(ext[i]!.type, next, ext[i]!.body));
    }
    const extBytes = Buffer.concat(parts);
    const payload = extBytes.length + segment.length;
    if (payload > 0xffff) throw new RangeError(`IPv6 payload too long: ${payload}`);
    packet = Buffer.alloc(40 + payload);
    const tc = (ip.tos ?? 0) & 0xff;
    packet.writeUInt32BE(((6 << 28) | (tc << 20) | ((ip.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
    packet.writeUInt16BE(payload, 4);
    packet[6] = ext.length > 0 ? ext[0]!.type : proto;
    packet[7] = ip.ttl ?? 64;
    packet.set(s.bytes, 8);
    packet.set(d.bytes, 24);
    extBytes.copy(packet, 40);
    packet.set(segment, 40 + extBytes.length);
  }
  fillL4Checksum(packet);
  return packet;
}

const scratch = createPacketScratch();

/**
 * Recomputes the TCP/UDP/ICMP/ICMPv6 checksum of an IP packet in place. Returns false when the
 * packet cannot be parsed, is a later fragment or has no checksummed upper layer.
 */
export function fillL4Checksum(
  packet: Uint8Array,
  offset = 0,
  length = packet.length - offset,
): boolean {
  if (locatePacket(packet, offset, length, scratch) !== undefined) return false;
  if (scratch.l4Offset < 0 || scratch.fragment) return false;
  const s = scratch;
  const field =
    s.proto === IPPROTO_TCP
      ? 16
      : s.proto === IPPROTO_UDP
        ? 6
        : s.proto === IPPROTO_ICMP || s.proto === IPPROTO_ICMPV6
          ? 2
          : -1;
  if (field < 0 || s.l4Offset + field + 2 > s.end) return false;
  const c = l4Checksum(packet, s.family, s.srcOffset, s.proto, s.l4Offset, s.end);
  packet[s.l4Offset + field] = c >> 8;
  packet[s.l4Offset + field + 1] = c & 0xff;
  return true;
}

/**
 * Checks the IPv4 header checksum (IPv4) and the TCP/UDP/ICMP checksum of an IP packet. A UDP
 * checksum of 0 ("none") counts as invalid: GWLB replies must carry a real one.
 */
export function verifyChecksums(
  packet: Uint8Array,
  offset = 0,
  length = packet.length - offset,
): boolean {
  if (locatePacket(packet, offset, length, scratch) !== undefined) return false;
  const s = scratch;
  if (
    s.family === 4 &&
    foldChecksum(onesComplementSum(packet, offset, offset + ((packet[offset]! & 15) << 2))) !== 0
  ) {
    return false;
  }
  if (s.l4Offset < 0 || s.fragment) return true;
  const field =
    s.proto === IPPROTO_TCP
      ? 16
      : s.proto === IPPROTO_UDP
        ? 6
        : s.proto === IPPROTO_ICMP || s.proto === IPPROTO_ICMPV6
          ? 2
          : -1;
  if (field < 0) return true;
  if (s.l4Offset + field + 2 > s.end) return false;
  const stored = (packet[s.l4Offset + field]! << 8) | packet[s.l4Offset + field + 1]!;
  if (s.proto === IPPROTO_UDP && stored === 0) return false;
  return stored === l4Checksum(packet, s.family, s.srcOffset, s.proto, s.l4Offset, s.end);
}

export interface UdpSpec extends IpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload?: Uint8Array;
}

export function buildUdpPacket(spec: UdpSpec): Buffer {
  const payload = spec.payload ?? new Uint8Array(0);
  const seg = Buffer.alloc(8 + payload.length);
  seg.writeUInt16BE(spec.srcPort, 0);
  seg.writeUInt16BE(spec.dstPort, 2);
  seg.writeUInt16BE(seg.length & 0xffff, 4);
  seg.set(payload, 8);
  return buildIpPacket(spec, IPPROTO_UDP, seg);
}

/** TCP flag bits. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpSpec extends IpSpec {
  readonly srcPort: number;
  readonly dstPort: number;
  /** Defaults to 1. */
  readonly seq?: number;
  /** Defaults to 0 (1 when the ACK flag is set). */
  readonly ack?: number;
  /** Defaults to ACK|PSH. */
  readonly flags?: number;
  /** Defaults to 65535. */
  readonly window?: number;
  readonly payload?: Uint8Array;
}

export function buildTcpPacket(spec: TcpSpec): Buffer {
  const payload = spec.payload ?? new Uint8Array(0);
  const flags = spec.flags ?? TCP_ACK | TCP_PSH;
  const seg = Buffer.alloc(20 + payload.length);
  seg.writeUInt16BE(spec.srcPort, 0);
  seg.writeUInt16BE(spec.dstPort, 2);
  seg.writeUInt32BE((spec.seq ?? 1) >>> 0, 4);
  seg.writeUInt32BE((spec.ack ?? (flags & TCP_ACK ? 1 : 0)) >>> 0, 8);
  seg[12] = 0x50;
  seg[13] = flags;
  seg.writeUInt16BE(spec.window ?? 65535, 14);
  seg.set(payload, 20);
  return buildIpPacket(spec, IPPROTO_TCP, seg);
}

export interface IcmpEchoSpec extends IpSpec {
  /** Defaults to 1. */
  readonly identifier?: number;
  /** Defaults to 1. */
  readonly sequence?: number;
  /** Echo reply instead of request. Defaults to false. */
  readonly reply?: boolean;
  readonly payload?: Uint8Array;
}

/** ICMP echo request/reply (ICMPv6 128/129 for IPv6 addresses). */
export function buildIcmpEchoPacket(spec: IcmpEchoSpec): Buffer {
  const v6 = addressBytes(spec.src).family === 6;
  const payload = spec.payload ?? new Uint8Array(0);
  const seg = Buffer.alloc(8 + payload.length);
  seg[0] = v6 ? (spec.reply ? 129 : 128) : spec.reply ? 0 : 8;
  seg.writeUInt16BE((spec.identifier ?? 1) & 0xffff, 4);
  seg.writeUInt16BE((spec.sequence ?? 1) & 0xffff, 6);
  seg.set(payload, 8);
  return buildIpPacket(spec, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, seg);
}

/**
 * Decrements the IPv4 TTL (fixing the header checksum) or IPv6 hop limit of a copy of `packet`,
 * i.e. what a kernel-forwarding appliance returns.
 */
export function decrementTtl(packet: Uint8Array): Buffer {
  const out = Buffer.from(packet);
  if (out[0]! >> 4 === 4) {
    out[8] = (out[8]! - 1) & 0xff;
    out.writeUInt16BE(ipv4HeaderChecksum(out, 0), 10);
  } else {
    out[7] = (out[7]! - 1) & 0xff;
  }
  return out;
}
