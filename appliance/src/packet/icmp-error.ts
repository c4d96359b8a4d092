/**
 * ICMP / ICMPv6 error messages: which ones quote the packet that caused them, and where that
 * quoted packet starts. Pure, no I/O, never throws.
 *
 * An error (RFC 792 / RFC 1812: destination unreachable incl. port unreachable and
 * fragmentation needed, time exceeded, parameter problem; RFC 4443: destination unreachable,
 * packet too big, time exceeded, parameter problem) carries, after its 8-byte ICMP header, the
 * start of the offending packet as it travelled in the original direction: its flow key is the
 * flow the error belongs to.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, type PacketScratch } from "./parse";

/** ICMPv4 error types that quote the offending datagram. */
export const ICMP_ERROR_TYPES: readonly number[] = [3, 11, 12];
/** ICMPv6 error types (all below 128) that quote the offending packet. */
export const ICMPV6_ERROR_TYPES: readonly number[] = [1, 2, 3, 4];

/** Size of the ICMP / ICMPv6 header in front of the quoted packet. */
export const ICMP_ERROR_HEADER = 8;

/**
 * Offset of the packet quoted by the ICMP/ICMPv6 error located in `s` (see locatePacket), or -1
 * when the packet is not such an error (other protocol, informational type, later fragment, or
 * too short to hold the ICMP header). The quoted bytes are `buf[result, s.end)`.
 */
export function icmpErrorQuoteOffset(buf: Uint8Array, s: PacketScratch): number {
  const p = s.l4Offset;
  if (p < 0 || p + ICMP_ERROR_HEADER > s.end) return -1;
  const type = buf[p]!;
  if (s.proto === IPPROTO_ICMP && s.family === 4) {
    if (type !== 3 && type !== 11 && type !== 12) return -1;
  } else if (s.proto === IPPROTO_ICMPV6 && s.family === 6) {
    if (type < 1 || type > 4) return -1;
  } else {
    return -1;
  }
  return p + ICMP_ERROR_HEADER;
}
