import { GENEVE_DROP_REASONS } from "../geneve/codec";

/**
 * Every reason the data path drops a packet. The decoder's reasons (forward path) come first, then
 * the data path's own.
 */
export const DATAPATH_DROP_REASONS = [
  ...GENEVE_DROP_REASONS,
  /**
   * A datagram from a source outside the allowed GWLB CIDRs (`--gwlb-cidr` / `gwlbCidrs`): never
   * decoded nor forwarded, so no other host can inject traffic or have replies sent to itself.
   */
  "SOURCE_NOT_ALLOWED",
  /** Datagram larger than the receive slot (9216 bytes): cut short by the kernel. */
  "TRUNCATED",
  /** The endpoint's interfaces could not be created (retried after a back-off). */
  "ENDPOINT_UNAVAILABLE",
  /** More endpoints than `maxEndpoints`. */
  "TOO_MANY_ENDPOINTS",
  /** The inner packet (forward) cannot be parsed as IPv4/IPv6, so its flow is unknown. */
  "INNER_UNPARSEABLE",
  /** write() to gwi-X failed. */
  "TUN_WRITE_ERROR",
  /** A packet read from gwo-X/gwi-X cannot be parsed as IPv4/IPv6. */
  "RETURN_UNPARSEABLE",
  /** A packet read from gwo-X/gwi-X belongs to no flow seen from the GWLB (or it expired). */
  "UNKNOWN_FLOW",
  /** A packet read from a tun is larger than the read buffer. */
  "RETURN_TOO_BIG",
  /**
   * An inner packet from the GWLB with the health canary's signature (198.18.0.1 -> 198.19.0.1,
   * UDP 29799 both ways): only the daemon may inject canaries, or the rules' canary exception
   * would let such packets past the user's rules.
   */
  "CANARY_SPOOFED",
  /** The kernel refused the reply datagram (send buffer full, no route...). */
  "SEND_ERROR",
  /**
   * A new endpoint's hold queue (packets kept until its CREATE hook and rules are in place) was
   * full (packet or byte limit): the newest packet is dropped, the earliest ones are kept.
   */
  "HOLD_QUEUE_FULL",
  /** Held packets of an endpoint removed (or a daemon stopped) before its listeners finished. */
  "HOLD_ABANDONED",
  /**
   * An ICMP/ICMPv6 error read from a tun whose quoted (embedded) packet cannot be parsed or
   * belongs to no known flow of that endpoint.
   */
  "ICMP_ERROR_UNKNOWN_FLOW",
  /**
   * A non-first fragment (no ports) read from a tun whose datagram's first fragment was not seen
   * (or its mapping expired), and no flow matches it by addresses.
   */
  "FRAGMENT_UNKNOWN_FLOW",
] as const;

export type DatapathDropReason = (typeof DATAPATH_DROP_REASONS)[number];

/** Monotonic counters of the data path; read them, never write them from outside. */
export interface DatapathCounters {
  /** GENEVE datagrams received on UDP 6081. */
  rxDatagrams: number;
  rxBytes: number;
  /** Inner packets written to gwi-X. */
  tunTxPackets: number;
  tunTxBytes: number;
  /** Packets read from gwo-X / gwi-X. */
  tunRxPackets: number;
  tunRxBytes: number;
  /** GENEVE datagrams sent back to the GWLB. */
  txDatagrams: number;
  txBytes: number;
  /** recvmmsg failures other than "nothing queued". */
  rxErrors: number;
  /** recvmmsg batches (rxDatagrams / rxBatches is the mean batch size). */
  rxBatches: number;
  /** Endpoints created / removed since start. */
  endpointsCreated: number;
  endpointsRemoved: number;
  /** Endpoints taken over at start from a previous daemon (a restart through the fd store). */
  endpointsAdopted: number;
  /** Endpoint listener (hooks, rp_filter, rules) calls that failed. */
  listenerErrors: number;
  /** Exceptions caught in per-packet code (a bug: the batch is lost, the daemon keeps running). */
  internalErrors: number;
  /** Packets of new endpoints held until their listeners (hooks, rules) finished. */
  holdQueued: number;
  /** Held packets written to gwi-X after the listeners finished (or the hold timed out). */
  holdFlushed: number;
  /** Hold queues released by the hold timeout before the listeners finished. */
  holdTimeouts: number;
  /** ICMP/ICMPv6 errors from a tun sent back with the flow of the packet they quote. */
  icmpErrorsMatched: number;
  /** Fragments (without ports) routed by the datagram's first fragment, both directions. */
  fragmentsMatched: number;
  readonly drops: Record<DatapathDropReason, number>;
}

export function createCounters(): DatapathCounters {
  const drops = {} as Record<DatapathDropReason, number>;
  for (const r of DATAPATH_DROP_REASONS) drops[r] = 0;
  return {
    rxDatagrams: 0,
    rxBytes: 0,
    tunTxPackets: 0,
    tunTxBytes: 0,
    tunRxPackets: 0,
    tunRxBytes: 0,
    txDatagrams: 0,
    txBytes: 0,
    rxErrors: 0,
    rxBatches: 0,
    endpointsCreated: 0,
    endpointsAdopted: 0,
    endpointsRemoved: 0,
    listenerErrors: 0,
    internalErrors: 0,
    holdQueued: 0,
    holdFlushed: 0,
    holdTimeouts: 0,
    icmpErrorsMatched: 0,
    fragmentsMatched: 0,
    drops,
  };
}

/** Sum of all drops. */
export function totalDrops(c: DatapathCounters): number {
  let n = 0;
  for (const r of DATAPATH_DROP_REASONS) n += c.drops[r];
  return n;
}
