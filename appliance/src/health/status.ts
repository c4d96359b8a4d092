import type { CanaryStatus, CanaryTotals } from "../datapath/canary";
import type { KernelPathStatus } from "../datapath/kernel";

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
  /** Milliseconds since the interfaces were created. */
  readonly ageMs?: number;
  /** Every listener (rp_filter, CREATE hook, rules) has finished for this endpoint. */
  readonly setupDone?: boolean;
  /** The health canary's record; absent when the canary is off. */
  readonly canary?: CanaryStatus;
  /**
   * Kernel path only: packets tg_decap redirected into gwi-X and tg_encap sent to the GWLB from
   * gwi-X/gwo-X (the tun's own counters never see them).
   */
  readonly kernelPackets?: { readonly toGwi: number; readonly fromTuns: number };
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
  readonly endpointsAdopted?: number;
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

/** Flow table counters (FlowTableStats). */
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
  /** The flow table's bound (`flows.maxEntries`). */
  readonly flowCapacity?: number;
  /** Milliseconds since the last datagram received or reply sent; undefined if none yet. */
  readonly idleMs: number | undefined;
  readonly counters: StatusCounters;
  readonly flowCache?: FlowCacheCounters;
  /** Health canary totals over all endpoints; absent when the canary is off. */
  readonly canary?: CanaryTotals;
  /** Which data path runs: the kernel's eBPF programs (with the user path behind them) or the daemon's. */
  readonly datapath?: "kernel" | "user";
  /** The kernel path's attachment and what it sent up to the daemon; absent on the user path. */
  readonly kernel?: KernelPathStatus;
}

export interface DatapathStatusProvider {
  status(): DatapathStatus;
}

/**
 * Stages health looks at, in the order traffic meets them (the `stage` label of the health
 * metrics). Global: the data path loop, the GENEVE socket, the rule engine (tools, rules file),
 * Suricata (ips: on its NFQUEUE; down with failure: closed fails health),
 * rp_filter, recent traffic. Per endpoint: its interfaces, its CREATE hook, its rules, its canary.
 */
export const HEALTH_STAGES = [
  "datapath",
  "socket",
  "rules-engine",
  "suricata",
  "rp_filter",
  "traffic",
  "interfaces",
  "hook",
  "rules",
  "canary",
] as const;
export type HealthStage = (typeof HEALTH_STAGES)[number];

/** One health condition: a stage, globally or for one endpoint. */
export interface HealthCheckResult {
  /** The stage (one of HEALTH_STAGES for the built-in checks). */
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
  /** Endpoint id (17 hex digits) when the condition is about one endpoint. */
  readonly endpoint?: string;
  /**
   * Not decided yet (start-up, grace): with ok = true it does not fail health (a new endpoint in
   * its grace period), with ok = false it does (the rule engine's first check at boot).
   */
  readonly pending?: boolean;
}

export type ExtraHealthCheck = () => HealthCheckResult | readonly HealthCheckResult[];
