import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  buildIpPacket,
  buildUdpPacket,
  createPacketScratch,
  describeFlowKey,
  FlowCache,
  flowKey,
  flowKeyFromScratch,
  flowKeyProtocol,
  fragmentKeyFromScratch,
  type IpSpec,
  ipv4HeaderChecksum,
  locatePacket,
} from "@tollgate/appliance";
import { buildIcmpEchoPacket, buildTcpPacket } from "@tollgate/testbed";
import { testDaemonSettings } from "../helpers/settings";

type Kind = "tcp" | "udp" | "icmp" | "gre";

function pkt(
  kind: Kind,
  src: string,
  dst: string,
  sp: number,
  dp: number,
  extra: Partial<IpSpec> = {},
): Buffer {
  const base = { src, dst, ...extra };
  switch (kind) {
    case "tcp":
      return buildTcpPacket({ ...base, srcPort: sp, dstPort: dp });
    case "udp":
      return buildUdpPacket({ ...base, srcPort: sp, dstPort: dp });
    case "icmp":
      return buildIcmpEchoPacket({ ...base, identifier: sp, sequence: dp });
    case "gre":
      return buildIpPacket(base, 47, Buffer.alloc(8));
  }
}

function key(b: Buffer, tag = 0): string {
  const k = flowKey(b, 0, b.length, tag);
  assert.ok(k !== undefined);
  return k;
}

describe("flow keys", () => {
  const families = [
    ["10.100.0.1", "10.200.0.1"],
    ["fd00:100::1", "fd00:200::1"],
  ] as const;
  for (const kind of ["tcp", "udp", "icmp", "gre"] as const) {
    for (const [a, b] of families) {
      it(`${kind} over ${a.includes(":") ? "IPv6" : "IPv4"}: same key both ways, distinct flows differ`, () => {
        const fwd = key(pkt(kind, a, b, 1024, 80));
        assert.equal(key(pkt(kind, b, a, 80, 1024)), fwd);
        assert.notEqual(key(pkt(kind, a, b, 1024, 80), 7), fwd, "tag separates keys");
        if (kind === "tcp" || kind === "udp") {
          assert.notEqual(key(pkt(kind, a, b, 1025, 80)), fwd, "ports are part of the key");
          assert.notEqual(
            key(pkt(kind, b, a, 1024, 80)),
            fwd,
            "swapped ports alone are another flow",
          );
        } else {
          // Non-TCP/UDP: addresses and protocol only (an ICMP id/seq change is the same flow).
          assert.equal(key(pkt(kind, b, a, 9, 9)), fwd);
        }
        assert.notEqual(
          key(pkt(kind, a, a.includes(":") ? "fd00:200::2" : "10.200.0.2", 1024, 80)),
          fwd,
        );
        const proto = { tcp: 6, udp: 17, icmp: a.includes(":") ? 58 : 1, gre: 47 }[kind];
        assert.equal(flowKeyProtocol(fwd), proto);
        assert.match(describeFlowKey(fwd), new RegExp(`^proto ${proto} `));
      });
    }
  }

  it("TCP and UDP with the same tuple are different flows", () => {
    assert.notEqual(
      key(pkt("tcp", "1.1.1.1", "2.2.2.2", 1, 2)),
      key(pkt("udp", "1.1.1.1", "2.2.2.2", 1, 2)),
    );
  });

  it("keys IPv6 TCP behind extension headers like plain TCP", () => {
    const plain = key(pkt("tcp", "fd00::1", "fd00::2", 5, 6));
    const ext = key(
      pkt("tcp", "fd00::2", "fd00::1", 6, 5, { extensionHeaders: [{ type: 0 }, { type: 60 }] }),
    );
    assert.equal(ext, plain);
  });

  it("keys IPv4 with options like without", () => {
    const plain = key(pkt("udp", "1.1.1.1", "2.2.2.2", 5, 6));
    assert.equal(
      key(pkt("udp", "2.2.2.2", "1.1.1.1", 6, 5, { ipv4Options: Buffer.alloc(12, 1) })),
      plain,
    );
  });

  it("ties the fragments of one datagram together by identification (IPv4 and IPv6)", () => {
    const s = createPacketScratch();
    const keys = (b: Buffer) => {
      assert.equal(locatePacket(b, 0, b.length, s), undefined);
      return {
        flow: flowKeyFromScratch(b, s),
        frag: fragmentKeyFromScratch(b, s),
        ports: s.hasPorts,
      };
    };
    const v4 = (offsetWords: number, more: boolean, id: number) => {
      const b = buildUdpPacket({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        srcPort: 5000,
        dstPort: 53,
        id,
        dontFragment: false,
        payload: Buffer.alloc(16),
      });
      b.writeUInt16BE((more ? 0x2000 : 0) | offsetWords, 6);
      b.writeUInt16BE(ipv4HeaderChecksum(b), 10);
      return b;
    };
    const first = keys(v4(0, true, 77));
    const later = keys(v4(3, false, 77));
    assert.ok(first.ports && !later.ports);
    assert.equal(
      first.flow,
      key(pkt("udp", "10.0.0.2", "10.0.0.1", 53, 5000)),
      "first fragment keys its 5-tuple",
    );
    assert.ok(first.frag !== undefined);
    assert.equal(later.frag, first.frag);
    assert.notEqual(keys(v4(3, false, 78)).frag, first.frag, "another datagram");
    assert.equal(
      keys(pkt("udp", "10.0.0.1", "10.0.0.2", 5000, 53)).frag,
      undefined,
      "not a fragment",
    );
    const v6 = (off: number, more: boolean, id: number) =>
      buildUdpPacket({
        src: "fd00::1",
        dst: "fd00::2",
        srcPort: 5000,
        dstPort: 53,
        extensionHeaders: [
          {
            type: 44,
            body: Buffer.from([
              (off << 3) >> 8,
              ((off << 3) & 0xff) | (more ? 1 : 0),
              id >>> 24,
              (id >>> 16) & 0xff,
              (id >>> 8) & 0xff,
              id & 0xff,
            ]),
          },
        ],
      });
    const f6 = keys(v6(0, true, 0xdeadbeef));
    const l6 = keys(v6(2, false, 0xdeadbeef));
    assert.ok(f6.ports && !l6.ports);
    assert.equal(l6.frag, f6.frag);
    assert.notEqual(keys(v6(2, false, 1)).frag, f6.frag);
  });

  it("returns undefined for unparseable packets", () => {
    assert.equal(flowKey(Buffer.alloc(3)), undefined);
    assert.equal(flowKey(Buffer.from([0x70, 0, 0, 0])), undefined);
  });

  it("property: IPv6 keys are symmetric for every protocol", () => {
    const addr6 = fc
      .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
      .map((a) => a.map((x) => x.toString(16)).join(":"));
    fc.assert(
      fc.property(
        addr6,
        addr6,
        fc.nat(65535),
        fc.nat(65535),
        fc.constantFrom<Kind>("tcp", "udp", "icmp", "gre"),
        (a, b, pa, pb, kind) => {
          assert.equal(key(pkt(kind, a, b, pa, pb)), key(pkt(kind, b, a, pb, pa)));
        },
      ),
    );
  });

  it("property: never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(0xffff), (bytes, tag) => {
        const k = flowKey(Buffer.from(bytes), 0, bytes.length, tag);
        assert.ok(k === undefined || typeof k === "string");
      }),
      { numRuns: 2000 },
    );
  });

  it("property: symmetric for arbitrary tuples, injective on ordered tuples", () => {
    const addr4 = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
      .map((x) => x.join("."));
    fc.assert(
      fc.property(
        addr4,
        addr4,
        fc.nat(65535),
        fc.nat(65535),
        fc.constantFrom<Kind>("tcp", "udp"),
        (a, b, pa, pb, kind) => {
          assert.equal(key(pkt(kind, a, b, pa, pb)), key(pkt(kind, b, a, pb, pa)));
        },
      ),
    );
  });
});

describe("FlowCache", () => {
  function clocked(opts: { max?: number; tcp?: number; udp?: number; other?: number } = {}) {
    let now = 0;
    const removed: [string, string][] = [];
    const cache = new FlowCache<string>({
      maxEntries: opts.max ?? 100,
      timeouts: { tcp: opts.tcp ?? 350, udp: opts.udp ?? 120, other: opts.other ?? 120 },
      clock: () => now,
      onRemove: (k, _v, r) => removed.push([k, r]),
    });
    return { cache, removed, advance: (s: number) => (now += s * 1000) };
  }

  it("gets GWLB's idle timeouts from the resolved config", () => {
    const { maxFlows, flowTimeouts } = testDaemonSettings().datapath;
    const c = new FlowCache({ maxEntries: maxFlows, timeouts: flowTimeouts });
    assert.deepEqual(c.timeouts, { tcp: 350, udp: 120, other: 120 });
    assert.equal(c.timeoutFor(6), 350_000);
    assert.equal(c.timeoutFor(1), 120_000);
  });

  it("expires TCP after 350 s idle and UDP/other after 120 s", () => {
    const { cache, advance } = clocked();
    cache.set("t", "tcp", 6);
    cache.set("u", "udp", 17);
    cache.set("i", "icmp", 1);
    advance(119.9);
    assert.equal(cache.get("u"), "udp");
    assert.equal(cache.get("i"), "icmp");
    advance(119.9); // u and i were touched at 119.9 -> still alive at 239.8
    assert.equal(cache.get("u"), "udp");
    advance(120);
    assert.equal(cache.get("u"), undefined);
    assert.equal(cache.peek("i"), undefined);
    assert.equal(cache.get("t"), undefined, "TCP idle for 359.8 s");
    assert.equal(cache.stats.expired, 2);
  });

  it("keeps a TCP flow alive while it is used", () => {
    const { cache, advance } = clocked();
    cache.set("t", "v", 6);
    for (let i = 0; i < 10; i++) {
      advance(300);
      assert.equal(cache.get("t"), "v");
    }
    assert.equal(cache.stats.hits, 10);
  });

  it("sweep removes only expired entries and reports them", () => {
    const { cache, removed, advance } = clocked({ udp: 10, tcp: 20 });
    cache.set("a", "1", 17);
    cache.set("b", "2", 6);
    advance(5);
    cache.set("c", "3", 17);
    advance(5);
    assert.equal(cache.sweep(), 1);
    assert.deepEqual(removed, [["a", "expired"]]);
    advance(10);
    assert.equal(cache.sweep(), 2);
    assert.equal(cache.size, 0);
  });

  it("evicts the least recently used flow when full, across protocols", () => {
    const { cache, removed, advance } = clocked({ max: 3 });
    cache.set("a", "1", 6);
    advance(1);
    cache.set("b", "2", 17);
    advance(1);
    cache.set("c", "3", 1);
    advance(1);
    cache.get("a"); // a is now the most recent
    cache.set("d", "4", 17);
    assert.deepEqual(removed, [["b", "evicted"]]);
    assert.deepEqual([...cache.entries()].map(([k]) => k).sort(), ["a", "c", "d"]);
    assert.equal(cache.stats.evicted, 1);
    assert.equal(cache.size, 3);
  });

  it("prefers dropping expired flows over evicting live ones", () => {
    const { cache, removed, advance } = clocked({ max: 2, udp: 10 });
    cache.set("old", "1", 17);
    cache.set("tcp", "2", 6);
    advance(11);
    cache.set("new", "3", 17);
    assert.deepEqual(removed, [["old", "expired"]]);
    assert.equal(cache.stats.evicted, 0);
  });

  it("counts hits, misses and inserts; updates values in place", () => {
    const { cache } = clocked();
    assert.equal(cache.get("x"), undefined);
    cache.set("x", "1", 17);
    cache.set("x", "2", 17);
    assert.equal(cache.get("x"), "2");
    assert.deepEqual(
      { ...cache.stats },
      { hits: 1, misses: 1, inserts: 1, expired: 0, evicted: 0 },
    );
    assert.ok(cache.delete("x"));
    assert.ok(!cache.delete("x"));
  });

  it("moves an entry between timeout classes when its protocol changes", () => {
    const { cache, advance } = clocked({ udp: 10, tcp: 100 });
    cache.set("k", "1", 17);
    cache.set("k", "2", 6);
    advance(50);
    assert.equal(cache.get("k"), "2");
  });

  it("rejects nonsense options", () => {
    const timeouts = { tcp: 350, udp: 120, other: 120 };
    assert.throws(() => new FlowCache({ maxEntries: 0, timeouts }), RangeError);
    assert.throws(
      () => new FlowCache({ maxEntries: 1, timeouts: { ...timeouts, tcp: -1 } }),
      RangeError,
    );
  });

  it("property: never exceeds maxEntries and agrees with a model on live keys", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom("set", "get", "tick"), fc.nat(9), fc.constantFrom(6, 17, 1)),
          { maxLength: 200 },
        ),
        (ops) => {
          const { cache, advance } = clocked({ max: 5, tcp: 30, udp: 10, other: 10 });
          let t = 0;
          const model = new Map<string, { v: string; last: number; ttl: number }>();
          for (const [op, k, proto] of ops) {
            const key = `k${k}`;
            if (op === "tick") {
              advance(3);
              t += 3;
            } else if (op === "set") {
              cache.set(key, `${t}`, proto);
              model.set(key, { v: `${t}`, last: t, ttl: proto === 6 ? 30 : 10 });
            } else {
              const m = model.get(key);
              const live = m !== undefined && t - m.last < m.ttl;
              const got = cache.get(key);
              if (got !== undefined) {
                assert.ok(live, "cache returned a flow the model says is dead");
                assert.equal(got, m!.v);
                m!.last = t;
              }
            }
            assert.ok(cache.size <= 5);
          }
        },
      ),
    );
  });
});
