/**
 * Hold queue: a new endpoint's packets wait until its listeners (rp_filter, CREATE hook, rules)
 * have finished, then go to gwi-X in order; bounded by packets and bytes (newest dropped,
 * HOLD_QUEUE_FULL), released by a timeout, flushed after a failing listener, counted when the
 * endpoint goes away first, and visible in /metrics.
 */
import { strict as assert } from "node:assert";
import {
  createMetrics,
  Datapath,
  DATAPATH_DROP_REASONS,
  type DatapathOptions,
  type EndpointInfo,
  totalDrops,
  tunNames,
} from "@tollgate/appliance";
import { type EmulatedFlow, generateFlows, GwlbPeer, stampSequence } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { datapathOptions } from "../helpers/settings";

const GWLB = 0x0a000001;
const ME = 0x0a000002;

/** A listener whose created() finishes when the test says so. */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const calls: string[] = [];
  const done = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return {
    calls,
    open: () => open(),
    fail: (e: Error) => fail(e),
    listener: {
      created: async (e: EndpointInfo) => {
        calls.push(`created ${e.gwi}`);
        await done;
      },
      destroyed: async (e: EndpointInfo) => void calls.push(`destroyed ${e.gwi}`),
    },
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup(options: Partial<DatapathOptions> = {}) {
  const port = new FakePort();
  const g = gate();
  const dp = new Datapath(port, datapathOptions({ listeners: [g.listener], ...options }));
  dp.start(0);
  return {
    port,
    dp,
    g,
    send(flow: EmulatedFlow, inner: Buffer = flow.inner): void {
      port.queue(GwlbPeer.encapsulate(flow, inner), GWLB, 40000, ME);
      port.pump();
    },
  };
}

describe("data path hold queue for new endpoints (in-memory port)", () => {
  it("holds packets until created() finished, then writes them in order", async () => {
    const t = setup();
    const flows = generateFlows({ flows: 3 });
    const inners = flows.flatMap((f) => [stampSequence(f, 1), stampSequence(f, 2)]);
    for (let i = 0; i < inners.length; i++) t.send(flows[Math.floor(i / 2)]!, inners[i]);
    const { gwi } = tunNames(flows[0]!.endpointId);
    assert.deepEqual(t.g.calls, [`created ${gwi}`]);
    assert.equal(t.port.tuns.get(gwi)!.written.length, 0, "nothing written before created()");
    assert.equal(t.port.sent.length, 0);
    assert.equal(t.dp.counters.holdQueued, 6);
    t.g.open();
    await settle();
    assert.deepEqual(t.port.tuns.get(gwi)!.written, inners, "flushed in arrival order");
    assert.equal(t.port.sent.length, 6, "replies of the flushed packets (mirror)");
    assert.deepEqual(
      t.port.sent.map((r) => r.payload.subarray(-inners[0]!.length)),
      inners,
      "returned with their flows' headers, in order",
    );
    assert.equal(t.dp.counters.holdFlushed, 6);
    assert.equal(t.dp.counters.tunTxPackets, 6);
    assert.equal(totalDrops(t.dp.counters), 0);
    t.send(flows[0]!, stampSequence(flows[0]!, 3));
    assert.equal(t.port.tuns.get(gwi)!.written.length, 7, "later packets go straight through");
    assert.equal(t.dp.counters.holdQueued, 6);
    await t.dp.stop();
  });

  it("drops the newest packets when the packet limit is reached (HOLD_QUEUE_FULL)", async () => {
    const t = setup({ holdMaxPackets: 2 });
    const [f] = generateFlows({ flows: 1 });
    const inners = [1, 2, 3, 4].map((s) => stampSequence(f!, s));
    for (const p of inners) t.send(f!, p);
    assert.equal(t.dp.counters.holdQueued, 2);
    assert.equal(t.dp.counters.drops.HOLD_QUEUE_FULL, 2);
    t.g.open();
    await settle();
    assert.deepEqual(t.port.tuns.get(tunNames(f!.endpointId).gwi)!.written, inners.slice(0, 2));
    await t.dp.stop();
  });

  it("drops packets that would exceed the byte limit", async () => {
    const t = setup({ holdMaxBytes: 1100 });
    const [f] = generateFlows({ flows: 1, size: 512 });
    for (let s = 0; s < 3; s++) t.send(f!, stampSequence(f!, s));
    assert.equal(t.dp.counters.holdQueued, 2, "2 x 512 bytes fit, the third does not");
    assert.equal(t.dp.counters.drops.HOLD_QUEUE_FULL, 1);
    t.g.open();
    await settle();
    assert.equal(t.dp.counters.holdFlushed, 2);
    await t.dp.stop();
  });

  it("flushes after a failing listener (logged and counted, data path keeps running)", async () => {
    const warnings: string[] = [];
    const t = setup({
      logger: { info() {}, warn: (_o, m) => void warnings.push(m ?? ""), error() {} },
    });
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    t.g.fail(new Error("hook exited with status 1"));
    await settle();
    assert.equal(t.dp.counters.listenerErrors, 1);
    assert.ok(warnings.includes("endpoint listener failed"));
    assert.equal(t.dp.counters.holdFlushed, 1);
    assert.equal(t.port.sent.length, 1);
    await t.dp.stop();
  });

  it("releases the queue after holdTimeoutMs when created() hangs, once", async () => {
    const warnings: string[] = [];
    const t = setup({
      holdTimeoutMs: 20,
      logger: { info() {}, warn: (_o, m) => void warnings.push(m ?? ""), error() {} },
    });
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    t.send(f!);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(t.dp.counters.holdTimeouts, 1);
    assert.equal(t.dp.counters.holdFlushed, 2);
    assert.equal(t.port.sent.length, 2);
    assert.ok(warnings.some((w) => w.includes("hold timeout")));
    t.send(f!);
    assert.equal(t.port.sent.length, 3, "no longer holding");
    t.g.open();
    await settle();
    assert.equal(t.dp.counters.holdFlushed, 2, "finishing later flushes nothing twice");
    assert.equal(t.port.sent.length, 3, "each packet written to gwi- once");
    await t.dp.stop();
  });

  it("counts held packets as HOLD_ABANDONED when the daemon stops before created() finished", async () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    t.send(f!);
    const stopping = t.dp.stop();
    t.g.open();
    await stopping;
    assert.equal(t.dp.counters.drops.HOLD_ABANDONED, 2);
    assert.equal(t.dp.counters.holdFlushed, 0);
    assert.equal(t.port.tuns.get(tunNames(f!.endpointId).gwi)!.written.length, 0);
  });

  it("holds nothing with holdTimeoutMs 0 or without listeners", () => {
    for (const dp of [
      (p: FakePort) =>
        new Datapath(p, datapathOptions({ holdTimeoutMs: 0, listeners: [gate().listener] })),
      (p: FakePort) => new Datapath(p, datapathOptions()),
    ]) {
      const port = new FakePort();
      const d = dp(port);
      d.start(0);
      const [f] = generateFlows({ flows: 1 });
      port.queue(GwlbPeer.encapsulate(f!, f!.inner), GWLB, 40000, ME);
      port.pump();
      assert.equal(port.sent.length, 1);
      assert.equal(d.counters.holdQueued, 0);
      void d.stop();
    }
  });

  it("keeps holding per endpoint: a ready endpoint is not delayed by a new one", async () => {
    const t = setup();
    const [a, b] = generateFlows({ flows: 2, endpoints: 2 });
    t.send(a!);
    t.g.open(); // the gate is shared: a's and b's created() both finish now
    await settle();
    assert.equal(t.port.sent.length, 1);
    t.send(b!);
    await settle();
    assert.equal(t.port.sent.length, 2, "b held until its (already open) listener returned");
    t.send(a!);
    assert.equal(t.port.sent.length, 3);
    await t.dp.stop();
  });

  it("exposes hold, ICMP and fragment counters and the new drop reasons in /metrics", async () => {
    const t = setup({ holdMaxPackets: 1 });
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    t.send(f!);
    t.g.open();
    await settle();
    const metrics = createMetrics({
      datapath: {
        status: () => ({
          running: true,
          socketBound: true,
          listen: { address: "0.0.0.0", port: 6081 },
          endpoints: [],
          flows: t.dp.flows.size,
          idleMs: undefined,
          counters: t.dp.counters,
        }),
      },
      dropReasons: DATAPATH_DROP_REASONS,
    });
    const text = await metrics.render();
    assert.match(text, /^tollgate_hold_queued_packets_total 1$/m);
    assert.match(text, /^tollgate_hold_flushed_packets_total 1$/m);
    assert.match(text, /^tollgate_hold_timeouts_total 0$/m);
    assert.match(text, /^tollgate_icmp_errors_matched_total 0$/m);
    assert.match(text, /^tollgate_fragments_matched_total 0$/m);
    assert.match(text, /^tollgate_drops_total\{reason="HOLD_QUEUE_FULL"\} 1$/m);
    for (const r of ["HOLD_ABANDONED", "ICMP_ERROR_UNKNOWN_FLOW", "FRAGMENT_UNKNOWN_FLOW"]) {
      assert.match(text, new RegExp(`^tollgate_drops_total\\{reason="${r}"\\} 0$`, "m"));
    }
    await t.dp.stop();
  });
});
