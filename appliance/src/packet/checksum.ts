/**
 * Internet checksum (RFC 1071) helpers: ones'-complement sums, IPv4 header checksum, TCP/UDP/ICMPv6
 * pseudo-header checksums and verification. No I/O, no allocation in the sum functions.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./parse";

/** Adds the 16-bit big-endian words of `buf[start, end)` to `sum` (an odd tail is zero-padded). */
export function onesComplementSum(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  // Fold periodically callers do not need to: JS numbers hold 2^53, a 64 KiB packet sums < 2^32.
  return sum;
}

/** Folds a 32-bit+ sum to 16 bits and complements it: the value to put in a checksum field. */
export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** IPv4 header checksum of the header at `offset` (its checksum field is treated as zero). */
export function ipv4HeaderChecksum(buf: Uint8Array, offset = 0): number {
  const ihl = (buf[offset]! & 0x0f) << 2;
  let sum = onesComplementSum(buf, offset, offset + 10);
  sum = onesComplementSum(buf, offset + 12, offset + ihl, sum);
  return foldChecksum(sum);
}

/** Sum of the TCP/UDP pseudo header for IPv4 (src, dst: 4 bytes each at the given offsets). */
export function pseudoHeaderSumIPv4(
  addrs: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  proto: number,
  l4Length: number,
): number {
  let sum = onesComplementSum(addrs, srcOffset, srcOffset + 4);
  sum = onesComplementSum(addrs, dstOffset, dstOffset + 4, sum);
  return sum + proto + l4Length;
}

/** Sum of the IPv6 pseudo header (RFC 8200 section 8.1). */
export function pseudoHeaderSumIPv6(
  addrs: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  nextHeader: number,
  l4Length: number,
): number {
  let sum = onesComplementSum(addrs, srcOffset, srcOffset + 16);
  sum = onesComplementSum(addrs, dstOffset, dstOffset + 16, sum);
  return sum + (l4Length >>> 16) + (l4Length & 0xffff) + nextHeader;
}

/**
 * UDP checksum over IPv4 for the UDP segment `udp[offset, offset + length)` (header + payload,
 * its checksum field treated as zero). A computed 0 is returned as 0xFFFF (RFC 768), since 0
 * means "no checksum".
 */
export function udpChecksumIPv4(
  src: Uint8Array,
  dst: Uint8Array,
  udp: Uint8Array,
  offset = 0,
  length: number = udp.length - offset,
): number {
  let sum = onesComplementSum(src, 0, 4);
  sum = onesComplementSum(dst, 0, 4, sum);
  sum += IPPROTO_UDP + length;
  sum = onesComplementSum(udp, offset, offset + 6, sum);
  sum = onesComplementSum(udp, offset + 8, offset + length, sum);
  const c = foldChecksum(sum);
  return c === 0 ? 0xffff : c;
}

/** Where the L4 checksum field sits in a header, relative to the L4 start; -1 if none. */
export function l4ChecksumFieldOffset(proto: number): number {
  switch (proto) {
    case IPPROTO_TCP:
      return 16;
    case IPPROTO_UDP:
      return 6;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/**
 * Computes the L4 checksum for a segment at `l4Offset..end` of an IP packet whose addresses start
 * at `srcOffset`. ICMP (v4) has no pseudo header.
 */
export function l4Checksum(
  buf: Uint8Array,
  family: 4 | 6,
  srcOffset: number,
  proto: number,
  l4Offset: number,
  end: number,
): number {
  const field = l4ChecksumFieldOffset(proto);
  const len = end - l4Offset;
  let sum = 0;
  if (proto !== IPPROTO_ICMP) {
    sum =
      family === 4
        ? pseudoHeaderSumIPv4(buf, srcOffset, srcOffset + 4, proto, len)
        : pseudoHeaderSumIPv6(buf, srcOffset, srcOffset + 16, proto, len);
  }
  if (field < 0) {
    sum = onesComplementSum(buf, l4Offset, end, sum);
  } else {
    sum = onesComplementSum(buf, l4Offset, l4Offset + field, sum);
    sum = onesComplementSum(buf, l4Offset + field + 2, end, sum);
  }
  const c = foldChecksum(sum);
  return proto === IPPROTO_UDP && c === 0 ? 0xffff : c;
}
