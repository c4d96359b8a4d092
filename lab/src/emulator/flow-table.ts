import type { FlowTuple } from "./hash";
import {
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "@tollgate/appliance";

/** Packet and byte counts of one direction. */
export interface Counts {
  packets: number;
  bytes: number;
}

export interface FlowEntry {
  readonly key: string;
  /** The tuple of the first packet seen (the flow's initiator is `src`). */
  readonly first: FlowTuple;
  /** GWLB flow cookie (GENEVE option type 3): random, unique among live flows, same both ways. */
  readonly cookie: number;
  target: string;
  /** Targets this flow was sent to, in order (more than one after a rebalance). */
  readonly targets: string[];
  readonly createdAt: number;
  lastSeen: number;
  /** Initiator -> responder and back, as seen from the endpoint side (before encapsulation). */
  readonly forward: Counts;
  readonly reverse: Counts;
  /** Decapsulated packets returned by targets for this flow. */
  readonly returned: Counts;
}

export interface FlowTableOptions {
  readonly now: () => number;
  /** Returns a random unsigned 32-bit integer. */
  readonly random32: () => number;
  /** Idle timeout of TCP flows. Defaults to 350 s (the GWLB default). */
  readonly tcpIdleMs?: number;
  /** Idle timeout of every other protocol. Defaults to 120 s. */
  readonly otherIdleMs?: number;
  /** Maximum live flows; the least recently used is evicted beyond it. Defaults to 65536. */
  readonly maxEntries?: number;
}

/** The emulator's flow table: stickiness, cookies, per-flow counters, idle expiry, LRU bound. */
export class FlowTable {
  private readonly flows = new Map<string, FlowEntry>();
  private readonly byCookieMap = new Map<number, FlowEntry>();
  private readonly tcpIdleMs: number;
  private readonly otherIdleMs: number;
  private readonly maxEntries: number;
  expired = 0;
  evicted = 0;

  constructor(private readonly options: FlowTableOptions) {
    this.tcpIdleMs = options.tcpIdleMs ?? GWLB_TCP_IDLE_TIMEOUT_SECONDS * 1000;
    this.otherIdleMs = options.otherIdleMs ?? GWLB_OTHER_IDLE_TIMEOUT_SECONDS * 1000;
    this.maxEntries = options.maxEntries ?? 65536;
  }

  get size(): number {
    return this.flows.size;
  }

  /** Live entry for a key (refreshing LRU order), or undefined (also when it has idled out). */
  get(key: string): FlowEntry | undefined {
    const e = this.flows.get(key);
    if (!e) return undefined;
    if (this.isIdle(e, this.options.now())) {
      this.remove(e);
      this.expired++;
      return undefined;
    }
    this.flows.delete(key);
    this.flows.set(key, e);
    return e;
  }

  byCookie(cookie: number): FlowEntry | undefined {
    return this.byCookieMap.get(cookie);
  }

  /** Creates an entry for a new flow on `target`. */
  create(key: string, first: FlowTuple, target: string): FlowEntry {
    const now = this.options.now();
    while (this.flows.size >= this.maxEntries) {
      const oldest = this.flows.values().next().value as FlowEntry | undefined;
      if (!oldest) break;
      this.remove(oldest);
      this.evicted++;
    }
    let cookie = this.options.random32() >>> 0;
    for (let i = 0; cookie === 0 || this.byCookieMap.has(cookie); i++) {
      if (i > 64) throw new Error("flow table: cannot find a free flow cookie");
      cookie = this.options.random32() >>> 0;
    }
    const e: FlowEntry = {
      key,
      first,
      cookie,
      target,
      targets: [target],
      createdAt: now,
      lastSeen: now,
      forward: { packets: 0, bytes: 0 },
      reverse: { packets: 0, bytes: 0 },
      returned: { packets: 0, bytes: 0 },
    };
    this.flows.set(key, e);
    this.byCookieMap.set(cookie, e);
    return e;
  }

  /** Removes flows idle past their timeout; returns how many. */
  expire(): number {
    const now = this.options.now();
    let n = 0;
    for (const e of [...this.flows.values()]) {
      if (this.isIdle(e, now)) {
        this.remove(e);
        n++;
      }
    }
    this.expired += n;
    return n;
  }

  entries(): FlowEntry[] {
    return [...this.flows.values()];
  }

  private isIdle(e: FlowEntry, now: number): boolean {
    return now - e.lastSeen > (e.first.protocol === 6 ? this.tcpIdleMs : this.otherIdleMs);
  }

  private remove(e: FlowEntry): void {
    this.flows.delete(e.key);
    this.byCookieMap.delete(e.cookie);
  }
}
