/**
 * Flow hashing of the emulated GWLB. A GWLB keeps both directions of a flow on one target, so
 * the key is direction-independent: the two (address, port) ends are put in a canonical order
 * before hashing. The hash mode is the target group's stickiness: 5-tuple (default),
 * 3-tuple (`source_ip_dest_ip_proto`) or 2-tuple (`source_ip_dest_ip`). Protocols without
 * ports (ICMP, ...) always hash by 3-tuple, as on AWS.
 */

export type HashMode = "5-tuple" | "3-tuple" | "2-tuple";
export const HASH_MODES: readonly HashMode[] = ["5-tuple", "3-tuple", "2-tuple"];

/** The inner packet's flow as the load balancer sees it (one direction). */
export interface FlowTuple {
  readonly family: 4 | 6;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
  /** Present for TCP, UDP, SCTP. */
  readonly srcPort?: number;
  readonly dstPort?: number;
}

/** Maps AWS target group stickiness values (and friendly names) to a hash mode. Throws on anything else. */
export function parseHashMode(value: string): HashMode {
  switch (value) {
    case "5-tuple":
    case "5":
    case "source_ip_dest_ip_proto_source_port_dest_port":
      return "5-tuple";
    case "3-tuple":
    case "3":
    case "source_ip_dest_ip_proto":
      return "3-tuple";
    case "2-tuple":
    case "2":
    case "source_ip_dest_ip":
      return "2-tuple";
    default:
      throw new Error(
        `invalid hash mode "${value}": use 5-tuple, 3-tuple (source_ip_dest_ip_proto) or 2-tuple (source_ip_dest_ip)`,
      );
  }
}

function endString(addr: string, port: number | undefined): string {
  return port === undefined ? addr : `${addr}#${port}`;
}

/**
 * Canonical, direction-independent key of a flow under a hash mode: the same string for
 * a->b and b->a. Also the flow table's key, so stickiness follows the hash mode like on AWS.
 */
export function flowKey(t: FlowTuple, mode: HashMode): string {
  const ports = mode === "5-tuple" && t.srcPort !== undefined && t.dstPort !== undefined;
  const a = endString(t.src, ports ? t.srcPort : undefined);
  const b = endString(t.dst, ports ? t.dstPort : undefined);
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return mode === "2-tuple" ? `${t.family}|${lo}|${hi}` : `${t.family}|${t.protocol}|${lo}|${hi}`;
}

/** 32-bit FNV-1a of a string's UTF-16 code units (keys are ASCII). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32) so that near-identical keys spread well.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest random weight) choice of a target for a flow key: deterministic, and
 * when a target leaves only the flows it held move. Returns undefined when there is no target.
 */
export function pickTarget(key: string, targets: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const t of targets) {
    const score = fnv1a(`${key}@${t}`);
    if (score > bestScore || (score === bestScore && best !== undefined && t < best)) {
      best = t;
      bestScore = score;
    }
  }
  return best;
}
