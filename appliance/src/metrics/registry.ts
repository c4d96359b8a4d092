/**
 * Prometheus metrics (prom-client), read from the data path status at scrape time: nothing is
 * counted twice and the hot path never touches prom-client.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { GENEVE_DROP_REASONS } from "../geneve/codec";
import type { HookAction, HookOutcome, HookRun, HookStats } from "../hooks/runner";
import type { RpFilterStats } from "../sysctl/rp-filter";
import { HEALTH_STAGES, type DatapathStatusProvider } from "../health/status";

export interface MetricsSources {
  readonly datapath: DatapathStatusProvider;
  readonly hooks?: {
    readonly stats: HookStats;
    /** When present, hook durations feed tollgate_hook_duration_seconds. */
    onRun?(listener: (run: HookRun) => void): void;
  };
  readonly rpFilter?: { readonly stats: RpFilterStats };
  /** Current health (1 healthy, 0 not), evaluated at scrape time. */
  readonly healthy?: () => boolean;
  /** Health stages: conditions failing now, and failures since start, by stage. */
  readonly stages?: {
    failing(): Readonly<Record<string, number>>;
    readonly failures: Readonly<Record<string, number>>;
  };
  /** When present, canary round trips feed tollgate_canary_round_trip_seconds. */
  readonly canaryRoundTrips?: (listener: (ms: number) => void) => void;
  /** Drop reasons to pre-register with 0 (the data path's full list). Defaults to the decoder's. */
  readonly dropReasons?: readonly string[];
}

export interface ApplianceMetrics {
  readonly registry: Registry;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** A counter whose value is copied from a monotonic source at scrape time. */
export function mirroredCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, Math.max(0, value)));
    },
  });
}

export function createMetrics(sources: MetricsSources): ApplianceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tollgate_" });
  // One status per scrape: prom-client runs every metric's collect in one synchronous pass, and
  // a status syncs the kernel path (a map read per counter, the flow count's iterator).
  let snapshot: ReturnType<MetricsSources["datapath"]["status"]> | undefined;
  const status = (): ReturnType<MetricsSources["datapath"]["status"]> => {
    if (snapshot === undefined) {
      snapshot = sources.datapath.status();
      queueMicrotask(() => (snapshot = undefined));
    }
    return snapshot;
  };
  const reasons = [...new Set([...GENEVE_DROP_REASONS, ...(sources.dropReasons ?? [])])];

  const simple: [string, string, (s: ReturnType<typeof status>) => number | undefined][] = [
    [
      "tollgate_geneve_rx_datagrams_total",
      "GENEVE datagrams received on UDP 6081",
      (s) => s.counters.rxDatagrams,
    ],
    [
      "tollgate_geneve_rx_bytes_total",
      "GENEVE datagram bytes received (UDP payload)",
      (s) => s.counters.rxBytes,
    ],
    [
      "tollgate_geneve_tx_datagrams_total",
      "GENEVE datagrams sent back to the GWLB",
      (s) => s.counters.txDatagrams,
    ],
    [
      "tollgate_geneve_tx_bytes_total",
      "GENEVE datagram bytes sent back (UDP payload)",
      (s) => s.counters.txBytes,
    ],
    [
      "tollgate_tun_tx_packets_total",
      "Inner packets written to gwi- interfaces",
      (s) => s.counters.tunTxPackets,
    ],
    [
      "tollgate_tun_tx_bytes_total",
      "Inner packet bytes written to gwi- interfaces",
      (s) => s.counters.tunTxBytes,
    ],
    [
      "tollgate_tun_rx_packets_total",
      "Packets read from gwo-/gwi- interfaces",
      (s) => s.counters.tunRxPackets,
    ],
    [
      "tollgate_tun_rx_bytes_total",
      "Packet bytes read from gwo-/gwi- interfaces",
      (s) => s.counters.tunRxBytes,
    ],
    [
      "tollgate_endpoints_created_total",
      "Endpoints (tun pairs) created",
      (s) => s.counters.endpointsCreated,
    ],
    [
      "tollgate_endpoints_adopted_total",
      "Endpoints (tun pairs) taken over at start from the previous daemon (restart)",
      (s) => s.counters.endpointsAdopted,
    ],
    [
      "tollgate_endpoints_removed_total",
      "Endpoints (tun pairs) removed",
      (s) => s.counters.endpointsRemoved,
    ],
    [
      "tollgate_endpoint_listener_errors_total",
      "Failed endpoint listener calls (hooks, rp_filter, rules)",
      (s) => s.counters.listenerErrors,
    ],
    [
      "tollgate_hold_queued_packets_total",
      "Packets of new endpoints held until their CREATE hook and rules finished",
      (s) => s.counters.holdQueued,
    ],
    [
      "tollgate_hold_flushed_packets_total",
      "Held packets written to gwi- once the endpoint's listeners finished (or the hold timed out)",
      (s) => s.counters.holdFlushed,
    ],
    [
      "tollgate_hold_timeouts_total",
      "Hold queues released by the hold timeout before the listeners finished",
      (s) => s.counters.holdTimeouts,
    ],
    [
      "tollgate_icmp_errors_matched_total",
      "ICMP/ICMPv6 errors returned with the flow of the packet they quote",
      (s) => s.counters.icmpErrorsMatched,
    ],
    [
      "tollgate_fragments_matched_total",
      "Fragments without ports routed by their datagram's first fragment",
      (s) => s.counters.fragmentsMatched,
    ],
    [
      "tollgate_flow_cache_hits_total",
      "Flow table lookups that found a flow",
      (s) => s.flowCache?.hits,
    ],
    [
      "tollgate_flow_cache_misses_total",
      "Flow table lookups that found nothing",
      (s) => s.flowCache?.misses,
    ],
    [
      "tollgate_flow_cache_inserts_total",
      "Flows added to the flow table",
      (s) => s.flowCache?.inserts,
    ],
    [
      "tollgate_flow_expirations_total",
      "Flows removed after their idle timeout",
      (s) => s.flowCache?.expired,
    ],
  ];
  for (const [name, help, get] of simple) {
    mirroredCounter(registry, name, help, [], (set) => {
      const v = get(status());
      if (v !== undefined) set({}, v);
    });
  }

  mirroredCounter(
    registry,
    "tollgate_drops_total",
    "Packets dropped, by reason",
    ["reason"] as const,
    (set) => {
      const drops = status().counters.drops;
      for (const r of new Set([...reasons, ...Object.keys(drops)]))
        set({ reason: r }, drops[r] ?? 0);
    },
  );

  // The flow tables, by `path`: "user" is the daemon's table (on both data paths: on the kernel
  // path it holds the flows of what the programs send up), "kernel" the kernel path's tg_flows.
  const tables = (s: ReturnType<typeof status>) => [
    { path: "user", present: s.flows, capacity: s.flowCapacity, evicted: s.flowCache?.evicted },
    ...(s.kernel
      ? [
          {
            path: "kernel",
            present: s.kernel.flows?.present,
            capacity: s.kernel.flowCapacity,
            evicted: s.kernel.flows?.evicted,
          },
        ]
      : []),
  ];
  mirroredCounter(
    registry,
    "tollgate_flow_evictions_total",
    'Flows evicted because the flow table was full (LRU), by table: path="user" the daemon\'s, path="kernel" the kernel path\'s flow map',
    ["path"] as const,
    (set) => {
      for (const t of tables(status()))
        if (t.evicted !== undefined) set({ path: t.path }, t.evicted);
    },
  );
  new Gauge({
    name: "tollgate_flows",
    help: 'Flows in the flow table, by table (path="user": the daemon\'s, path="kernel": the kernel path\'s flow map)',
    labelNames: ["path"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tables(status()))
        if (t.present !== undefined) this.set({ path: t.path }, t.present);
    },
  });
  new Gauge({
    name: "tollgate_flows_max",
    help: "Flow table bound (flows.maxEntries), by table: at it, each new flow evicts the least recently used",
    labelNames: ["path"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tables(status()))
        if (t.capacity !== undefined) this.set({ path: t.path }, t.capacity);
    },
  });
  new Gauge({
    name: "tollgate_endpoints",
    help: "Endpoints (GWLB endpoint ids) with a tun pair",
    registers: [registry],
    collect() {
      this.set(status().endpoints.length);
    },
  });
  new Gauge({
    name: "tollgate_endpoints_down",
    help: "Endpoints whose gwi-/gwo- interfaces are not up",
    registers: [registry],
    collect() {
      this.set(status().endpoints.filter((e) => !e.up).length);
    },
  });
  mirroredCounter(
    registry,
    "tollgate_canary_probes_total",
    "Health canary probes by outcome: sent (gwi-X), returned (out of gwo-X), lost (not back before the next), stray (a canary-signature packet that was not the probe in flight)",
    ["outcome"] as const,
    (set) => {
      const c = status().canary;
      if (!c) return;
      for (const outcome of ["sent", "returned", "lost", "stray"] as const)
        set({ outcome }, c[outcome]);
    },
  );
  if (sources.canaryRoundTrips) {
    const rtt = new Histogram({
      name: "tollgate_canary_round_trip_seconds",
      help: "Health canary round trip gwi-X -> gwo-X (kernel, tc, rules)",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [registry],
    });
    sources.canaryRoundTrips((ms) => rtt.observe(ms / 1000));
  }
  if (sources.stages) {
    const stages = sources.stages;
    new Gauge({
      name: "tollgate_health_failing",
      help: "Health conditions failing now, by stage (global, or one per endpoint)",
      labelNames: ["stage"] as const,
      registers: [registry],
      collect() {
        const failing = stages.failing();
        for (const stage of HEALTH_STAGES) this.set({ stage }, failing[stage] ?? 0);
      },
    });
    mirroredCounter(
      registry,
      "tollgate_health_failures_total",
      "Health conditions that turned failed, by stage (global, or per endpoint)",
      ["stage"] as const,
      (set) => {
        for (const stage of HEALTH_STAGES) set({ stage }, stages.failures[stage] ?? 0);
      },
    );
  }
  new Gauge({
    name: "tollgate_geneve_socket_bound",
    help: "1 when the GENEVE UDP socket is bound",
    registers: [registry],
    collect() {
      this.set(status().socketBound ? 1 : 0);
    },
  });

  if (sources.hooks) {
    const hooks = sources.hooks;
    mirroredCounter(
      registry,
      "tollgate_hook_runs_total",
      "Hook (-c/-r) runs by action and outcome (ok, failed, timeout, error = could not start)",
      ["action", "outcome"] as const,
      (set) => {
        for (const action of Object.keys(hooks.stats) as HookAction[]) {
          for (const outcome of Object.keys(hooks.stats[action]) as HookOutcome[]) {
            set({ action: action.toLowerCase(), outcome }, hooks.stats[action][outcome]);
          }
        }
      },
    );
  }
  if (sources.hooks?.onRun) {
    const durations = new Histogram({
      name: "tollgate_hook_duration_seconds",
      help: "Hook (-c/-r) run time by action",
      labelNames: ["action"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    sources.hooks.onRun((run) =>
      durations.observe({ action: run.action.toLowerCase() }, run.durationMs / 1000),
    );
  }
  if (sources.rpFilter) {
    const rp = sources.rpFilter;
    mirroredCounter(
      registry,
      "tollgate_rp_filter_resets_total",
      "rp_filter found re-enabled and disabled again",
      [],
      (set) => set({}, rp.stats.resets),
    );
    mirroredCounter(
      registry,
      "tollgate_rp_filter_errors_total",
      "Failures to read or write rp_filter",
      [],
      (set) => set({}, rp.stats.errors),
    );
  }
  if (sources.healthy) {
    const healthy = sources.healthy;
    new Gauge({
      name: "tollgate_healthy",
      help: "1 when the health check passes",
      registers: [registry],
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}
