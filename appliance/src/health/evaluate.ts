/**
 * Decides whether the appliance is healthy from successive data path status samples (pure, clock
 * injected).
 *
 * Healthy means the data path really works:
 * - the loop runs and the GENEVE socket is bound;
 * - every endpoint's gwi-/gwo- interfaces are up;
 * - traffic that arrived recently was handled: over the last window, if datagrams came in, some
 *   were forwarded to a tun (a window where every datagram was dropped, or every tun write
 *   failed, is unhealthy); if the tuns gave packets back, some replies went out;
 * - or the appliance is idle by design (no traffic yet or none lately: GWLB health checks do not
 *   go through the data path);
 * - every extra check (rp_filter keeper, ...) passes.
 */
import { GENEVE_DROP_REASONS } from "../geneve/codec";
import type { DatapathStatus, HealthCheckResult } from "./status";

/**
 * Drops caused by what was sent to us, not by the appliance: a flood of junk datagrams or of
 * packets the kernel emits on the tuns (IPv6 neighbour discovery, MLD) must not make it unhealthy.
 */
const INPUT_DROPS: ReadonlySet<string> = new Set<string>([
  ...GENEVE_DROP_REASONS,
  "SOURCE_NOT_ALLOWED",
  "TRUNCATED",
  "INNER_UNPARSEABLE",
]);
const RETURN_INPUT_DROPS: ReadonlySet<string> = new Set<string>([
  "UNKNOWN_FLOW",
  "RETURN_UNPARSEABLE",
]);

export interface HealthReport {
  readonly healthy: boolean;
  /** "forwarding" (traffic handled in the window), "idle", or "unhealthy". */
  readonly state: "forwarding" | "idle" | "unhealthy";
  /** Why it is unhealthy (empty when healthy). */
  readonly reasons: readonly string[];
  /** Packet deltas over the evaluated window. */
  readonly window: {
    readonly seconds: number;
    readonly received: number;
    readonly forwarded: number;
    readonly returned: number;
    readonly replied: number;
    readonly dropped: number;
  };
  readonly checks: readonly HealthCheckResult[];
  readonly status: DatapathStatus;
}

export interface HealthEvaluatorOptions {
  /** Length of the traffic window, ms. Defaults to 10000. */
  readonly windowMs?: number;
  /**
   * Fewest datagrams in a window before "nothing forwarded" counts as a failure (a few stray
   * malformed datagrams must not fail the appliance). Defaults to 20.
   */
  readonly minPackets?: number;
  /** Milliseconds, monotonic. Defaults to performance.now(). */
  readonly clock?: () => number;
}

interface Sample {
  readonly at: number;
  readonly rx: number;
  readonly tunTx: number;
  readonly tunRx: number;
  readonly tx: number;
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
  /** Samples at least one window apart: [older, newer]. */
  private previous: Sample | undefined;
  private current: Sample | undefined;

  constructor(options: HealthEvaluatorOptions = {}) {
    this.windowMs = options.windowMs ?? 10_000;
    this.minPackets = options.minPackets ?? 20;
    this.clock = options.clock ?? (() => performance.now());
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

    const reasons: string[] = [];
    if (!status.running) reasons.push("data path is not running");
    if (!status.socketBound) reasons.push("GENEVE UDP socket is not bound");
    for (const ep of status.endpoints) {
      if (!ep.up) reasons.push(`interfaces ${ep.gwi}/${ep.gwo} of endpoint ${ep.id} are not up`);
    }
    const top = Object.entries(dropDelta)
      .filter(([k]) => !INPUT_DROPS.has(k) && !RETURN_INPUT_DROPS.has(k))
      .sort((a, b) => b[1] - a[1])[0];
    const topText = top ? ` (most dropped as ${top[0]}: ${top[1]})` : "";
    if (wellFormed >= this.minPackets && forwarded === 0) {
      reasons.push(
        `none of the ${wellFormed} valid datagrams received in the last ${seconds.toFixed(0)} s was forwarded${topText}`,
      );
    }
    if (returnedKnown >= this.minPackets && replied === 0) {
      reasons.push(
        `none of the ${returnedKnown} packets of known flows returned by the interfaces in the last ${seconds.toFixed(0)} s was sent back${topText}`,
      );
    }
    for (const c of checks) if (!c.ok) reasons.push(`${c.name}: ${c.detail ?? "failed"}`);

    const healthy = reasons.length === 0;
    return {
      healthy,
      state: !healthy ? "unhealthy" : forwarded > 0 || replied > 0 ? "forwarding" : "idle",
      reasons,
      window: { seconds, received, forwarded, returned, replied, dropped },
      checks,
      status,
    };
  }
}
