/**
 * The health canary in the data path (in-memory port): probes go to gwi-X once the endpoint's
 * listeners finished, come back from gwo-X as round trips, are never sent to the GWLB nor
 * counted as traffic, and packets from the GWLB with the canary's signature are dropped.
 */
import { strict as assert } from "node:assert";
import { buildCanary, buildUdpPacket, CANARY_PORT, Datapath, tunNames } from "@tollgate/appliance";
import { generateFlows, GwlbPeer } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { datapathOptions } from "../helpers/settings";

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup(mirror: boolean) {
  const port = new FakePort();
  port.mirror = mirror;
  const rtts: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const dp = new Datapath(
    port,
    datapathOptions({
      canaryIntervalMs: 60_000,
      onCanaryRoundTrip: (ms) => rtts.push(ms),
      listeners: [{ created: () => gate, destroyed: async () => {} }],
    }),
  );
  dp.start(0);
  const flow = generateFlows({ flows: 1 })[0]!;
  port.queue(GwlbPeer.encapsulate(flow, flow.inner), 0x0a000001, 40000, 0x0a000002);
  port.pump();
  const { gwi, gwo } = tunNames(flow.endpointId);
  return { port, dp, rtts, release, gwi, gwo };
}

describe("data path health canary (in-memory port)", () => {
  it("probes only endpoints whose listeners finished; a probe back from gwo-X is a round trip", async () => {
    const t = setup(true);
    t.dp.sendCanaries();
    assert.equal(t.port.tuns.get(t.gwi)!.written.length, 0, "no probe while listeners run");
    t.release();
    await settle();
    const before = { ...t.dp.counters, drops: { ...t.dp.counters.drops } };
    const sentBefore = t.port.sent.length;
    t.dp.sendCanaries();
    const [ep] = t.dp.endpoints.list();
    assert.equal(ep!.canary.returned, 1);
    assert.equal(t.rtts.length, 1);
    assert.equal(t.port.sent.length, sentBefore, "never sent to the GWLB");
    assert.equal(t.dp.counters.tunRxPackets, before.tunRxPackets, "not counted as traffic");
    assert.equal(t.dp.counters.tunTxPackets, before.tunTxPackets);
    assert.deepEqual(t.dp.counters.drops, before.drops);
    assert.deepEqual(t.dp.canary!.totals, { sent: 1, returned: 1, lost: 0, stray: 0 });
    await t.dp.stop();
  });

  it("counts probes that never come out of gwo-X as lost, in a row", async () => {
    const t = setup(false);
    t.release();
    await settle();
    for (let i = 0; i < 4; i++) t.dp.sendCanaries();
    const [ep] = t.dp.endpoints.list();
    assert.equal(ep!.canary.sent, 4);
    assert.equal(ep!.canary.consecutiveLost, 3);
    // A canary (even a forged one) that the kernel hands back is consumed, never forwarded.
    const sent = t.port.sent.length;
    t.port.inject(t.gwo, buildCanary(1, 1));
    assert.equal(t.port.sent.length, sent);
    assert.equal(t.dp.canary!.totals.stray, 1);
    await t.dp.stop();
  });

  it("drops inner packets with the canary signature coming from the GWLB (CANARY_SPOOFED)", async () => {
    const t = setup(true);
    t.release();
    await settle();
    const flow = generateFlows({ flows: 1 })[0]!;
    const spoof = buildUdpPacket({
      src: "198.18.0.1",
      dst: "198.19.0.1",
      srcPort: CANARY_PORT,
      dstPort: CANARY_PORT,
      payload: Buffer.from("let me through"),
    });
    const written = t.port.tuns.get(t.gwi)!.written.length;
    t.port.queue(GwlbPeer.encapsulate(flow, spoof), 0x0a000001, 40000, 0x0a000002);
    t.port.pump();
    assert.equal(t.dp.counters.drops.CANARY_SPOOFED, 1);
    assert.equal(t.port.tuns.get(t.gwi)!.written.length, written);
    await t.dp.stop();
  });
});
