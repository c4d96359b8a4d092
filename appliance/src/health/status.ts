/**
 * What the health endpoint and the metrics need from the data path. The daemon implements
 * {@link DatapathStatusProvider}; its `status()` result is read on every health check and scrape.
 */

export interface EndpointStatus {
  /** Endpoint id, 17 hex digits. */
  readonly id: string;
  readonly gwi: string;
  readonly gwo: string;
  /** Both interfaces exist and are administratively and operationally up. */
  readonly up: boolean;
}

/** Monotonic counters (a subset of the data path's). */
export interface StatusCounters {
  /** GENEVE datagrams received. */
  readonly rxDatagrams: number;
  readonly rxBytes: number;
  /** Inner packets written to gwi-X. */
  readonly tunTxPackets: number;
  readonly tunTxBytes?: number;
  /** Packets read from gwo-X / gwi-X. */
  readonly tunRxPackets: number;
  readonly tunRxBytes?: number;
  /** GENEVE datagrams sent back to the GWLB. */
  readonly txDatagrams: number;
  readonly txBytes: number;
  readonly endpointsCreated?: number;
  readonly endpointsRemoved?: number;
  /** Endpoint listener (hooks, rp_filter, rules) failures. */
  readonly listenerErrors?: number;
  /** New endpoints' packets held / flushed, hold timeouts (see Datapath hold queue). */
  readonly holdQueued?: number;
  readonly holdFlushed?: number;
  readonly holdTimeouts?: number;
  /** ICMP errors matched by their quoted packet; fragments matched by their first fragment. */
  readonly icmpErrorsMatched?: number;
  readonly fragmentsMatched?: number;
  /** Drops by reason. */
  readonly drops: Readonly<Record<string, number>>;
}

export interface FlowCacheCounters {
  readonly hits: number;
  readonly misses: number;
  readonly inserts: number;
  readonly expired: number;
  readonly evicted: number;
}

export interface DatapathStatus {
  /** The data path loop is started and not stopping. */
  readonly running: boolean;
  /** The GENEVE UDP socket is open and bound. */
  readonly socketBound: boolean;
  readonly listen?: { readonly address: string; readonly port: number };
  readonly endpoints: readonly EndpointStatus[];
  /** Flows in the flow table. */
  readonly flows: number;
  /** Milliseconds since the last datagram received or reply sent; undefined if none yet. */
  readonly idleMs: number | undefined;
  readonly counters: StatusCounters;
  readonly flowCache?: FlowCacheCounters;
}

export interface DatapathStatusProvider {
  status(): DatapathStatus;
}

/** An additional health condition (rp_filter keeper, rules engine...). */
export interface HealthCheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export type ExtraHealthCheck = () => HealthCheckResult;
