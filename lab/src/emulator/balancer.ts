import { FlowTable, type FlowEntry } from "./flow-table";
import { flowKey, pickTarget, type FlowTuple, type HashMode } from "./hash";
import type { HealthState } from "./health";

/**
 * What happens to existing flows when their target becomes unhealthy: AWS target group
 * attribute `target_failover.on_unhealthy` (and `on_deregistration`, which must match).
 * `rebalance` rehashes them over the healthy targets; `no_rebalance` keeps sending them to
 * the failed target until they end.
 */
export type FailoverMode = "rebalance" | "no_rebalance";

export function parseFailoverMode(v: string): FailoverMode {
  if (v === "rebalance" || v === "no_rebalance") return v;
  throw new Error(
    `invalid target failover "${v}": use rebalance or no_rebalance (AWS snake_case values)`,
  );
}

export interface BalancerOptions {
  readonly targets: readonly string[];
  readonly hashMode: HashMode;
  readonly failover: FailoverMode;
  readonly flows: FlowTable;
}

export type RouteResult =
  | {
      readonly ok: true;
      readonly flow: FlowEntry;
      readonly created: boolean;
      readonly initiator: boolean;
    }
  | { readonly ok: false; readonly reason: "NO_TARGETS" };

export interface Rebalance {
  readonly target: string;
  readonly moved: number;
  /** Where each moved flow went. */
  readonly to: Record<string, number>;
}

/** Target selection of the emulated GWLB: sticky flows, hash over healthy targets, failover. */
export class Balancer {
  private readonly states = new Map<string, HealthState>();
  movedTotal = 0;

  constructor(private readonly options: BalancerOptions) {
    if (options.targets.length === 0) throw new Error("balancer needs at least one target");
    if (new Set(options.targets).size !== options.targets.length)
      throw new Error("duplicate target names");
    for (const t of options.targets) this.states.set(t, "initial");
  }

  get flows(): FlowTable {
    return this.options.flows;
  }

  state(target: string): HealthState | undefined {
    return this.states.get(target);
  }

  healthyTargets(): string[] {
    return this.options.targets.filter((t) => this.states.get(t) === "healthy");
  }

  /**
   * Targets new flows may go to: the healthy ones; when none is healthy, every target
   * (a target group fails open when all its targets are unhealthy).
   */
  eligibleTargets(): string[] {
    const healthy = this.healthyTargets();
    return healthy.length > 0 ? healthy : [...this.options.targets];
  }

  /** The flow a packet belongs to (creating it on the hashed target if new), and counts the packet. */
  route(tuple: FlowTuple, bytes: number, now: number): RouteResult {
    const key = flowKey(tuple, this.options.hashMode);
    let flow = this.options.flows.get(key);
    let created = false;
    if (!flow) {
      const target = pickTarget(key, this.eligibleTargets());
      if (target === undefined) return { ok: false, reason: "NO_TARGETS" };
      flow = this.options.flows.create(key, tuple, target);
      created = true;
    }
    const initiator = tuple.src === flow.first.src;
    const c = initiator ? flow.forward : flow.reverse;
    c.packets++;
    c.bytes += bytes;
    flow.lastSeen = now;
    return { ok: true, flow, created, initiator };
  }

  /** Applies a health transition; with `rebalance`, moves the failed target's flows now. */
  setState(target: string, state: HealthState): Rebalance | undefined {
    if (!this.states.has(target)) throw new Error(`unknown target ${target}`);
    this.states.set(target, state);
    if (state !== "unhealthy" || this.options.failover !== "rebalance") return undefined;
    const healthy = this.healthyTargets();
    if (healthy.length === 0) return { target, moved: 0, to: {} };
    const to: Record<string, number> = {};
    let moved = 0;
    for (const flow of this.options.flows.entries()) {
      if (flow.target !== target) continue;
      const next = pickTarget(flow.key, healthy);
      if (next === undefined) continue;
      flow.target = next;
      flow.targets.push(next);
      to[next] = (to[next] ?? 0) + 1;
      moved++;
    }
    this.movedTotal += moved;
    return { target, moved, to };
  }
}
