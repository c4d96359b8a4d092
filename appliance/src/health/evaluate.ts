/**
 * Decides whether the appliance is healthy from successive data path status samples (pure, clock
 * injected). Every condition is a stage (HEALTH_STAGES), global or per endpoint; health is the
 * conjunction of them all, and each failure names its stage and endpoint.
 *
 * Healthy means traffic can really cross:
 * - datapath, socket: the loop runs and the GENEVE socket is bound;
 * - interfaces: every endpoint's gwi-/gwo- interfaces are up;
 * - canary: every endpoint's canary crosses gwi-X -> gwo-X (fewer than `canaryFailures` probes
 *   in a row lost); a new endpoint gets `graceMs` to set up forwarding and pass its first canary
 *   (pending, said so, not a failure);
 * - traffic: traffic that arrived recently was handled: over the last window, if datagrams came
 *   in, some were forwarded to a tun (a window where every datagram was dropped, or every tun
 *   write failed, is unhealthy); if the tuns gave packets back, some replies went out; no traffic
 *   at all is fine (GWLB health checks do not go through the data path);
 * - every extra check passes (rule engine, per-endpoint hook and rules, rp_filter keeper).
 *
 * Flow table evictions (the daemon's table or, on the kernel path, the kernel's flow map is full)
 * are reported in the window and the details, not as a failure: the least recently used flows lose their state and their replies are dropped until
 * their next packet from the GWLB, but every other flow crosses, and an unhealthy target would
 * make the GWLB move all of its flows (or, with every target unhealthy, fail open).
 */
import { GENEVE_DROP_REASONS } from "../geneve/codec";
import type { DatapathStatus, EndpointStatus, HealthCheckResult, HealthStage } from "./status";

/**
 * Drops caused by what was sent to us, not by the appliance: a flood of junk datagrams or of
 * packets the kernel emits on the tuns (IPv6 neighbour discovery, MLD) must not make it unhealthy.
 */
const INPUT_DROPS: ReadonlySet<string> = new Set<string>([
  ...GENEVE_DROP_REASONS,
  "SOURCE_NOT_ALLOWED",
  "TRUNCATED",
  "INNER_UNPARSEABLE",
  "CANARY_SPOOFED",
]);
const RETURN_INPUT_DROPS: ReadonlySet<string> = new Set<string>([
  "UNKNOWN_FLOW",
  "RETURN_UNPARSEABLE",
]);

export interface HealthReport {
  readonly healthy: boolean;
  /**
   * "forwarding" (traffic handled in the window), "idle", "starting" (something is still pending:
   * the rule engine's first check, a new endpoint in its grace period), or "unhealthy".
   */
  readonly state: "forwarding" | "idle" | "starting" | "unhealthy";
  /** Why it is unhealthy (empty when healthy): `[endpoint vpce-X (gwi-X) ]stage: detail`. */
  readonly reasons: readonly string[];
  /** What is still pending (same format), healthy or not. */
  readonly pending: readonly string[];
  /** Packet deltas over the evaluated window. */
  readonly window: {
    readonly seconds: number;
    readonly received: number;
    readonly forwarded: number;
    readonly returned: number;
    readonly replied: number;
    readonly dropped: number;
    /** Flows evicted from the daemon's full flow table. */
    readonly evicted: number;
    /** Flows the kernel evicted from its full flow map (kernel path, when it counts them). */
    readonly kernelEvicted?: number;
  };
  readonly checks: readonly HealthCheckResult[];
  readonly status: DatapathStatus;
}

export interface HealthEvaluatorOptions {
  /** Length of the traffic window, ms (`health.window`). */
  readonly windowMs: number;
  /**
   * Fewest datagrams in a window before "nothing forwarded" counts as a failure (a few stray
   * malformed datagrams must not fail the appliance) (`health.minPackets`).
   */
  readonly minPackets: number;
  /** Milliseconds, monotonic. Defaults to performance.now(). */
  readonly clock?: () => number;
  /** Canary probes lost in a row that fail an endpoint (`health.canary.failures`). */
  readonly canaryFailures: number;
  /** How long a new endpoint may take to set up forwarding and pass a canary, ms (`health.grace`). */
  readonly graceMs: number;
}

interface Sample {
  readonly at: number;
  readonly rx: number;
  readonly tunTx: number;
  readonly tunRx: number;
  readonly tx: number;
  readonly evicted: number;
  readonly kernelEvicted: number | undefined;
  readonly drops: Readonly<Record<string, number>>;
}

function sample(at: number, s: DatapathStatus): Sample {
  const c = s.counters;
  return {
    at,
    rx: c.rxDatagrams,
    tunTx: c.tunTxPackets,
    tunRx: c.tunRxPackets,
    tx: c.txDatagrams,
    evicted: s.flowCache?.evicted ?? 0,
    kernelEvicted: s.kernel?.flows?.evicted,
    drops: { ...c.drops },
  };
}

function sum(r: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const v of Object.values(r)) n += v;
  return n;
}

export class HealthEvaluator {
  private readonly windowMs: number;
  private readonly minPackets: number;
  private readonly clock: () => number;
  private readonly canaryFailures: number;
  private readonly graceMs: number;
  /** Samples at least one window apart: [older, newer]. */
  private previous: Sample | undefined;
  private current: Sample | undefined;

  constructor(options: HealthEvaluatorOptions) {
    this.windowMs = options.windowMs;
    this.minPackets = options.minPackets;
    this.clock = options.clock ?? (() => performance.now());
    this.canaryFailures = options.canaryFailures;
    this.graceMs = options.graceMs;
  }

  /**
   * Records a sample (call it periodically, e.g. every second, and on each health request) and
   * evaluates health over the last full window.
   */
  evaluate(status: DatapathStatus, checks: readonly HealthCheckResult[] = []): HealthReport {
    const now = this.clock();
    const s = sample(now, status);
    if (!this.current) this.current = s;
    else if (now - this.current.at >= this.windowMs) {
      this.previous = this.current;
      this.current = s;
    }
    // Compare with the oldest sample still inside ~2 windows; before the first window, with the start.
    const base =
      this.previous && now - this.previous.at <= 2 * this.windowMs ? this.previous : this.current;
    const received = s.rx - base.rx;
    const forwarded = s.tunTx - base.tunTx;
    const returned = s.tunRx - base.tunRx;
    const replied = s.tx - base.tx;
    const dropDelta: Record<string, number> = {};
    for (const [k, v] of Object.entries(s.drops)) {
      const d = v - (base.drops[k] ?? 0);
      if (d > 0) dropDelta[k] = d;
    }
    const dropped = sum(dropDelta);
    let inputDrops = 0;
    let returnInputDrops = 0;
    for (const [k, v] of Object.entries(dropDelta)) {
      if (INPUT_DROPS.has(k)) inputDrops += v;
      if (RETURN_INPUT_DROPS.has(k)) returnInputDrops += v;
    }
    const wellFormed = received - inputDrops;
    const returnedKnown = returned - returnInputDrops;
    const seconds = Math.max(0, (now - base.at) / 1000);

    const found: HealthCheckResult[] = [];
    const stage = (name: HealthStage, ok: boolean, detail?: string, endpoint?: string) =>
      found.push({ name, ok, ...(detail ? { detail } : {}), ...(endpoint ? { endpoint } : {}) });
    if (!status.running) stage("datapath", false, "data path is not running");
    if (!status.socketBound) stage("socket", false, "GENEVE UDP socket is not bound");
    for (const ep of status.endpoints) {
      if (!ep.up) stage("interfaces", false, `${ep.gwi}/${ep.gwo} are not up`, ep.id);
      if (ep.canary) found.push(this.canary(ep));
    }
    const top = Object.entries(dropDelta)
      .filter(([k]) => !INPUT_DROPS.has(k) && !RETURN_INPUT_DROPS.has(k))
      .sort((a, b) => b[1] - a[1])[0];
    const topText = top ? ` (most dropped as ${top[0]}: ${top[1]})` : "";
    if (wellFormed >= this.minPackets && forwarded === 0) {
      stage(
        "traffic",
        false,
        `none of the ${wellFormed} valid datagrams received in the last ${seconds.toFixed(0)} s was forwarded${topText}`,
      );
    }
    if (returnedKnown >= this.minPackets && replied === 0) {
      stage(
        "traffic",
        false,
        `none of the ${returnedKnown} packets of known flows returned by the interfaces in the last ${seconds.toFixed(0)} s was sent back${topText}`,
      );
    }
    const gwiOf = new Map(status.endpoints.map((e) => [e.id, e.gwi]));
    // A late result about an endpoint that is gone (removed while its hook ran) is not news.
    found.push(...checks.filter((c) => c.endpoint === undefined || gwiOf.has(c.endpoint)));

    const describe = (c: HealthCheckResult): string => {
      // Every endpoint condition in `found` is about an endpoint of the status (filtered above).
      const who = c.endpoint ? `endpoint vpce-${c.endpoint} (${gwiOf.get(c.endpoint)}) ` : "";
      return `${who}${c.name}: ${c.detail ?? (c.ok ? "pending" : "failed")}`;
    };
    const reasons = found.filter((c) => !c.ok).map(describe);
    const pending = found.filter((c) => c.pending).map(describe);
    const healthy = reasons.length === 0;
    const settling = pending.length > 0 && found.every((c) => c.ok || c.pending);
    return {
      healthy,
      state: settling
        ? "starting"
        : !healthy
          ? "unhealthy"
          : forwarded > 0 || replied > 0
            ? "forwarding"
            : "idle",
      reasons,
      pending,
      window: {
        seconds,
        received,
        forwarded,
        returned,
        replied,
        dropped,
        evicted: s.evicted - base.evicted,
        ...(s.kernelEvicted !== undefined
          ? { kernelEvicted: s.kernelEvicted - (base.kernelEvicted ?? s.kernelEvicted) }
          : {}),
      },
      checks: found,
      status,
    };
  }

  /** An endpoint's canary stage. */
  private canary(ep: EndpointStatus): HealthCheckResult {
    const c = ep.canary!;
    const base = { name: "canary", endpoint: ep.id } as const;
    if (c.consecutiveLost >= this.canaryFailures) {
      const last =
        c.lastReturnAgoMs === undefined
          ? "none ever came back"
          : `the last came back ${(c.lastReturnAgoMs / 1000).toFixed(1)} s ago`;
      return {
        ...base,
        ok: false,
        detail: `${c.consecutiveLost} canaries in a row did not come out of ${ep.gwo} (${last}${c.problem !== undefined ? `; ${c.problem}` : ""})`,
      };
    }
    if (c.returned > 0) return { ...base, ok: true };
    const age = ep.ageMs ?? Infinity;
    const what = ep.setupDone
      ? `no canary has come out of ${ep.gwo} yet`
      : "forwarding is still being set up (CREATE hook, rules)";
    if (age < this.graceMs) {
      const left = ((this.graceMs - age) / 1000).toFixed(0);
      return { ...base, ok: true, pending: true, detail: `${what} (grace, ${left} s left)` };
    }
    return {
      ...base,
      ok: false,
      detail: `${what}, ${(age / 1000).toFixed(0)} s after the endpoint appeared`,
    };
  }
}
