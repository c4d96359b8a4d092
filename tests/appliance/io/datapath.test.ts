/**
 * The data path's per-packet logic over an in-memory port (no root, no sockets): decapsulation,
 * endpoint creation and naming, flow matching in both directions, encapsulation with the stored
 * header, drops by reason, flow expiry and eviction, endpoint failures and shutdown.
 */
import { strict as assert } from "node:assert";
import {
  buildUdpPacket,
  Datapath,
  type DatapathOptions,
  decodeGeneve,
  type EndpointInfo,
  FLOW_HEADER_INLINE,
  hex17,
  RX_SLOT,
  tunNames,
} from "@tollgate/appliance";
import {
  buildIcmpEchoPacket,
  type EmulatedFlow,
  generateFlows,
  GwlbPeer,
  malformedDatagrams,
} from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { datapathOptions } from "../helpers/settings";

const GWLB = 0x0a000001; // 10.0.0.1
const ME = 0x0a000002;

function setup(options: Partial<DatapathOptions> = {}) {
  let now = 1000;
  const port = new FakePort();
  const events: string[] = [];
  const listener = {
    created: async (e: EndpointInfo) => void events.push(`created ${e.gwi} ${e.gwo} ${e.idHex17}`),
    destroyed: async (e: EndpointInfo) => void events.push(`destroyed ${e.gwi}`),
  };
  const dp = new Datapath(
    port,
    datapathOptions({
      clock: () => now,
      listeners: [listener],
      // These cases check forwarding itself: no hold queue (datapath-hold.test.ts covers it).
      holdTimeoutMs: 0,
      ...options,
    }),
  );
  dp.start(0);
  return {
    port,
    dp,
    events,
    advance: (ms: number) => (now += ms),
    send(flow: EmulatedFlow, inner: Buffer = flow.inner, srcPort = 40000): Buffer {
      const d = GwlbPeer.encapsulate(flow, inner);
      port.queue(d, GWLB, srcPort, ME);
      port.pump();
      return d;
    },
  };
}

describe("data path (in-memory port)", () => {
  it("writes the inner packet unchanged to gwi-<base60 id> and returns it with the same header", () => {
    const t = setup();
    const [flow] = generateFlows({ flows: 1 });
    const d = t.send(flow!, flow!.inner, 43210);
    const { gwi, gwo } = tunNames(flow!.endpointId);
    assert.deepEqual(t.port.tuns.get(gwi)!.written, [flow!.inner]);
    assert.equal(t.port.tuns.get(gwo)!.mtu, 8500);
    assert.equal(t.port.sent.length, 1, "reply sent at once (inline drain of gwo)");
    const r = t.port.sent[0]!;
    assert.deepEqual(r.payload, d, "GENEVE header + inner packet byte for byte");
    assert.deepEqual([r.saddr, r.daddr, r.sport, r.dport], [ME, GWLB, 43210, 6081]);
    assert.equal(t.dp.counters.txDatagrams, 1);
    assert.equal(t.dp.counters.rxBytes, d.length);
  });

  it("writes and reads back in one port call when a batch has one endpoint (writeRead)", () => {
    const t = setup();
    const flows = generateFlows({ flows: 8, endpoints: 2 });
    const sent = flows.map((f) => GwlbPeer.encapsulate(f, f.inner));
    for (const d of sent) t.port.queue(d, GWLB, 40000, ME);
    t.port.pump();
    assert.equal(t.port.sent.length, 8);
    assert.deepEqual(
      t.port.sent.map((r) => r.payload.toString("hex")).sort(),
      sent.map((d) => d.toString("hex")).sort(),
    );
    assert.equal(t.port.writeReadCalls, 0, "two endpoints in the batch: separate calls");
    t.send(flows[0]!);
    assert.equal(t.port.writeReadCalls, 1, "one endpoint: write and read in one call");
    assert.equal(t.port.sent.length, 9);
    assert.equal(t.dp.counters.tunTxPackets, 9);
  });

  it("creates each endpoint once and tells listeners with the reference names", async () => {
    const t = setup();
    const flows = generateFlows({ flows: 6, endpoints: 3 });
    for (const f of flows) t.send(f);
    for (const f of flows) t.send(f);
    assert.equal(t.dp.endpoints.size, 3);
    assert.equal(t.dp.counters.endpointsCreated, 3);
    await Promise.all(t.dp.endpoints.list().map((e) => e.ready));
    const want = [0, 1, 2].map((e) => {
      const id = flows[e]!.endpointId;
      const { gwi, gwo } = tunNames(id);
      return `created ${gwi} ${gwo} ${hex17(id)}`;
    });
    assert.deepEqual(t.events.sort(), want.sort());
    assert.equal(t.port.sent.length, 12);
  });

  it("matches return traffic in the reverse direction (UDP and ICMP, IPv4 and IPv6)", () => {
    const t = setup();
    t.port.mirror = false;
    for (const family of [4, 6] as const) {
      const [f] = generateFlows({ flows: 1, family });
      const hdr = t.send(f!);
      const { gwo } = tunNames(f!.endpointId);
      const v4 = family === 4;
      const reply = buildUdpPacket({
        src: v4 ? "10.200.0.1" : "fd00:200::1",
        dst: v4 ? "10.100.0.1" : "fd00:100::1",
        srcPort: 5001,
        dstPort: 1024,
        payload: Buffer.from("pong"),
      });
      t.port.inject(gwo, reply);
      const r = t.port.sent.at(-1)!;
      const dec = decodeGeneve(r.payload);
      assert.ok(dec.ok);
      assert.deepEqual(r.payload.subarray(0, dec.headerLength), hdr.subarray(0, dec.headerLength));
      assert.deepEqual(r.payload.subarray(dec.headerLength), reply);
    }
    const [icmp] = generateFlows({ flows: 1, proto: "icmp" });
    t.send(icmp!);
    const { gwo } = tunNames(icmp!.endpointId);
    const echoReply = buildIcmpEchoPacket({
      src: "10.200.0.1",
      dst: "10.100.0.1",
      identifier: 0,
      sequence: 1,
      reply: true,
    });
    const before = t.port.sent.length;
    t.port.inject(gwo, echoReply);
    assert.equal(t.port.sent.length, before + 1, "ICMP matched by addresses and protocol");
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 0);
  });

  it("drops and counts packets of unknown flows and unparseable packets from the tun", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    const { gwo, gwi } = tunNames(f!.endpointId);
    t.port.inject(
      gwo,
      buildUdpPacket({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2 }),
    );
    t.port.inject(gwi, Buffer.from([0x45, 0, 0]));
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 1);
    assert.equal(t.dp.counters.drops.RETURN_UNPARSEABLE, 1);
    assert.equal(t.port.sent.length, 1);
  });

  it("drops every malformed datagram under its decoder reason; good traffic keeps flowing", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    const bad = malformedDatagrams(f!, f!.inner);
    for (const m of bad) {
      t.port.queue(m.bytes, GWLB, 40000, ME);
      t.port.queue(GwlbPeer.encapsulate(f!, f!.inner), GWLB, 40000, ME);
    }
    t.port.queue(Buffer.alloc(100), GWLB, 40000, ME, true);
    t.port.pump();
    for (const m of bad) {
      const expected = bad.filter((x) => x.reason === m.reason).length;
      assert.equal(t.dp.counters.drops[m.reason], expected, m.name);
    }
    assert.equal(t.dp.counters.drops.TRUNCATED, 1);
    assert.equal(t.port.sent.length, bad.length);
  });

  it("echoes the newest header when GWLB changes it within a flow", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    const changed = { ...f!, flowCookie: 0x12345678 };
    const d2 = t.send(changed, f!.inner, 40001);
    const r = t.port.sent.at(-1)!;
    assert.deepEqual(r.payload, d2);
    assert.equal(r.sport, 40001);
  });

  it("echoes a header longer than a flow slot holds (unknown non-critical options) byte for byte", () => {
    const t = setup();
    const flows = generateFlows({ flows: 2 });
    const extra = [{ optClass: 0x0108, type: 0x70, critical: false, data: Buffer.alloc(64, 0xab) }];
    const long = GwlbPeer.encapsulate(flows[0]!, flows[0]!.inner, extra);
    t.port.queue(long, GWLB, 40000, ME);
    t.port.pump();
    const short = t.send(flows[1]!);
    assert.ok(long.length - flows[0]!.inner.length > FLOW_HEADER_INLINE);
    assert.deepEqual(
      t.port.sent.map((r) => r.payload),
      [long, short],
    );
  });

  it("warns (at most once a minute) when the full flow table evicts flows", () => {
    const warnings: { o: object; m: string }[] = [];
    const t = setup({
      maxFlows: 2,
      logger: { info() {}, warn: (o, m) => void warnings.push({ o, m: m ?? "" }), error() {} },
    });
    const flows = generateFlows({ flows: 5 });
    for (const f of flows.slice(0, 3)) t.send(f);
    t.dp.logEvictions(t.advance(0));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.m, /flow table full.*raise flows\.maxEntries/);
    assert.deepEqual(warnings[0]!.o, { evicted: 1, evictedTotal: 1, maxEntries: 2 });
    t.send(flows[3]!);
    t.dp.logEvictions(t.advance(30_000));
    assert.equal(warnings.length, 1, "not again within a minute");
    t.dp.logEvictions(t.advance(30_000));
    assert.equal(warnings.length, 2);
    assert.deepEqual(warnings[1]!.o, { evicted: 1, evictedTotal: 2, maxEntries: 2 });
    t.dp.logEvictions(t.advance(60_000));
    assert.equal(warnings.length, 2, "nothing new evicted");
  });

  it("expires idle flows (UDP 120 s by default) and evicts beyond maxFlows", () => {
    const t = setup({ maxFlows: 4 });
    t.port.mirror = false;
    const flows = generateFlows({ flows: 6 });
    for (const f of flows) t.send(f);
    assert.equal(t.dp.flows.size, 4);
    assert.equal(t.dp.flows.stats.evicted, 2);
    const { gwo } = tunNames(flows[5]!.endpointId);
    t.advance(121_000);
    t.port.inject(gwo, flows[5]!.inner);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 1, "expired");
    t.send(flows[5]!);
    t.port.inject(gwo, flows[5]!.inner);
    assert.equal(t.port.sent.length, 1);
  });

  it("counts an endpoint whose interfaces cannot be created and retries after a back-off", () => {
    const t = setup({ retryAfterMs: 5000 });
    const [f] = generateFlows({ flows: 1 });
    const { gwi } = tunNames(f!.endpointId);
    t.port.failing.add(gwi);
    t.send(f!);
    t.send(f!);
    assert.equal(t.dp.counters.drops.ENDPOINT_UNAVAILABLE, 2);
    t.port.failing.delete(gwi);
    t.send(f!);
    assert.equal(t.dp.counters.drops.ENDPOINT_UNAVAILABLE, 3, "still backing off");
    t.advance(5000);
    t.send(f!);
    assert.equal(t.dp.endpoints.size, 1);
    assert.equal(t.port.sent.length, 1);
  });

  it("refuses more endpoints than maxEndpoints", () => {
    const t = setup({ maxEndpoints: 2 });
    for (const f of generateFlows({ flows: 3, endpoints: 3 })) t.send(f);
    assert.equal(t.dp.endpoints.size, 2);
    assert.equal(t.dp.counters.drops.TOO_MANY_ENDPOINTS, 1);
  });

  it("counts replies the kernel refuses and tun write failures", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.port.refuseSends = 1;
    t.send(f!);
    assert.equal(t.dp.counters.drops.SEND_ERROR, 1);
    t.port.refuseSends = 0;
    t.port.tuns.get(tunNames(f!.endpointId).gwi)!.closed = true;
    t.send(f!);
    assert.equal(t.dp.counters.drops.TUN_WRITE_ERROR, 1);
  });

  it("removes idle endpoints after endpointIdleTimeoutMs, DESTROY listeners first", async () => {
    const t = setup({ endpointIdleTimeoutMs: 30_000 });
    const [a, b] = generateFlows({ flows: 2, endpoints: 2 });
    t.send(a!);
    t.send(b!);
    t.advance(20_000);
    t.send(a!);
    t.advance(15_000);
    assert.equal(t.dp.endpoints.sweepIdle(t.advance(0)), 1);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(t.dp.endpoints.size, 1);
    assert.ok(t.port.tuns.get(tunNames(b!.endpointId).gwi)!.closed);
    assert.ok(t.events.includes(`destroyed ${tunNames(b!.endpointId).gwi}`));
  });

  it("stop() runs destroyed listeners and closes every interface", async () => {
    const t = setup();
    for (const f of generateFlows({ flows: 2, endpoints: 2 })) t.send(f);
    await t.dp.stop();
    assert.equal(t.events.filter((e) => e.startsWith("destroyed")).length, 2);
    assert.ok([...t.port.tuns.values()].every((x) => x.closed));
    assert.equal(t.port.batchCallback, undefined);
    assert.equal(t.dp.flows.size, 0);
  });

  it("survives an exception in per-packet code: counted, the next batch is handled", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    const real = t.port.writeRead.bind(t.port);
    let calls = 0;
    t.port.writeRead = (...args) => {
      if (calls++ === 0) throw new Error("boom");
      real(...args);
    };
    assert.doesNotThrow(() => t.send(f!));
    assert.equal(t.dp.counters.internalErrors, 1);
    t.send(f!);
    assert.equal(t.port.sent.length, 1);
  });

  it("uses one receive slot per datagram (bad batch sizes are the config's: settings.test.ts)", () => {
    assert.ok(RX_SLOT >= 8500 + 8 + 252);
  });

  it("hands the receive-coalescing window to the port's receive watch", () => {
    // Default and range are the setting's (rx-coalesce-config.test.ts).
    assert.equal(setup({ rxCoalesceUs: 0 }).port.coalesceUs, 0);
    assert.equal(setup({ rxCoalesceUs: 100 }).port.coalesceUs, 100);
  });
});
