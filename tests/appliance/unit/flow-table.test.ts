/**
 * The compact flow table (FlowTable) and what the data path keeps in its slots (FlowRecords,
 * FragmentMap): idle timeouts, LRU eviction, counters, and property tests against a plain
 * reference model.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  createFlowKey,
  FLOW_HEADER_INLINE,
  type FlowKey,
  FlowRecords,
  type FlowRemovalReason,
  FlowTable,
  FragmentMap,
} from "@tollgate/appliance";
import { testDaemonSettings } from "../helpers/settings";

/** A key whose words are n (and n's protocol, irrelevant to the table). */
function k(n: number): FlowKey {
  const key = createFlowKey();
  key[1] = n;
  key[9] = n * 7;
  return key;
}

function clocked(opts: { max?: number; tcp?: number; udp?: number; other?: number } = {}) {
  let now = 0;
  const removed: [number, FlowRemovalReason][] = [];
  const table: FlowTable = new FlowTable({
    capacity: opts.max ?? 100,
    timeouts: { tcp: opts.tcp ?? 350, udp: opts.udp ?? 120, other: opts.other ?? 120 },
    clock: () => now,
    onRemove: (slot, r) => removed.push([table.keyOf(slot)[1]!, r]),
  });
  const live = () => [...table.slots()].map((s) => table.keyOf(s)[1]!).sort((a, b) => a - b);
  return { table, removed, live, advance: (s: number) => (now += s * 1000) };
}

describe("FlowTable", () => {
  it("gets GWLB's idle timeouts and its bound from the resolved config", () => {
    const { maxFlows, flowTimeouts } = testDaemonSettings().datapath;
    assert.equal(maxFlows, 1_000_000);
    const c = new FlowTable({ capacity: 16, timeouts: flowTimeouts });
    assert.deepEqual(c.timeouts, { tcp: 350, udp: 120, other: 120 });
    assert.equal(c.timeoutFor(6), 350_000);
    assert.equal(c.timeoutFor(17), 120_000);
    assert.equal(c.timeoutFor(1), 120_000);
  });

  it("expires TCP after 350 s idle and UDP/other after 120 s", () => {
    const { table, advance } = clocked();
    const t = table.set(k(1), 6);
    const u = table.set(k(2), 17);
    const i = table.set(k(3), 1);
    advance(119.9);
    assert.equal(table.get(k(2)), u);
    assert.equal(table.get(k(3)), i);
    advance(119.9); // 2 and 3 were touched at 119.9 -> still alive at 239.8
    assert.equal(table.get(k(2)), u);
    advance(120);
    assert.equal(table.get(k(2)), -1);
    assert.equal(table.peek(k(3)), -1);
    assert.equal(table.get(k(1)), -1, "TCP idle for 359.8 s");
    assert.ok(t >= 0);
    assert.equal(table.stats.expired, 2);
  });

  it("keeps a TCP flow alive while it is used", () => {
    const { table, advance } = clocked();
    const s = table.set(k(1), 6);
    for (let i = 0; i < 10; i++) {
      advance(300);
      assert.equal(table.get(k(1)), s);
    }
    assert.equal(table.stats.hits, 10);
  });

  it("sweep removes only expired entries and reports them", () => {
    const { table, removed, advance } = clocked({ udp: 10, tcp: 20 });
    table.set(k(1), 17);
    table.set(k(2), 6);
    advance(5);
    table.set(k(3), 17);
    advance(5);
    assert.equal(table.sweep(), 1);
    assert.deepEqual(removed, [[1, "expired"]]);
    advance(10);
    assert.equal(table.sweep(), 2);
    assert.equal(table.size, 0);
  });

  it("evicts the least recently used flow when full, across protocols, and reuses its slot", () => {
    const { table, removed, live, advance } = clocked({ max: 3 });
    table.set(k(1), 6);
    advance(1);
    const b = table.set(k(2), 17);
    advance(1);
    table.set(k(3), 1);
    advance(1);
    table.get(k(1)); // 1 is now the most recent
    assert.equal(table.set(k(4), 17), b, "the evicted flow's slot");
    assert.deepEqual(removed, [[2, "evicted"]]);
    assert.deepEqual(live(), [1, 3, 4]);
    assert.equal(table.stats.evicted, 1);
    assert.equal(table.size, 3);
    assert.equal(table.get(k(2)), -1);
  });

  it("prefers dropping expired flows over evicting live ones", () => {
    const { table, removed, advance } = clocked({ max: 2, udp: 10 });
    table.set(k(1), 17);
    table.set(k(2), 6);
    advance(11);
    table.set(k(3), 17);
    assert.deepEqual(removed, [[1, "expired"]]);
    assert.equal(table.stats.evicted, 0);
  });

  it("counts hits, misses and inserts; a set of a known key keeps its slot", () => {
    const { table } = clocked();
    assert.equal(table.get(k(9)), -1);
    const s = table.set(k(9), 17);
    assert.equal(table.set(k(9), 17), s);
    assert.equal(table.get(k(9)), s);
    assert.deepEqual(
      { ...table.stats },
      { hits: 1, misses: 1, inserts: 1, expired: 0, evicted: 0 },
    );
    assert.ok(table.delete(k(9)));
    assert.ok(!table.delete(k(9)));
    assert.deepEqual(table.keyOf(s), k(9), "the key stays readable until the slot is reused");
  });

  it("moves an entry between timeout classes when its protocol changes", () => {
    const { table, advance } = clocked({ udp: 10, tcp: 100 });
    const s = table.set(k(1), 17);
    table.set(k(1), 6);
    advance(50);
    assert.equal(table.get(k(1)), s);
  });

  it("tells keys apart in every word, also when their hashes share a chain", () => {
    const { table } = clocked({ max: 1000 });
    const keys: FlowKey[] = [];
    for (let w = 0; w < 10; w++) {
      for (const v of [1, 0x80000000, 0xffffffff]) {
        const key = createFlowKey();
        key[w] = v;
        keys.push(key);
      }
    }
    const slots = keys.map((key) => table.set(key, 17));
    assert.equal(new Set(slots).size, keys.length);
    keys.forEach((key, i) => assert.equal(table.peek(key), slots[i]));
    // 30 keys in 16 chain heads at least: some chains hold several; delete from their middle.
    for (let i = 0; i < keys.length; i += 2) assert.ok(table.delete(keys[i]!));
    keys.forEach((key, i) => assert.equal(table.has(key), i % 2 === 1));
  });

  it("clear() empties the table and starts over", () => {
    const { table } = clocked({ max: 2 });
    table.set(k(1), 17);
    table.set(k(2), 17);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(k(1)), -1);
    table.set(k(3), 17);
    table.set(k(4), 17);
    assert.equal(table.stats.evicted, 0);
  });

  it("rejects nonsense options", () => {
    const timeouts = { tcp: 350, udp: 120, other: 120 };
    assert.throws(() => new FlowTable({ capacity: 0, timeouts }), RangeError);
    assert.throws(() => new FlowTable({ capacity: 2 ** 30, timeouts }), /capacity/);
    assert.throws(
      () => new FlowTable({ capacity: 1, timeouts: { ...timeouts, tcp: -1 } }),
      /flow idle timeout tcp/,
    );
  });

  /**
   * The reference: an array of entries, each with its key number, class, last use and a touch
   * sequence number; expiry, LRU order and eviction spelled out by linear scans.
   */
  class Model {
    entries: { key: number; cls: number; last: number; seq: number }[] = [];
    stats = { hits: 0, misses: 0, inserts: 0, expired: 0, evicted: 0 };
    private seq = 0;
    constructor(
      readonly max: number,
      readonly ttl: readonly number[],
    ) {}
    static cls(proto: number): number {
      return proto === 6 ? 0 : proto === 17 ? 1 : 2;
    }
    private dead(e: { cls: number; last: number }, now: number): boolean {
      return now - e.last >= this.ttl[e.cls]!;
    }
    private drop(key: number): void {
      this.entries = this.entries.filter((e) => e.key !== key);
    }
    get(key: number, now: number): boolean {
      const e = this.entries.find((x) => x.key === key);
      if (e === undefined) {
        this.stats.misses++;
        return false;
      }
      if (this.dead(e, now)) {
        this.drop(key);
        this.stats.expired++;
        this.stats.misses++;
        return false;
      }
      this.stats.hits++;
      e.last = now;
      e.seq = ++this.seq;
      return true;
    }
    peek(key: number, now: number): boolean {
      const e = this.entries.find((x) => x.key === key);
      return e !== undefined && !this.dead(e, now);
    }
    sweep(now: number): number {
      const before = this.entries.length;
      this.entries = this.entries.filter((e) => !this.dead(e, now));
      const n = before - this.entries.length;
      this.stats.expired += n;
      return n;
    }
    set(key: number, proto: number, now: number): void {
      const e = this.entries.find((x) => x.key === key);
      if (e !== undefined) {
        e.cls = Model.cls(proto);
        e.last = now;
        e.seq = ++this.seq;
        return;
      }
      if (this.entries.length >= this.max) {
        this.sweep(now);
        if (this.entries.length >= this.max) {
          // Least recently used of each class (lowest touch sequence), then the oldest of those
          // (TCP, UDP, other on ties).
          let victim: (typeof this.entries)[number] | undefined;
          for (let c = 0; c < 3; c++) {
            const inClass = this.entries.filter((x) => x.cls === c);
            if (inClass.length === 0) continue;
            const head = inClass.reduce((a, b) => (a.seq < b.seq ? a : b));
            if (victim === undefined || head.last < victim.last) victim = head;
          }
          this.drop(victim!.key);
          this.stats.evicted++;
        }
      }
      this.entries.push({ key, cls: Model.cls(proto), last: now, seq: ++this.seq });
      this.stats.inserts++;
    }
    delete(key: number): boolean {
      const had = this.entries.some((e) => e.key === key);
      this.drop(key);
      return had;
    }
  }

  it("property: agrees with the reference model on every answer, the live keys and the counters", () => {
    const op = fc.oneof(
      fc.tuple(fc.constant("set" as const), fc.nat(11), fc.constantFrom(6, 17, 1)),
      fc.tuple(fc.constantFrom("get" as const, "peek" as const, "delete" as const), fc.nat(11)),
      fc.tuple(fc.constant("tick" as const), fc.integer({ min: 0, max: 12 })),
      fc.tuple(fc.constant("sweep" as const)),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 300 }), (max, ops) => {
        const { table, live, advance } = clocked({ max, tcp: 30, udp: 10, other: 15 });
        const model = new Model(max, [30_000, 10_000, 15_000]);
        let now = 0;
        const slotOf = new Map<number, number>();
        for (const o of ops) {
          switch (o[0]) {
            case "tick":
              now = advance(o[1]);
              break;
            case "sweep":
              assert.equal(table.sweep(), model.sweep(now));
              break;
            case "set": {
              model.set(o[1], o[2], now);
              const s = table.set(k(o[1]), o[2]);
              assert.deepEqual(table.keyOf(s), k(o[1]));
              slotOf.set(o[1], s);
              break;
            }
            case "get": {
              const s = table.get(k(o[1]));
              assert.equal(s >= 0, model.get(o[1], now), `get ${o[1]}`);
              if (s >= 0) assert.equal(s, slotOf.get(o[1]), "a flow keeps its slot");
              break;
            }
            case "peek":
              assert.equal(table.peek(k(o[1])) >= 0, model.peek(o[1], now), `peek ${o[1]}`);
              break;
            case "delete":
              assert.equal(table.delete(k(o[1])), model.delete(o[1]));
              break;
          }
          assert.equal(table.size, model.entries.length);
          assert.ok(table.size <= max);
          assert.deepEqual(
            live(),
            model.entries.map((e) => e.key).sort((a, b) => a - b),
          );
          assert.deepEqual({ ...table.stats }, model.stats);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("FlowRecords and FragmentMap", () => {
  const timeouts = { tcp: 350, udp: 120, other: 120 };

  function header(n: number, len: number): Buffer {
    return Buffer.from(Array.from({ length: len }, (_, i) => (n * 31 + i) & 0xff));
  }

  it("keeps each flow's header, GWLB address and port, local address and endpoint", () => {
    const r = new FlowRecords({ capacity: 8, timeouts, clock: () => 0 });
    const buf = Buffer.concat([Buffer.alloc(10), header(1, 40)]);
    const s = r.remember(k(1), 17, 5, buf, 10, 40, 0x0a000001, 40000, 0x0a000002, 0);
    assert.equal(r.lookup(k(1), 5, 0), s);
    assert.equal(r.lookup(k(1), 6, 0), -1, "another endpoint's flow");
    assert.deepEqual(
      [r.gwlbAddress[s], r.gwlbPort[s], r.localAddress[s], r.headerLengthOf(s)],
      [0x0a000001, 40000, 0x0a000002, 40],
    );
    const out = Buffer.alloc(60);
    assert.equal(r.copyHeader(s, out, 20), 40);
    assert.deepEqual(out.subarray(20), header(1, 40));
  });

  it("property: returns the newest header of every live flow byte for byte, short or long", () => {
    const len = fc.integer({ min: 8, max: 260 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(7), fc.nat(255), len, fc.nat(3)), { maxLength: 60 }),
        (ops) => {
          const r = new FlowRecords({ capacity: 4, timeouts, clock: () => 0 });
          const model = new Map<number, { h: Buffer; ep: number }>();
          for (const [n, seed, l, ep] of ops) {
            const h = header(seed, l);
            const s = r.remember(k(n), 17, ep, h, 0, l, n, n, n, 0);
            model.set(n, { h, ep });
            // Keep the model to the table's live flows (evictions).
            for (const key of [...model.keys()]) if (!r.table.has(k(key), 0)) model.delete(key);
            assert.ok(model.has(n) && r.size === model.size && s >= 0);
          }
          for (const [n, { h, ep }] of model) {
            const s = r.lookup(k(n), ep, 0);
            assert.ok(s >= 0);
            const out = Buffer.alloc(h.length);
            assert.equal(r.copyHeader(s, out, 0), h.length);
            assert.deepEqual(
              out,
              h,
              `flow ${n} (${h.length} bytes, inline up to ${FLOW_HEADER_INLINE})`,
            );
          }
        },
      ),
    );
  });

  it("maps a fragmented datagram to its flow's key, for as long as the mapping lives", () => {
    let now = 0;
    const flows = new FlowRecords({ capacity: 4, timeouts, clock: () => now });
    const frags = new FragmentMap({
      capacity: 2,
      timeouts: { tcp: 10, udp: 10, other: 10 },
      clock: () => now,
    });
    const s = flows.remember(k(1), 17, 1, header(1, 40), 0, 40, 1, 1, 1, now);
    frags.map(k(100), 17, flows, s, now);
    const out = createFlowKey();
    assert.ok(frags.flowOf(k(100), out, now));
    assert.deepEqual(out, k(1));
    assert.ok(!frags.flowOf(k(101), out, now));
    now = 10_000;
    assert.ok(!frags.flowOf(k(100), out, now, true), "expired");
    assert.equal(frags.sweep(now), 1);
  });
});
