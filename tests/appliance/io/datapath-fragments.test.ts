/**
 * Fragments without ports (non-first IPv4 fragments, IPv6 fragments after the first) follow the
 * flow their datagram's first fragment matched, in the return and the forward direction; the
 * mapping is bounded and short-lived, and what cannot be matched is counted.
 */
import { strict as assert } from "node:assert";
import {
  buildUdpPacket,
  Datapath,
  type DatapathOptions,
  decodeGeneve,
  tunNames,
} from "@tollgate/appliance";
import { type EmulatedFlow, generateFlows, GwlbPeer } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { fragmentV4, fragmentV6, icmpError } from "./fixtures/packets";
import { datapathOptions } from "../helpers/settings";

const GWLB = 0x0a000001;
const ME = 0x0a000002;

function setup(options: Partial<DatapathOptions> = {}) {
  let now = 1000;
  const port = new FakePort();
  port.mirror = false;
  const dp = new Datapath(port, datapathOptions({ clock: () => now, ...options }));
  dp.start(0);
  return {
    port,
    dp,
    advance: (ms: number) => (now += ms),
    send(flow: EmulatedFlow, inner = flow.inner): Buffer {
      const d = GwlbPeer.encapsulate(flow, inner);
      port.queue(d, GWLB, 40000, ME);
      port.pump();
      return d;
    },
    back(flow: EmulatedFlow, packets: Buffer[]) {
      const before = port.sent.length;
      for (const p of packets) port.inject(tunNames(flow.endpointId).gwo, p);
      return port.sent.slice(before);
    },
  };
}

function header(datagram: Buffer): Buffer {
  const d = decodeGeneve(datagram);
  assert.ok(d.ok);
  return datagram.subarray(0, d.headerLength);
}

/** A large UDP reply of flow i (10.200.0.1:5001 -> 10.100.0.(i+1):1024+i, or IPv6). */
function bigReply(family: 4 | 6, i: number, size = 2000): Buffer {
  return buildUdpPacket({
    src: family === 4 ? "10.200.0.1" : "fd00:200::1",
    dst: family === 4 ? `10.100.0.${i + 1}` : `fd00:100::${i + 1}`,
    srcPort: 5001,
    dstPort: 1024 + i,
    id: 0x4242 + i,
    dontFragment: false,
    payload: Buffer.alloc(size, i + 1),
  });
}

function frags(family: 4 | 6, p: Buffer, id: number): Buffer[] {
  return family === 4 ? fragmentV4(p, 1480, id) : fragmentV6(p, 1232, id);
}

describe("data path: fragments routed by their first fragment (in-memory port)", () => {
  for (const family of [4, 6] as const) {
    it(`returns every fragment of a datagram with its flow's header (IPv${family})`, () => {
      const t = setup();
      const flows = generateFlows({ flows: 2, family });
      const sent = flows.map((f) => t.send(f));
      // Later fragments carry no ports: only the first fragment's mapping finds their flow.
      for (const i of [1, 0]) {
        const parts = frags(family, bigReply(family, i), 7 + i);
        assert.ok(parts.length >= 2);
        const replies = t.back(flows[i]!, parts);
        assert.equal(replies.length, parts.length, `flow ${i}: all fragments returned`);
        for (let k = 0; k < parts.length; k++) {
          const h = header(sent[i]!);
          assert.deepEqual(replies[k]!.payload.subarray(0, h.length), h, `flow ${i} header`);
          assert.deepEqual(replies[k]!.payload.subarray(h.length), parts[k]);
        }
      }
      assert.equal(
        t.dp.counters.fragmentsMatched,
        2 * (frags(family, bigReply(family, 0), 1).length - 1),
      );
      assert.equal(t.dp.counters.drops.UNKNOWN_FLOW + t.dp.counters.drops.FRAGMENT_UNKNOWN_FLOW, 0);
    });
  }

  it("tells two flows between the same hosts apart by the first fragment's ports", () => {
    const t = setup();
    const [a] = generateFlows({ flows: 1 });
    const b: EmulatedFlow = {
      ...a!,
      flowCookie: (a!.flowCookie ^ 0xffff) >>> 0,
      inner: buildUdpPacket({ src: "10.100.0.1", dst: "10.200.0.1", srcPort: 3000, dstPort: 5001 }),
    };
    const da = t.send(a!);
    const db = t.send(b);
    const reply = (dstPort: number, id: number) =>
      fragmentV4(
        buildUdpPacket({
          src: "10.200.0.1",
          dst: "10.100.0.1",
          srcPort: 5001,
          dstPort,
          dontFragment: false,
          payload: Buffer.alloc(3000, 1),
        }),
        1480,
        id,
      );
    const rb = t.back(b, reply(3000, 1));
    const ra = t.back(a!, reply(1024, 2));
    assert.equal(rb.length, 3);
    assert.equal(ra.length, 3);
    for (const r of rb) assert.deepEqual(r.payload.subarray(0, header(db).length), header(db));
    for (const r of ra) assert.deepEqual(r.payload.subarray(0, header(da).length), header(da));
    assert.notDeepEqual(header(da), header(db));
  });

  it("counts a later fragment whose first fragment was never seen (FRAGMENT_UNKNOWN_FLOW)", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    const parts = fragmentV4(bigReply(4, 0), 1480, 99);
    assert.equal(t.back(f!, parts.slice(1)).length, 0);
    assert.equal(t.dp.counters.drops.FRAGMENT_UNKNOWN_FLOW, parts.length - 1);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 0);
  });

  it("forgets the mapping after fragmentTimeout, and a first fragment of no flow maps nothing", () => {
    const t = setup({ fragmentTimeout: 2 });
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    const parts = fragmentV4(bigReply(4, 0), 1480, 5);
    assert.equal(t.back(f!, [parts[0]!]).length, 1);
    t.advance(2500);
    assert.equal(t.back(f!, parts.slice(1)).length, 0);
    assert.equal(t.dp.counters.drops.FRAGMENT_UNKNOWN_FLOW, parts.length - 1);
    const stranger = fragmentV4(
      buildUdpPacket({
        src: "192.0.2.1",
        dst: "192.0.2.2",
        srcPort: 9,
        dstPort: 9,
        dontFragment: false,
        payload: Buffer.alloc(2000),
      }),
      1480,
      6,
    );
    assert.equal(t.back(f!, stranger).length, 0);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 1);
    assert.equal(t.dp.counters.drops.FRAGMENT_UNKNOWN_FLOW, parts.length);
  });

  it("bounds the fragment table (maxFragments, least recently used evicted)", () => {
    const t = setup({ maxFragments: 2 });
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    const datagrams = [1, 2, 3].map((id) => fragmentV4(bigReply(4, 0), 1480, id));
    for (const d of datagrams) t.back(f!, [d[0]!]);
    assert.equal(t.dp.fragments.size, 2);
    assert.equal(t.back(f!, [datagrams[0]![1]!]).length, 0, "oldest mapping evicted");
    assert.equal(t.back(f!, [datagrams[2]![1]!]).length, 1);
  });

  it("forward direction: later fragments from the GWLB use the first one's flow, adding none", () => {
    const t = setup();
    t.port.mirror = true;
    const [f] = generateFlows({ flows: 1, size: 3000 });
    const parts = fragmentV4(f!.inner, 1480, 0x1234);
    const datagrams = parts.map((p) => t.send(f!, p));
    assert.equal(t.dp.flows.size, 1, "no port-less flow entry for the later fragments");
    assert.equal(t.port.sent.length, parts.length, "every mirrored fragment returned");
    for (let k = 0; k < parts.length; k++) assert.deepEqual(t.port.sent[k]!.payload, datagrams[k]);
    // 1 forward + 1 return lookup per later fragment.
    assert.equal(t.dp.counters.fragmentsMatched, 2 * (parts.length - 1));
  });

  it("matches an ICMP error quoting a later fragment through the fragment table", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    const d = t.send(f!);
    const parts = fragmentV4(bigReply(4, 0), 1480, 77);
    t.back(f!, [parts[0]!]);
    const err = icmpError("10.100.0.1", "10.200.0.1", 11, 1, parts[1]!, 28);
    const [r] = t.back(f!, [err]);
    assert.ok(r);
    assert.deepEqual(r.payload.subarray(0, header(d).length), header(d));
    assert.equal(t.dp.counters.icmpErrorsMatched, 1);
  });
});
