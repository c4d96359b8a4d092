/**
 * Test-traffic packet builders on top of the appliance's IP/UDP builder: TCP, ICMP echo, checksum
 * verification and TTL decrement, all checksums valid. Used by tests and the GWLB emulator;
 * never shipped to instances. Builders throw on impossible input (bad address, oversize
 * payload): they are for constructing test traffic, not for parsing untrusted bytes.
 */
import {
  addressBytes,
  buildIpPacket,
  createPacketScratch,
  foldChecksum,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ipv4HeaderChecksum,
  l4ChecksumFieldOffset,
  l4Checksum,
  locatePacket,
  onesComplementSum,
  type IpSpec,
} from "@tollgate/appliance";

const scratch = createPacketScratch();

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
  const field = l4ChecksumFieldOffset(s.proto);
  if (field < 0) return true;
  if (s.l4Offset + field + 2 > s.end) return false;
  const stored = (packet[s.l4Offset + field]! << 8) | packet[s.l4Offset + field + 1]!;
  if (s.proto === IPPROTO_UDP && stored === 0) return false;
  return stored === l4Checksum(packet, s.family, s.srcOffset, s.proto, s.l4Offset, s.end);
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
