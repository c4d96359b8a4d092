import { strict as assert } from "node:assert";
import { Balancer, FlowTable, type FlowTuple, parseFailoverMode } from "@tollgate/lab";

function setup(failover: "rebalance" | "no_rebalance" = "rebalance", targets = ["app1", "app2"]) {
  let now = 1000;
  let seed = 1;
  const flows = new FlowTable({
    now: () => now,
    random32: () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0),
    tcpIdleMs: 350_000,
    otherIdleMs: 120_000,
  });
  const b = new Balancer({ targets, hashMode: "5-tuple", failover, flows });
  for (const t of targets) b.setState(t, "healthy");
  return { b, flows, advance: (ms: number) => (now += ms), now: () => now };
}

function udp(port: number): FlowTuple {
  return {
    family: 4,
    protocol: 17,
    src: "10.10.1.10",
    dst: "198.51.100.10",
    srcPort: port,
    dstPort: 7,
  };
}
function back(t: FlowTuple): FlowTuple {
  return { ...t, src: t.dst, dst: t.src, srcPort: t.dstPort, dstPort: t.srcPort };
}

describe("lab GWLB balancer", () => {
  it("keeps a flow and its reply on one target with one cookie, counting each direction", () => {
    const { b, now } = setup();
    const r1 = b.route(udp(40000), 100, now());
    const r2 = b.route(back(udp(40000)), 60, now());
    assert.ok(r1.ok && r2.ok);
    assert.equal(r1.created, true);
    assert.equal(r2.created, false);
    assert.equal(r1.flow, r2.flow);
    assert.equal(r1.initiator, true);
    assert.equal(r2.initiator, false);
    assert.deepEqual(r1.flow.forward, { packets: 1, bytes: 100 });
    assert.deepEqual(r1.flow.reverse, { packets: 1, bytes: 60 });
    assert.ok(r1.flow.cookie > 0);
  });

  it("gives live flows distinct cookies and finds flows by cookie", () => {
    const { b, flows, now } = setup();
    const cookies = new Set<number>();
    for (let p = 40000; p < 40200; p++) {
      const r = b.route(udp(p), 100, now());
      assert.ok(r.ok);
      cookies.add(r.flow.cookie);
      assert.equal(flows.byCookie(r.flow.cookie), r.flow);
    }
    assert.equal(cookies.size, 200);
  });

  it("sends new flows only to healthy targets, and fails open when none is healthy", () => {
    const { b, now } = setup();
    b.setState("app1", "unhealthy");
    for (let p = 41000; p < 41050; p++) {
      const r = b.route(udp(p), 1, now());
      assert.ok(r.ok && r.flow.target === "app2");
    }
    b.setState("app2", "unhealthy");
    assert.deepEqual(b.eligibleTargets(), ["app1", "app2"]);
    assert.ok(b.route(udp(42000), 1, now()).ok);
  });

  it("rebalance moves exactly the failed target's flows to healthy ones", () => {
    const { b, flows, now } = setup();
    for (let p = 40000; p < 40100; p++) b.route(udp(p), 1, now());
    const onApp1 = flows
      .entries()
      .filter((f) => f.target === "app1")
      .map((f) => f.key);
    const onApp2 = flows
      .entries()
      .filter((f) => f.target === "app2")
      .map((f) => f.key);
    assert.ok(onApp1.length > 20 && onApp2.length > 20);
    const r = b.setState("app1", "unhealthy");
    assert.deepEqual(r, { target: "app1", moved: onApp1.length, to: { app2: onApp1.length } });
    for (const f of flows.entries()) {
      assert.equal(f.target, "app2");
      if (onApp1.includes(f.key)) assert.deepEqual(f.targets, ["app1", "app2"]);
      else assert.deepEqual(f.targets, ["app2"]);
    }
    assert.equal(b.movedTotal, onApp1.length);
    // Recovery does not move flows back (stickiness); new flows may use app1 again.
    b.setState("app1", "healthy");
    assert.ok(flows.entries().every((f) => f.target === "app2"));
  });

  it("no_rebalance leaves existing flows on the failed target", () => {
    const { b, flows, now } = setup("no_rebalance");
    for (let p = 40000; p < 40040; p++) b.route(udp(p), 1, now());
    const before = flows.entries().map((f) => f.target);
    assert.equal(b.setState("app1", "unhealthy"), undefined);
    assert.deepEqual(
      flows.entries().map((f) => f.target),
      before,
    );
  });

  it("expires idle flows by protocol timeout and bounds the table with LRU eviction", () => {
    const { b, flows, now, advance } = setup();
    b.route(udp(40000), 1, now());
    b.route({ ...udp(40001), protocol: 6 }, 1, now());
    advance(121_000);
    assert.equal(flows.expire(), 1);
    assert.equal(flows.size, 1);
    advance(230_000);
    assert.equal(flows.expire(), 1);
    assert.equal(flows.expired, 2);

    let seed = 7;
    const small = new FlowTable({
      now,
      random32: () => (seed = (seed * 48271) % 2147483647),
      maxEntries: 3,
    });
    const b2 = new Balancer({
      targets: ["a"],
      hashMode: "5-tuple",
      failover: "rebalance",
      flows: small,
    });
    for (let p = 1; p <= 5; p++) b2.route(udp(p), 1, now());
    assert.equal(small.size, 3);
    assert.equal(small.evicted, 2);
  });

  it("validates its configuration", () => {
    const flows = new FlowTable({ now: () => 0, random32: () => 1 });
    assert.throws(
      () => new Balancer({ targets: [], hashMode: "5-tuple", failover: "rebalance", flows }),
      /at least one/,
    );
    assert.throws(
      () =>
        new Balancer({ targets: ["a", "a"], hashMode: "5-tuple", failover: "rebalance", flows }),
      /duplicate/,
    );
    assert.equal(parseFailoverMode("no_rebalance"), "no_rebalance");
    assert.throws(() => parseFailoverMode("noRebalance"), /snake_case/);
  });
});
