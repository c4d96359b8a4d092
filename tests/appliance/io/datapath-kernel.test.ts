/**
 * The data path's seam to the kernel path (eBPF): when tg_encap and tg_decap start and stop
 * serving an endpoint, how flows only the kernel saw are found for what it sends up (ICMP errors),
 * how its counts join the data path's, and the tg_flows key layout the daemon shares with the C
 * program. The kernel is a fake here; the root tiers run the real one.
 */
import { strict as assert } from "node:assert";
import {
  createPacketScratch,
  Datapath,
  decodeGeneve,
  type DatapathCounters,
  type Endpoint,
  type EndpointInfo,
  FLOW_KEY_BYTES,
  type KernelCanaryProbe,
  type KernelFlow,
  kernelFlowKey,
  type KernelPath,
  type KernelPathStatus,
  locatePacket,
  type PacketScratch,
  tunNames,
} from "@tollgate/appliance";
import { generateFlows, GwlbPeer } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { icmpError } from "./fixtures/packets";
import { datapathOptions } from "../helpers/settings";
import { kernelStatus } from "../helpers/status";

const GWLB = 0x0a000001;
const ME = 0x0a000002;

class FakeKernel implements KernelPath {
  readonly calls: string[] = [];
  readonly flows = new Map<string, KernelFlow>();
  /** gwi-X packets written by the daemon when the endpoint was activated. */
  readonly writtenAtActivation = new Map<string, number>();
  constructor(private readonly port: FakePort) {}
  attachEndpoint(ep: Endpoint): void {
    this.calls.push(`attach ${ep.info.gwi}`);
  }
  activateEndpoint(ep: Endpoint): void {
    this.calls.push(`activate ${ep.info.gwi}`);
    this.writtenAtActivation.set(ep.info.gwi, this.port.tuns.get(ep.info.gwi)!.written.length);
  }
  removeEndpoint(ep: Endpoint): void {
    this.calls.push(`remove ${ep.info.gwi}`);
  }
  handoverFds(): [] {
    return [];
  }
  lookupFlow(buf: Uint8Array, s: PacketScratch, ep: Endpoint): KernelFlow | undefined {
    const key = Buffer.alloc(FLOW_KEY_BYTES);
    kernelFlowKey(buf, s, ep.tag, key);
    return this.flows.get(key.toString("hex"));
  }
  /** What canaryProbe answers (the test sets it). */
  probe: KernelCanaryProbe = { via: "lost", reason: "fake kernel" };
  canaryProbe(): KernelCanaryProbe {
    return this.probe;
  }
  sync(c: DatapathCounters): void {
    c.rxDatagrams += 10;
    c.tunTxPackets += 10;
    c.drops.BAD_VERSION += 1;
  }
  describe(): KernelPathStatus {
    return kernelStatus(1);
  }
  close(): void {
    this.calls.push("close");
  }
}

/** A listener whose created() finishes when the test says so. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((res) => (open = res));
  return {
    open: () => open(),
    listener: {
      created: async (_e: EndpointInfo) => done,
      destroyed: async (_e: EndpointInfo) => undefined,
    },
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup(listeners: ReturnType<typeof gate>["listener"][] = []) {
  const port = new FakePort();
  const kernel = new FakeKernel(port);
  const dp = new Datapath(port, datapathOptions({ listeners, kernel, clock: () => 1000 }));
  dp.start(0);
  return { port, kernel, dp };
}

function locate(packet: Buffer): PacketScratch {
  const s = createPacketScratch();
  assert.equal(locatePacket(packet, 0, packet.length, s), undefined);
  return s;
}

describe("data path with the kernel path (fake kernel, in-memory port)", () => {
  it("attaches tg_encap at creation and lets tg_decap serve an endpoint only after its held packets are out", async () => {
    const g = gate();
    const t = setup([g.listener]);
    const [flow] = generateFlows({ flows: 1 });
    const { gwi } = tunNames(flow!.endpointId);
    for (let i = 0; i < 3; i++) {
      t.port.queue(GwlbPeer.encapsulate(flow!, flow!.inner), GWLB, 40000, ME);
    }
    t.port.pump();
    assert.deepEqual(t.kernel.calls, [`attach ${gwi}`], "held: the kernel must not redirect yet");
    g.open();
    await settle();
    assert.deepEqual(t.kernel.calls, [`attach ${gwi}`, `activate ${gwi}`]);
    assert.equal(t.kernel.writtenAtActivation.get(gwi), 3, "activated after the held packets");
    await t.dp.stop();
    assert.deepEqual(t.kernel.calls.slice(2), [`remove ${gwi}`, "close"]);
  });

  it("without listeners the kernel serves a new endpoint at once", () => {
    const t = setup();
    const [flow] = generateFlows({ flows: 1 });
    t.port.queue(GwlbPeer.encapsulate(flow!, flow!.inner), GWLB, 40000, ME);
    t.port.pump();
    const { gwi } = tunNames(flow!.endpointId);
    assert.deepEqual(t.kernel.calls, [`attach ${gwi}`, `activate ${gwi}`]);
  });

  it("returns an ICMP error quoting a flow only tg_decap saw, with the header the kernel stored", () => {
    const t = setup();
    t.port.mirror = false;
    const [a, b] = generateFlows({ flows: 2 });
    // a's datagram creates the endpoint (the daemon sees it); b's flow exists only in the kernel.
    t.port.queue(GwlbPeer.encapsulate(a!, a!.inner), GWLB, 40000, ME);
    t.port.pump();
    const ep = t.dp.endpoints.list()[0]!;
    const datagram = GwlbPeer.encapsulate(b!, b!.inner);
    const d = decodeGeneve(datagram);
    assert.ok(d.ok);
    const key = Buffer.alloc(FLOW_KEY_BYTES);
    kernelFlowKey(b!.inner, locate(b!.inner), ep.tag, key);
    t.kernel.flows.set(key.toString("hex"), {
      header: Buffer.from(datagram.subarray(0, d.headerLength)),
      gwlbAddress: GWLB,
      gwlbPort: 40123,
      localAddress: ME,
    });
    const err = icmpError("10.200.0.1", "10.100.0.2", 3, 3, b!.inner, 28);
    t.port.inject(tunNames(b!.endpointId).gwo, err);
    const reply = t.port.sent.at(-1);
    assert.ok(reply, "a reply was sent");
    assert.deepEqual(
      reply.payload.subarray(0, d.headerLength),
      datagram.subarray(0, d.headerLength),
    );
    assert.equal(reply.sport, 40123, "from the GWLB's source port the kernel stored");
    assert.equal(t.dp.counters.icmpErrorsMatched, 1);
    assert.equal(t.dp.counters.drops.ICMP_ERROR_UNKNOWN_FLOW, 0);
  });

  it("adds what the programs counted to the data path's counters", () => {
    const t = setup();
    t.dp.syncKernel();
    assert.equal(t.dp.counters.rxDatagrams, 10);
    assert.equal(t.dp.counters.tunTxPackets, 10);
    assert.equal(t.dp.counters.drops.BAD_VERSION, 1);
  });
});

describe("tg_flows key layout (kernelFlowKey, mirrored by tollgate.bpf.c)", () => {
  const key = (p: Buffer, tag = 7): Buffer => {
    const k = Buffer.alloc(FLOW_KEY_BYTES);
    kernelFlowKey(p, locate(p), tag, k);
    return k;
  };
  /** An IPv4 ("a.b.c.d") or IPv6 (16 bytes as hex) UDP header pair, enough to locate. */
  const udp = (src: string, dst: string, sport: number, dport: number): Buffer => {
    const v6 = !src.includes(".");
    const addr = (a: string): Buffer =>
      v6 ? Buffer.from(a, "hex") : Buffer.from(a.split(".").map(Number));
    const ip = Buffer.alloc(v6 ? 40 : 20);
    if (v6) {
      ip[0] = 0x60;
      ip.writeUInt16BE(8, 4);
      ip[6] = 17;
      addr(src).copy(ip, 8);
      addr(dst).copy(ip, 24);
    } else {
      ip[0] = 0x45;
      ip.writeUInt16BE(28, 2);
      ip[9] = 17;
      addr(src).copy(ip, 12);
      addr(dst).copy(ip, 16);
    }
    const l4 = Buffer.alloc(8);
    l4.writeUInt16BE(sport, 0);
    l4.writeUInt16BE(dport, 2);
    l4.writeUInt16BE(8, 4);
    return Buffer.concat([ip, l4]);
  };

  it("is the same both ways, lower (address, port) first, ports big-endian, IPv4 zero-padded", () => {
    const fwd = key(udp("10.100.0.2", "10.200.0.1", 40000, 53));
    assert.deepEqual(key(udp("10.200.0.1", "10.100.0.2", 53, 40000)), fwd);
    assert.equal(fwd.readUInt16LE(0), 7, "tag");
    assert.equal(fwd[2], 4, "family");
    assert.equal(fwd[3], 17, "protocol");
    assert.equal(fwd.readUInt16BE(4), 40000, "port of the lower address");
    assert.equal(fwd.readUInt16BE(6), 53);
    assert.deepEqual([...fwd.subarray(8, 12)], [10, 100, 0, 2]);
    assert.deepEqual([...fwd.subarray(24, 28)], [10, 200, 0, 1]);
    assert.ok(fwd.subarray(12, 24).every((b) => b === 0) && fwd.subarray(28).every((b) => b === 0));
  });

  it("orders equal addresses by port, and separates endpoints by tag", () => {
    const a = key(udp("10.0.0.1", "10.0.0.1", 9000, 80));
    assert.deepEqual(key(udp("10.0.0.1", "10.0.0.1", 80, 9000)), a);
    assert.equal(a.readUInt16BE(4), 80);
    assert.notDeepEqual(key(udp("10.0.0.1", "10.0.0.1", 80, 9000), 8), a);
  });

  it("keys IPv6 by all 16 address bytes", () => {
    const k = key(
      udp("20010db8000000000000000000000002", "20010db8000000000000000000000001", 1234, 53),
    );
    assert.equal(k[2], 6);
    assert.equal(k.readUInt16BE(4), 53, "2001:db8::1 sorts first");
    assert.equal(k[23], 1);
    assert.equal(k[39], 2);
  });
});
