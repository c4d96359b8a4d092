/**
 * Bounded flow table with per-protocol idle timeouts and LRU eviction.
 *
 * Entries sit in one Map (key -> entry) and in one doubly linked list per timeout class (TCP, UDP,
 * other), each ordered by last use. A hit moves the entry to its list's tail in O(1) without
 * touching the Map; expiry pops list heads until the first live entry; eviction (table full)
 * removes the least recently used entry across the three list heads. The clock is injected.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from "../packet/parse";

/** Idle timeouts in seconds (settings `flows.idleTimeout.*`; GWLB: TCP 350, others 120). */
export interface FlowTimeouts {
  /** TCP: match the GWLB listener's tcpIdleTimeoutSeconds. */
  readonly tcp: number;
  readonly udp: number;
  /** ICMP and every other protocol. */
  readonly other: number;
}

export type FlowRemovalReason = "expired" | "evicted" | "deleted";

export interface FlowCacheOptions<V> {
  /** Most entries; the least recently used is evicted beyond it (`flows.maxEntries`). */
  readonly maxEntries: number;
  /** Idle timeouts in seconds per class (`flows.idleTimeout`). */
  readonly timeouts: FlowTimeouts;
  /** Milliseconds, monotonic. Defaults to `performance.now()`. */
  readonly clock?: () => number;
  /** Called for every entry removed by expiry, eviction or delete (not by clear()). */
  readonly onRemove?: (key: string, value: V, reason: FlowRemovalReason) => void;
}

export interface FlowCacheStats {
  hits: number;
  misses: number;
  inserts: number;
  expired: number;
  evicted: number;
}

const CLASS_TCP = 0;
const CLASS_UDP = 1;
const CLASS_OTHER = 2;

class Entry<V> {
  prev: Entry<V> | undefined = undefined;
  next: Entry<V> | undefined = undefined;
  constructor(
    readonly key: string,
    public value: V,
    public lastSeen: number,
    public cls: number,
  ) {}
}

class List<V> {
  head: Entry<V> | undefined = undefined;
  tail: Entry<V> | undefined = undefined;

  append(e: Entry<V>): void {
    e.prev = this.tail;
    e.next = undefined;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  unlink(e: Entry<V>): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = undefined;
  }
}

function classOf(proto: number): number {
  return proto === IPPROTO_TCP ? CLASS_TCP : proto === IPPROTO_UDP ? CLASS_UDP : CLASS_OTHER;
}

/** Validates flow-cache timeouts; throws RangeError on nonsense. */
export function checkFlowTimeouts(t: FlowTimeouts): FlowTimeouts {
  const out = { ...t };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new RangeError(`flow idle timeout ${k} must be a positive number of seconds, got ${v}`);
    }
  }
  return out;
}

export class FlowCache<V> {
  readonly maxEntries: number;
  readonly timeouts: FlowTimeouts;
  readonly stats: FlowCacheStats = { hits: 0, misses: 0, inserts: 0, expired: 0, evicted: 0 };
  private readonly map = new Map<string, Entry<V>>();
  private readonly lists: [List<V>, List<V>, List<V>] = [new List(), new List(), new List()];
  private readonly timeoutMs: [number, number, number];
  private readonly clock: () => number;
  private readonly onRemove:
    ((key: string, value: V, reason: FlowRemovalReason) => void) | undefined;

  constructor(options: FlowCacheOptions<V>) {
    const max = options.maxEntries;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`flow cache maxEntries must be a positive integer, got ${max}`);
    }
    this.maxEntries = max;
    this.timeouts = checkFlowTimeouts(options.timeouts);
    this.timeoutMs = [
      this.timeouts.tcp * 1000,
      this.timeouts.udp * 1000,
      this.timeouts.other * 1000,
    ];
    this.clock = options.clock ?? (() => performance.now());
    this.onRemove = options.onRemove;
  }

  get size(): number {
    return this.map.size;
  }

  /** Idle timeout in milliseconds for a protocol number. */
  timeoutFor(proto: number): number {
    return this.timeoutMs[classOf(proto)]!;
  }

  /**
   * Looks a flow up and marks it used. An entry idle for longer than its timeout is removed and
   * reported as a miss. Pass `now` to avoid a clock read per packet in a batch.
   */
  get(key: string, now: number = this.clock()): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) {
      this.stats.misses++;
      return undefined;
    }
    if (now - e.lastSeen >= this.timeoutMs[e.cls]!) {
      this.remove(e, "expired");
      this.stats.expired++;
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.touch(e, now);
    return e.value;
  }

  /** Looks a flow up without marking it used or counting (expired entries are invisible). */
  peek(key: string, now: number = this.clock()): V | undefined {
    const e = this.map.get(key);
    if (e === undefined || now - e.lastSeen >= this.timeoutMs[e.cls]!) return undefined;
    return e.value;
  }

  has(key: string, now: number = this.clock()): boolean {
    return this.peek(key, now) !== undefined;
  }

  /**
   * Inserts or refreshes a flow. `proto` (IP protocol number) picks the idle timeout. When the
   * table is full, the least recently used flow is evicted first.
   */
  set(key: string, value: V, proto: number, now: number = this.clock()): void {
    const cls = classOf(proto);
    const e = this.map.get(key);
    if (e !== undefined) {
      e.value = value;
      if (e.cls !== cls) {
        this.lists[e.cls]!.unlink(e);
        e.cls = cls;
        e.lastSeen = now;
        this.lists[cls]!.append(e);
      } else {
        this.touch(e, now);
      }
      return;
    }
    if (this.map.size >= this.maxEntries) {
      // Prefer dropping something already dead over evicting a live flow.
      this.sweep(now);
      if (this.map.size >= this.maxEntries) this.evictOne();
    }
    const n = new Entry(key, value, now, cls);
    this.map.set(key, n);
    this.lists[cls]!.append(n);
    this.stats.inserts++;
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    this.remove(e, "deleted");
    return true;
  }

  /** Removes every expired entry; returns how many. Call it periodically (e.g. every second). */
  sweep(now: number = this.clock()): number {
    let n = 0;
    for (let c = 0; c < 3; c++) {
      const list = this.lists[c]!;
      const ttl = this.timeoutMs[c]!;
      while (list.head !== undefined && now - list.head.lastSeen >= ttl) {
        this.remove(list.head, "expired");
        n++;
      }
    }
    this.stats.expired += n;
    return n;
  }

  clear(): void {
    this.map.clear();
    for (const l of this.lists) l.head = l.tail = undefined;
  }

  /** Live entries, least recently used first within each protocol class. */
  *entries(): IterableIterator<[string, V]> {
    for (const l of this.lists) {
      for (let e = l.head; e !== undefined; e = e.next) yield [e.key, e.value];
    }
  }

  private touch(e: Entry<V>, now: number): void {
    if (now > e.lastSeen) e.lastSeen = now;
    const list = this.lists[e.cls]!;
    if (list.tail !== e) {
      list.unlink(e);
      list.append(e);
    }
  }

  private evictOne(): void {
    let victim: Entry<V> | undefined;
    for (const l of this.lists) {
      if (l.head !== undefined && (victim === undefined || l.head.lastSeen < victim.lastSeen)) {
        victim = l.head;
      }
    }
    if (victim === undefined) return;
    this.remove(victim, "evicted");
    this.stats.evicted++;
  }

  private remove(e: Entry<V>, reason: FlowRemovalReason): void {
    this.map.delete(e.key);
    this.lists[e.cls]!.unlink(e);
    this.onRemove?.(e.key, e.value, reason);
  }
}
