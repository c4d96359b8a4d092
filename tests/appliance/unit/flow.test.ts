import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  buildIpPacket,
  buildUdpPacket,
  createPacketScratch,
  createFlowKey,
  describeFlowKey,
  flowKey,
  type FlowKey,
  flowKeyProtocol,
  writeFlowKey,
  writeFragmentKey,
  type IpSpec,
  ipv4HeaderChecksum,
  locatePacket,
} from "@tollgate/appliance";
import { buildIcmpEchoPacket, buildTcpPacket } from "@tollgate/testbed";

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

/** A key as text, so that assert.equal compares keys by value. */
function text(k: FlowKey): string {
  return Array.from(k).join(".");
}

function key(b: Buffer, tag = 0): string {
  const k = flowKey(b, 0, b.length, tag);
  assert.ok(k !== undefined);
  return text(k);
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
        const k = flowKey(pkt(kind, b, a, 80, 1024), 0, undefined, 7)!;
        assert.equal(flowKeyProtocol(k), proto);
        assert.match(describeFlowKey(k), new RegExp(`^proto ${proto} .* tag 7$`));
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
      const flow = createFlowKey();
      const frag = createFlowKey();
      writeFlowKey(b, s, 0, flow);
      return {
        flow: text(flow),
        frag: writeFragmentKey(b, s, 0, frag) ? text(frag) : undefined,
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

  it("renders keys readably, lower endpoint first", () => {
    assert.equal(
      describeFlowKey(
        flowKey(pkt("udp", "10.200.0.1", "10.100.0.1", 5001, 1024), 0, undefined, 3)!,
      ),
      "proto 17 10.100.0.1:1024 <-> 10.200.0.1:5001 tag 3",
    );
    assert.equal(
      describeFlowKey(flowKey(pkt("tcp", "fd00::2", "fd00::1", 80, 4000))!),
      "proto 6 fd00:0:0:0:0:0:0:1:4000 <-> fd00:0:0:0:0:0:0:2:80 tag 0",
    );
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
        assert.ok(k === undefined || (k.length === 10 && k[0]! >>> 16 === tag));
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
