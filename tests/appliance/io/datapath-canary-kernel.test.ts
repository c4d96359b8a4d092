/**
 * The health canary on the kernel path, without root: the GENEVE-wrapped probe tg_decap runs on
 * decodes like a GWLB datagram; the data path writes only probes the kernel path would deliver,
 * counts a round trip only for tg_encap's exact encapsulation (or, when a program sends the
 * canary up, for what the daemon's own return path would do with it), and says why a probe was
 * lost. The kernel is a fake; the root tier (integration/health) runs the real programs.
 */
import { strict as assert } from "node:assert";
import {
  canaryDatagram,
  canaryStatus,
  Datapath,
  decodeGeneve,
  encapsulatedCanary,
  type Endpoint,
  forwardedCanary,
  type KernelCanaryProbe,
  type KernelCanarySpec,
  type KernelFlow,
  type KernelPath,
  tunNames,
} from "@tollgate/appliance";
import { generateFlows, GwlbPeer, verifyChecksums } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { kernelStatus } from "../helpers/status";
import { datapathOptions } from "../helpers/settings";

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const spec = (ep: Endpoint): KernelCanarySpec => ({
  endpointId: ep.info.id,
  uplinkMac: Buffer.from([2, 0, 0, 0, 0, 1]),
  local: "10.77.0.2",
  gwlb: "10.77.0.1",
  gwlbPort: 29799,
});

/** A kernel path whose canary verdict the test picks: "kernel", "daemon" or a loss reason. */
class CanaryKernel implements KernelPath {
  verdict: "kernel" | "daemon" | string = "kernel";
  /** The flow tg_decap "stored" (lookupFlow), when set. */
  flow: KernelFlow | undefined;
  /** The canary of the last probe, as tg_decap saw it. */
  lastCanary: Buffer | undefined;
  attachEndpoint(): void {}
  activateEndpoint(): void {}
  removeEndpoint(): void {}
  lookupFlow(): KernelFlow | undefined {
    return this.flow;
  }
  canaryProbe(ep: Endpoint, canary: Buffer): KernelCanaryProbe {
    this.lastCanary = canary;
    if (this.verdict !== "kernel" && this.verdict !== "daemon") {
      return { via: "lost", reason: this.verdict };
    }
    const s = spec(ep);
    const { header } = canaryDatagram(s, canary);
    return {
      via: this.verdict,
      expected: [forwardedCanary(canary), canary].map((c) => encapsulatedCanary(s, header, c)),
      flow: { header, gwlbAddress: 0x0a4d0001, gwlbPort: 29799, localAddress: 0x0a4d0002 },
    };
  }
  sync(): void {}
  describe() {
    return kernelStatus(1);
  }
  close(): void {}
  handoverFds(): [] {
    return [];
  }
}

async function setup() {
  const port = new FakePort();
  port.mirror = false;
  const kernel = new CanaryKernel();
  const dp = new Datapath(port, datapathOptions({ canaryIntervalMs: 60_000, kernel }));
  dp.start(0);
  const flow = generateFlows({ flows: 1 })[0]!;
  port.queue(GwlbPeer.encapsulate(flow, flow.inner), 0x0a4d0001, 40000, 0x0a4d0002);
  port.pump();
  await settle();
  const ep = dp.endpoints.list()[0]!;
  const { gwi, gwo } = tunNames(flow.endpointId);
  const written = () => port.tuns.get(gwi)!.written.length;
  /** One probe; `back` is what comes out of gwo-X for it (given the canary tg_decap saw). */
  const probe = (back?: (canary: Buffer) => Buffer): void => {
    dp.sendCanaries();
    if (back) port.inject(gwo, back(kernel.lastCanary!));
  };
  return { port, kernel, dp, ep, written, probe };
}

describe("kernel path health canary (fake kernel, in-memory port)", () => {
  it("wraps the probe in GENEVE as the GWLB would: to the endpoint, checksums right", () => {
    const [flow] = generateFlows({ flows: 1 });
    const s: KernelCanarySpec = {
      endpointId: flow!.endpointId,
      uplinkMac: Buffer.from([2, 0, 0, 0, 0, 1]),
      local: "10.77.0.2",
      gwlb: "10.77.0.1",
      gwlbPort: 29799,
    };
    const canary = Buffer.from(flow!.inner);
    const { frame, header } = canaryDatagram(s, canary);
    assert.deepEqual(frame.subarray(0, 6), s.uplinkMac, "for this host's uplink");
    assert.ok(verifyChecksums(frame, 14), "outer IPv4 and UDP checksums");
    const d = decodeGeneve(frame, 14 + 28);
    assert.ok(d.ok);
    assert.equal(d.header.endpointId, flow!.endpointId);
    assert.deepEqual(frame.subarray(d.innerOffset), canary);
    assert.deepEqual(frame.subarray(42, 42 + d.headerLength), header);
    const back = encapsulatedCanary(s, header, forwardedCanary(canary));
    assert.deepEqual(back.subarray(0, 6), frame.subarray(6, 12), "back to the sender's MAC");
    assert.ok(verifyChecksums(back, 14), "outer checksums of the expected encapsulation");
    assert.ok(verifyChecksums(back, 14 + 28 + header.length), "inner checksums after the hop");
    assert.equal(back[14 + 8], 64, "outer TTL 64");
    assert.equal(back.readUInt16BE(14 + 20 + 2), 6081, "to the GENEVE port");
    assert.equal(back[14 + 28 + header.length + 8], canary[8]! - 1, "inner TTL decremented");
  });

  it("counts only tg_encap's exact encapsulation from gwo-X as a round trip, never sends it", async () => {
    const t = await setup();
    const w = t.written();
    t.probe((c) => expectedOf(t, c));
    assert.equal(t.written(), w + 1, "the canary tg_decap carried is written into gwi-X");
    assert.equal(t.ep.canary.returned, 1);
    t.probe((c) => {
      const bad = Buffer.from(expectedOf(t, c));
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1; // one byte of the inner canary
      return bad;
    });
    t.dp.sendCanaries();
    assert.equal(t.ep.canary.returned, 1, "a wrong encapsulation is not a round trip");
    assert.equal(t.ep.canary.lost, 1);
    assert.match(canaryStatus(t.ep.canary, 0).problem ?? "", /not the correct encapsulation/);
    assert.equal(t.port.sent.length, 0, "nothing reaches the GWLB");
    assert.equal(t.dp.counters.drops.RETURN_UNPARSEABLE, 0);
    assert.equal(t.dp.counters.tunRxPackets, 0, "canaries are not traffic");
    await t.dp.stop();
  });

  it("counts the canary of a hop that does not route (tc mirred: TTL kept) as a round trip", async () => {
    const t = await setup();
    t.probe((c) => expectedOf(t, c, 1));
    assert.equal(t.ep.canary.returned, 1);
    assert.equal(t.ep.canary.lost, 0);
    await t.dp.stop();
  });

  it("writes nothing for a probe the kernel path would lose, and says why", async () => {
    const t = await setup();
    t.kernel.verdict = "tg_decap redirects into ifindex 1, not gwi-x (7)";
    const w = t.written();
    t.probe();
    t.probe();
    assert.equal(t.written(), w, "not written into gwi-X");
    assert.equal(t.ep.canary.lost, 1);
    assert.match(canaryStatus(t.ep.canary, 0).problem ?? "", /kernel path: tg_decap redirects/);
    await t.dp.stop();
  });

  it("a canary tg_encap sent up is a round trip only when the flow tg_decap stored gives its header back", async () => {
    const t = await setup();
    t.probe((c) => forwardedCanary(c));
    t.dp.sendCanaries();
    assert.equal(t.ep.canary.returned, 0, "no stored flow: the daemon could not encapsulate it");
    assert.match(
      canaryStatus(t.ep.canary, 0).problem ?? "",
      /no flow that gives its GENEVE header/,
    );
    const k = t.kernel.canaryProbe(t.ep, t.kernel.lastCanary!);
    assert.ok(k.via !== "lost");
    t.kernel.flow = k.flow;
    t.probe((c) => forwardedCanary(c));
    assert.equal(t.ep.canary.returned, 1);
    await t.dp.stop();
  });

  it("a canary tg_decap punted is carried by the daemon, as a punted datagram is", async () => {
    const t = await setup();
    t.kernel.verdict = "daemon";
    t.probe((c) => forwardedCanary(c));
    assert.equal(t.ep.canary.returned, 1);
    await t.dp.stop();
  });
});

/** tg_encap's output after a routed hop (variant 0: TTL - 1) or a mirred one (1: TTL kept). */
function expectedOf(t: Awaited<ReturnType<typeof setup>>, canary: Buffer, variant = 0): Buffer {
  const k = t.kernel.canaryProbe(t.ep, canary);
  assert.ok(k.via !== "lost");
  return k.expected[variant]!;
}
