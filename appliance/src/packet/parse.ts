/**
 * Inner IP packet parsing: IPv4 (IHL, total length, fragments) and IPv6 (extension header walk:
 * hop-by-hop, routing, fragment, destination options, AH). Never throws, no I/O.
 *
 * Two entry points: {@link locatePacket} writes offsets into a reusable scratch object (hot path,
 * no allocation) and {@link parsePacket} returns a friendly object (tests, logs, lab).
 */

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

/** Most extension headers walked before giving up (a loop guard; real packets carry few). */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

/** Every reason an inner packet cannot be parsed, for counters. */
export const PACKET_PARSE_ERRORS = [
  /** Fewer bytes than a minimal IPv4 (20) or IPv6 (40) header. */
  "TOO_SHORT",
  /** Version nibble is neither 4 nor 6. */
  "BAD_VERSION",
  /** IPv4 IHL below 5 or past the end of the packet. */
  "BAD_IHL",
  /** IPv4 total length / IPv6 payload length inconsistent with the bytes present. */
  "BAD_LENGTH",
  /** An IPv6 extension header overruns the packet, or too many of them. */
  "BAD_EXTENSION_HEADER",
  /** TCP/UDP header too short to hold the ports. */
  "TRUNCATED_L4",
] as const;

export type PacketParseError = (typeof PACKET_PARSE_ERRORS)[number];

/** Reusable parse target; all offsets are absolute positions in the parsed buffer. */
export interface PacketScratch {
  family: 4 | 6;
  /** Upper-layer protocol (after IPv6 extension headers); 58 for ICMPv6. */
  proto: number;
  /** Offset of the source address (4 or 16 bytes), destination follows it directly. */
  srcOffset: number;
  /** Offset of the upper-layer header; -1 for a non-first fragment (no L4 header present). */
  l4Offset: number;
  /** End of the IP packet (total length / 40 + payload length), at most offset + length. */
  end: number;
  /** Part of a fragmented datagram (first or later fragment). */
  fragment: boolean;
  /** Identification of a fragmented datagram (IPv4 16 bits, IPv6 32 bits); 0 otherwise. */
  fragmentId: number;
  /** TCP/UDP ports present (false for other protocols and non-first fragments). */
  hasPorts: boolean;
  srcPort: number;
  dstPort: number;
}

export function createPacketScratch(): PacketScratch {
  return {
    family: 4,
    proto: 0,
    srcOffset: 0,
    l4Offset: -1,
    end: 0,
    fragment: false,
    fragmentId: 0,
    hasPorts: false,
    srcPort: 0,
    dstPort: 0,
  };
}

function finishL4(buf: Uint8Array, out: PacketScratch): PacketParseError | undefined {
  out.hasPorts = false;
  out.srcPort = 0;
  out.dstPort = 0;
  const p = out.l4Offset;
  if (p < 0) return undefined;
  if (out.proto === IPPROTO_TCP || out.proto === IPPROTO_UDP) {
    if (p + 4 > out.end) return "TRUNCATED_L4";
    out.srcPort = (buf[p]! << 8) | buf[p + 1]!;
    out.dstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
    out.hasPorts = true;
  }
  return undefined;
}

/**
 * Locates addresses, protocol and ports of the IP packet in `buf[offset, offset + length)`.
 * Returns undefined on success (fields in `out`), else the error.
 *
 * `truncated` accepts a packet cut short after its headers (its length field larger than the
 * bytes present), as quoted inside an ICMP error (RFC 792: IP header + 8 bytes; RFC 4443: as much
 * as fits): `end` is then the end of the bytes present. The headers themselves must still fit.
 */
export function locatePacket(
  buf: Uint8Array,
  offset: number,
  length: number,
  out: PacketScratch,
  truncated = false,
): PacketParseError | undefined {
  if (!(offset >= 0)) offset = 0;
  if (!(length >= 0)) length = 0;
  if (offset > buf.length) offset = buf.length;
  if (length > buf.length - offset) length = buf.length - offset;
  offset = offset | 0;
  length = length | 0;
  if (length < 1) return "TOO_SHORT";
  const version = buf[offset]! >> 4;
  if (version === 4) {
    if (length < 20) return "TOO_SHORT";
    const ihl = (buf[offset]! & 0x0f) << 2;
    if (ihl < 20 || ihl > length) return "BAD_IHL";
    let total = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    if (total < ihl) return "BAD_LENGTH";
    if (total > length) {
      if (!truncated) return "BAD_LENGTH";
      total = length;
    }
    const frag = (buf[offset + 6]! << 8) | buf[offset + 7]!;
    const fragOffset = frag & 0x1fff;
    out.family = 4;
    out.proto = buf[offset + 9]!;
    out.srcOffset = offset + 12;
    out.end = offset + total;
    out.fragment = fragOffset !== 0 || (frag & 0x2000) !== 0;
    out.fragmentId = out.fragment ? (buf[offset + 4]! << 8) | buf[offset + 5]! : 0;
    out.l4Offset = fragOffset !== 0 ? -1 : offset + ihl;
    return finishL4(buf, out);
  }
  if (version === 6) {
    if (length < 40) return "TOO_SHORT";
    let payload = (buf[offset + 4]! << 8) | buf[offset + 5]!;
    if (40 + payload > length) {
      if (!truncated) return "BAD_LENGTH";
      payload = length - 40;
    }
    const end = offset + 40 + payload;
    let next = buf[offset + 6]!;
    let p = offset + 40;
    let fragment = false;
    let firstFragment = true;
    let fragmentId = 0;
    for (let n = 0; ; n++) {
      if (
        next !== IPPROTO_HOPOPTS &&
        next !== IPPROTO_ROUTING &&
        next !== IPPROTO_FRAGMENT &&
        next !== IPPROTO_DSTOPTS &&
        next !== IPPROTO_AH
      ) {
        break;
      }
      // Hop-by-hop is only valid first; tolerate it elsewhere (the kernel drops it anyway).
      if (n >= MAX_IPV6_EXTENSION_HEADERS || p + 8 > end) return "BAD_EXTENSION_HEADER";
      const nh = buf[p]!;
      let hlen: number;
      if (next === IPPROTO_FRAGMENT) {
        hlen = 8;
        fragment = true;
        fragmentId =
          ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
        const fo = (buf[p + 2]! << 8) | buf[p + 3]!;
        if (fo >> 3 !== 0) firstFragment = false;
      } else if (next === IPPROTO_AH) {
        hlen = (buf[p + 1]! + 2) << 2;
      } else {
        hlen = (buf[p + 1]! + 1) << 3;
      }
      if (p + hlen > end) return "BAD_EXTENSION_HEADER";
      next = nh;
      p += hlen;
      if (!firstFragment) break; // later fragments carry no further headers we can read
    }
    out.family = 6;
    out.proto = next;
    out.srcOffset = offset + 8;
    out.end = end;
    out.fragment = fragment;
    out.fragmentId = fragmentId;
    out.l4Offset = firstFragment ? p : -1;
    return finishL4(buf, out);
  }
  return "BAD_VERSION";
}

/** A parsed inner packet. */
export interface ParsedPacket {
  readonly family: 4 | 6;
  /** Source address, dotted quad or RFC 5952 text. */
  readonly src: string;
  readonly dst: string;
  /** Upper-layer protocol number (after IPv6 extension headers). */
  readonly proto: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Part of a fragmented datagram. */
  readonly fragment: boolean;
  /** Offset of the upper-layer header relative to the packet start, undefined for later fragments. */
  readonly l4Offset?: number;
  /** IP packet length (total length / 40 + payload length). */
  readonly length: number;
}

export type PacketParseResult =
  | { readonly ok: true; readonly packet: ParsedPacket }
  | { readonly ok: false; readonly error: PacketParseError };

/** Formats 4 or 16 address bytes at `p` as text. */
export function formatAddress(buf: Uint8Array, p: number, family: 4 | 6): string {
  if (family === 4) return `${buf[p]}.${buf[p + 1]}.${buf[p + 2]}.${buf[p + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((buf[p + 2 * i]! << 8) | buf[p + 2 * i + 1]!);
  // RFC 5952: compress the longest run (>= 2) of zero words, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

const parseScratch = createPacketScratch();

/** Parses an IP packet. Never throws. */
export function parsePacket(
  buf: Uint8Array,
  offset = 0,
  length: number = buf.length - offset,
): PacketParseResult {
  const error = locatePacket(buf, offset, length, parseScratch);
  if (error !== undefined) return { ok: false, error };
  const s = parseScratch;
  const start = Math.max(0, Math.min(offset | 0, buf.length));
  const alen = s.family === 4 ? 4 : 16;
  const packet: ParsedPacket = {
    family: s.family,
    src: formatAddress(buf, s.srcOffset, s.family),
    dst: formatAddress(buf, s.srcOffset + alen, s.family),
    proto: s.proto,
    fragment: s.fragment,
    length: s.end - start,
    ...(s.l4Offset >= 0 ? { l4Offset: s.l4Offset - start } : {}),
    ...(s.hasPorts ? { srcPort: s.srcPort, dstPort: s.dstPort } : {}),
  };
  return { ok: true, packet };
}
