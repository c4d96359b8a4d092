/**
 * Bounded flow table with per-protocol idle timeouts and LRU eviction, in typed arrays.
 *
 * Every entry lives in a slot (0 .. capacity-1) of a preallocated slab of fixed-size records: its
 * key (FLOW_KEY_WORDS words), key hash, hash-chain link, LRU links, last use and timeout class.
 * What a table stores per flow besides the key lives in the owner's arrays indexed by the same
 * slot (FlowRecords, FragmentMap). No object is allocated per entry or per lookup, so the memory
 * is about {@link FLOW_TABLE_BYTES_PER_ENTRY} bytes per slot and the garbage collector never sees
 * the flows. The arrays are zero-filled on allocation and written in slot order, so the kernel
 * commits their pages as the table fills, not at start.
 *
 * Lookups hash the key (seeded per table) into a power-of-two array of chain heads. Each timeout
 * class (TCP, UDP, other) has a doubly linked list ordered by last use: a hit moves the entry to
 * its list's tail in O(1); expiry pops list heads until the first live entry; eviction (table
 * full, nothing expired) removes the least recently used entry across the three list heads. The
 * clock is injected.
 */
import { randomInt } from "node:crypto";
import { IPPROTO_TCP, IPPROTO_UDP } from "../packet/parse";
import { FLOW_KEY_WORDS, type FlowKey } from "./key";

/** Idle timeouts in seconds (settings `flows.idleTimeout.*`; GWLB: TCP 350, others 120). */
export interface FlowTimeouts {
  /** TCP: match the GWLB listener's tcpIdleTimeoutSeconds. */
  readonly tcp: number;
  readonly udp: number;
  /** ICMP and every other protocol. */
  readonly other: number;
}

export type FlowRemovalReason = "expired" | "evicted" | "deleted";

export interface FlowTableOptions {
  /** Most entries; the least recently used is evicted beyond it (`flows.maxEntries`). */
  readonly capacity: number;
  /** Idle timeouts in seconds per class (`flows.idleTimeout`). */
  readonly timeouts: FlowTimeouts;
  /** Milliseconds, monotonic. Defaults to `performance.now()`. */
  readonly clock?: () => number;
  /**
   * Called with the slot of every entry removed by expiry, eviction or delete (not by clear()),
   * while its key is still readable and before the slot is reused.
   */
  readonly onRemove?: (slot: number, reason: FlowRemovalReason) => void;
}

export interface FlowTableStats {
  hits: number;
  misses: number;
  inserts: number;
  expired: number;
  evicted: number;
}

/**
 * Bytes per slot of a FlowTable: key, hash, chain link, two LRU links, last use (float64),
 * class, and up to two chain heads (the head array is the next power of two >= capacity).
 */
export const FLOW_TABLE_BYTES_PER_ENTRY = FLOW_KEY_WORDS * 4 + 4 + 4 + 8 + 8 + 1 + 8;

/** Largest capacity: slot numbers and chain heads stay within int32, the slab within 1 GiB. */
export const FLOW_TABLE_MAX_CAPACITY = 1 << 24;

const CLASS_TCP = 0;
const CLASS_UDP = 1;
const CLASS_OTHER = 2;
const NONE = -1;

function classOf(proto: number): number {
  return proto === IPPROTO_TCP ? CLASS_TCP : proto === IPPROTO_UDP ? CLASS_UDP : CLASS_OTHER;
}

/** Validates flow-table timeouts; throws RangeError on nonsense. */
export function checkFlowTimeouts(t: FlowTimeouts): FlowTimeouts {
  const out = { ...t };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new RangeError(`flow idle timeout ${k} must be a positive number of seconds, got ${v}`);
    }
  }
  return out;
}

/** murmur3-style hash of the key at k[o .. o + FLOW_KEY_WORDS), seeded. */
function hashKey(k: Uint32Array, o: number, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    let x = Math.imul(k[o + i]!, 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    h ^= Math.imul(x, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class FlowTable {
  readonly capacity: number;
  readonly timeouts: FlowTimeouts;
  readonly stats: FlowTableStats = { hits: 0, misses: 0, inserts: 0, expired: 0, evicted: 0 };
  private readonly timeoutMs: Float64Array;
  private readonly clock: () => number;
  private readonly onRemove: ((slot: number, reason: FlowRemovalReason) => void) | undefined;
  private readonly seed: number;
  /** Keys, FLOW_KEY_WORDS words per slot. */
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  /** Chain heads by hash & mask: slot + 1, 0 = empty (so a fresh array needs no fill). */
  private readonly heads: Int32Array;
  private readonly mask: number;
  /** Next slot + 1 in the slot's hash chain (0 = end); for a free slot, the next free slot + 1. */
  private readonly chain: Int32Array;
  /** LRU links within the slot's class list (NONE at the ends); written when a slot is linked. */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly lastSeen: Float64Array;
  private readonly cls: Uint8Array;
  /** Per class: least and most recently used slot. */
  private readonly listHead = new Int32Array(3).fill(NONE);
  private readonly listTail = new Int32Array(3).fill(NONE);
  /** Slots below this have been used at least once; free slots below it are on the free list. */
  private highWater = 0;
  private freeList = 0;
  private count = 0;

  constructor(options: FlowTableOptions) {
    const cap = options.capacity;
    if (!Number.isInteger(cap) || cap < 1 || cap > FLOW_TABLE_MAX_CAPACITY) {
      throw new RangeError(
        `flow table capacity must be an integer from 1 to ${FLOW_TABLE_MAX_CAPACITY}, got ${cap}`,
      );
    }
    this.capacity = cap;
    this.timeouts = checkFlowTimeouts(options.timeouts);
    this.timeoutMs = Float64Array.of(
      this.timeouts.tcp * 1000,
      this.timeouts.udp * 1000,
      this.timeouts.other * 1000,
    );
    this.clock = options.clock ?? (() => performance.now());
    this.onRemove = options.onRemove;
    this.seed = randomInt(0x100000000);
    let buckets = 16;
    while (buckets < cap) buckets *= 2;
    this.mask = buckets - 1;
    this.heads = new Int32Array(buckets);
    this.keys = new Uint32Array(cap * FLOW_KEY_WORDS);
    this.hashes = new Uint32Array(cap);
    this.chain = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.lastSeen = new Float64Array(cap);
    this.cls = new Uint8Array(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Idle timeout in milliseconds for a protocol number. */
  timeoutFor(proto: number): number {
    return this.timeoutMs[classOf(proto)]!;
  }

  /**
   * Looks a flow up and marks it used: its slot, or -1. An entry idle for longer than its timeout
   * is removed and reported as a miss. Pass `now` to avoid a clock read per packet in a batch.
   */
  get(key: FlowKey, now: number = this.clock()): number {
    const s = this.find(key);
    if (s === NONE) {
      this.stats.misses++;
      return NONE;
    }
    if (this.expired(s, now)) {
      this.remove(s, "expired");
      this.stats.expired++;
      this.stats.misses++;
      return NONE;
    }
    this.stats.hits++;
    this.touch(s, now);
    return s;
  }

  /** Looks a flow up without marking it used or counting (expired entries are invisible). */
  peek(key: FlowKey, now: number = this.clock()): number {
    const s = this.find(key);
    return s === NONE || this.expired(s, now) ? NONE : s;
  }

  has(key: FlowKey, now: number = this.clock()): boolean {
    return this.peek(key, now) !== NONE;
  }

  /**
   * Inserts or refreshes a flow and returns its slot (the caller then writes its values there).
   * `proto` (IP protocol number) picks the idle timeout. When the table is full, expired flows
   * are removed first, then the least recently used flow is evicted.
   */
  set(key: FlowKey, proto: number, now: number = this.clock()): number {
    const c = classOf(proto);
    const h = hashKey(key, 0, this.seed);
    const found = this.find(key, h);
    if (found !== NONE) {
      if (this.cls[found] !== c) {
        this.unlinkList(found);
        this.cls[found] = c;
        this.lastSeen[found] = now;
        this.append(found);
      } else {
        this.touch(found, now);
      }
      return found;
    }
    if (this.count >= this.capacity) {
      // Prefer dropping something already dead over evicting a live flow.
      this.sweep(now);
      if (this.count >= this.capacity) this.evictOne();
    }
    const s = this.allocate();
    this.keys.set(key, s * FLOW_KEY_WORDS);
    this.hashes[s] = h;
    const b = h & this.mask;
    this.chain[s] = this.heads[b]!;
    this.heads[b] = s + 1;
    this.cls[s] = c;
    this.lastSeen[s] = now;
    this.append(s);
    this.count++;
    this.stats.inserts++;
    return s;
  }

  delete(key: FlowKey): boolean {
    const s = this.find(key);
    if (s === NONE) return false;
    this.remove(s, "deleted");
    return true;
  }

  /** Removes every expired entry; returns how many. Call it periodically (e.g. every second). */
  sweep(now: number = this.clock()): number {
    let n = 0;
    for (let c = 0; c < 3; c++) {
      const ttl = this.timeoutMs[c]!;
      for (let s = this.listHead[c]!; s !== NONE && now - this.lastSeen[s]! >= ttl;) {
        const after = this.next[s]!;
        this.remove(s, "expired");
        n++;
        s = after;
      }
    }
    this.stats.expired += n;
    return n;
  }

  /** Empties the table (onRemove is not called). */
  clear(): void {
    this.heads.fill(0);
    this.listHead.fill(NONE);
    this.listTail.fill(NONE);
    this.highWater = 0;
    this.freeList = 0;
    this.count = 0;
  }

  /** Live slots, least recently used first within each protocol class. */
  *slots(): IterableIterator<number> {
    for (let c = 0; c < 3; c++) {
      for (let s = this.listHead[c]!; s !== NONE; s = this.next[s]!) yield s;
    }
  }

  /** Copies the key of a live slot into out (at word offset `at`). */
  copyKey(slot: number, out: Uint32Array, at = 0): void {
    const o = slot * FLOW_KEY_WORDS;
    out.set(this.keys.subarray(o, o + FLOW_KEY_WORDS), at);
  }

  /** The key of a live slot, as a new array (logs, tests). */
  keyOf(slot: number): FlowKey {
    const o = slot * FLOW_KEY_WORDS;
    return this.keys.slice(o, o + FLOW_KEY_WORDS);
  }

  private find(key: FlowKey, h = hashKey(key, 0, this.seed)): number {
    const keys = this.keys;
    for (let s = this.heads[h & this.mask]! - 1; s !== NONE; s = this.chain[s]! - 1) {
      if (this.hashes[s] !== h) continue;
      const o = s * FLOW_KEY_WORDS;
      let i = 0;
      while (i < FLOW_KEY_WORDS && keys[o + i] === key[i]) i++;
      if (i === FLOW_KEY_WORDS) return s;
    }
    return NONE;
  }

  private expired(s: number, now: number): boolean {
    return now - this.lastSeen[s]! >= this.timeoutMs[this.cls[s]!]!;
  }

  private allocate(): number {
    if (this.freeList !== 0) {
      const s = this.freeList - 1;
      this.freeList = this.chain[s]!;
      return s;
    }
    return this.highWater++;
  }

  private touch(s: number, now: number): void {
    if (now > this.lastSeen[s]!) this.lastSeen[s] = now;
    if (this.listTail[this.cls[s]!] !== s) {
      this.unlinkList(s);
      this.append(s);
    }
  }

  private append(s: number): void {
    const c = this.cls[s]!;
    const tail = this.listTail[c]!;
    this.prev[s] = tail;
    this.next[s] = NONE;
    if (tail !== NONE) this.next[tail] = s;
    else this.listHead[c] = s;
    this.listTail[c] = s;
  }

  private unlinkList(s: number): void {
    const c = this.cls[s]!;
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p !== NONE) this.next[p] = n;
    else this.listHead[c] = n;
    if (n !== NONE) this.prev[n] = p;
    else this.listTail[c] = p;
  }

  private unlinkChain(s: number): void {
    const b = this.hashes[s]! & this.mask;
    let at = this.heads[b]! - 1;
    if (at === s) {
      this.heads[b] = this.chain[s]!;
      return;
    }
    while (at !== NONE) {
      const n = this.chain[at]! - 1;
      if (n === s) {
        this.chain[at] = this.chain[s]!;
        return;
      }
      at = n;
    }
  }

  private evictOne(): void {
    let victim = NONE;
    for (let c = 0; c < 3; c++) {
      const h = this.listHead[c]!;
      if (h !== NONE && (victim === NONE || this.lastSeen[h]! < this.lastSeen[victim]!)) victim = h;
    }
    if (victim === NONE) return;
    this.remove(victim, "evicted");
    this.stats.evicted++;
  }

  private remove(s: number, reason: FlowRemovalReason): void {
    this.onRemove?.(s, reason);
    this.unlinkChain(s);
    this.unlinkList(s);
    this.chain[s] = this.freeList;
    this.freeList = s + 1;
    this.count--;
  }
}
