/**
 * Packet builders the appliance itself needs (the health canary builds a UDP probe): IPv4/IPv6 with
 * UDP, all checksums valid. TCP/ICMP builders and checksum verification for tests and the GWLB
 * emulator live in @tollgate/testbed. Builders throw on impossible input (bad address, oversize
 * payload): they construct traffic, they do not parse untrusted bytes.
 */
import * as ipaddr from "ipaddr.js";
import { ipv4HeaderChecksum, l4Checksum, l4ChecksumFieldOffset } from "./checksum";
import { IPPROTO_FRAGMENT, IPPROTO_UDP, locatePacket, createPacketScratch } from "./parse";

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
  const field = l4ChecksumFieldOffset(s.proto);
  if (field < 0 || s.l4Offset + field + 2 > s.end) return false;
  const c = l4Checksum(packet, s.family, s.srcOffset, s.proto, s.l4Offset, s.end);
  packet[s.l4Offset + field] = c >> 8;
  packet[s.l4Offset + field + 1] = c & 0xff;
  return true;
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
