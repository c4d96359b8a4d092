import { strict as assert } from "node:assert";
import { decodeGeneve, encodeGeneve } from "@tollgate/appliance";
import { Balancer, EmulatorCore, FlowTable, routable } from "@tollgate/lab";
import { icmpEcho, udpPacket } from "./packets";

const EP = 0x1ab2c3d4e5f60718n;
const ATT = 0xa0001n;
const targets = [
  { name: "app1", address: "10.10.100.11" },
  { name: "app2", address: "10.10.100.12" },
];

function core() {
  let seed = 3;
  const flows = new FlowTable({
    now: () => 0,
    random32: () => (seed = (Math.imul(seed, 747796405) + 2891336453) >>> 0),
  });
  const balancer = new Balancer({
    targets: ["app1", "app2"],
    hashMode: "5-tuple",
    failover: "rebalance",
    flows,
  });
  balancer.setState("app1", "healthy");
  balancer.setState("app2", "healthy");
  return new EmulatorCore({
    endpointId: EP,
    attachmentId: ATT,
    targets,
    hashMode: "5-tuple",
    balancer,
    now: () => 0,
  });
}

describe("lab GWLB emulator core", () => {
  it("encapsulates endpoint traffic with the AWS options and the flow's cookie", () => {
    const c = core();
    const pkt = udpPacket("10.10.1.10", 40000, "198.51.100.10", 7, "hello");
    const r = c.fromEndpoint(pkt);
    assert.ok(r.ok);
    assert.equal(r.port, 6081);
    const d = decodeGeneve(r.datagram);
    assert.ok(d.ok);
    assert.equal(d.header.endpointId, EP);
    assert.equal(d.header.attachmentId, ATT);
    assert.equal(d.header.flowCookie, r.flow.cookie);
    assert.deepEqual(r.datagram.subarray(d.innerOffset), pkt);
    assert.equal(c.counters.encapsulated, 1);
    assert.equal(c.counters.targets[r.target.name]!.sentPackets, 1);
  });

  it("sends the reverse direction to the same target with the same cookie", () => {
    const c = core();
    const a = c.fromEndpoint(udpPacket("10.10.1.10", 40000, "198.51.100.10", 7));
    const b = c.fromEndpoint(udpPacket("198.51.100.10", 7, "10.10.1.10", 40000));
    assert.ok(a.ok && b.ok);
    assert.equal(a.target, b.target);
    assert.equal(decodeGeneve(a.datagram).ok && decodeGeneve(b.datagram).ok, true);
    assert.equal(a.flow.cookie, b.flow.cookie);
  });

  it("decapsulates a target's reply and checks endpoint, attachment, cookie and sender", () => {
    const c = core();
    const pkt = icmpEcho("10.10.1.10", "198.51.100.10");
    const sent = c.fromEndpoint(pkt);
    assert.ok(sent.ok);
    const back = c.fromTarget(sent.datagram, sent.target.address);
    assert.ok(back.ok);
    assert.deepEqual(back.inner, pkt);
    assert.equal(c.counters.decapsulated, 1);

    const cookie = sent.flow.cookie;
    const mk = (ep: bigint, att: bigint, ck: number) =>
      encodeGeneve({ endpointId: ep, attachmentId: att, flowCookie: ck }, pkt);
    assert.deepEqual(c.fromTarget(mk(EP + 1n, ATT, cookie), "10.10.100.11"), {
      ok: false,
      reason: "WRONG_ENDPOINT",
    });
    assert.deepEqual(c.fromTarget(mk(EP, ATT + 1n, cookie), "10.10.100.11"), {
      ok: false,
      reason: "WRONG_ATTACHMENT",
    });
    assert.deepEqual(c.fromTarget(mk(EP, ATT, (cookie + 1) >>> 0), "10.10.100.11"), {
      ok: false,
      reason: "UNKNOWN_COOKIE",
    });
    assert.deepEqual(c.fromTarget(mk(EP, ATT, cookie), "10.10.100.99"), {
      ok: false,
      reason: "UNKNOWN_TARGET",
    });
    assert.deepEqual(c.fromTarget(Buffer.from([0xc0, 0, 0, 0]), "10.10.100.11"), {
      ok: false,
      reason: "GENEVE_TOO_SHORT",
    });
    assert.deepEqual(c.counters.drops, {
      WRONG_ENDPOINT: 1,
      WRONG_ATTACHMENT: 1,
      UNKNOWN_COOKIE: 1,
      UNKNOWN_TARGET: 1,
      GENEVE_TOO_SHORT: 1,
    });
  });

  it("counts unparseable endpoint packets by reason", () => {
    const c = core();
    assert.deepEqual(c.fromEndpoint(Buffer.from([0x45, 0])), {
      ok: false,
      reason: "INNER_TOO_SHORT",
    });
    assert.equal(c.counters.drops["INNER_TOO_SHORT"], 1);
  });

  it("moves a flow to the surviving target after a failure and accepts late replies from the old one", () => {
    const c = core();
    let first;
    let port = 40000;
    do first = c.fromEndpoint(udpPacket("10.10.1.10", port++, "198.51.100.10", 7));
    while (first.ok && first.target.name !== "app1");
    assert.ok(first.ok);
    const moved = c.setTargetState("app1", "unhealthy");
    assert.ok(moved && moved.moved >= 1);
    const again = c.fromEndpoint(udpPacket("10.10.1.10", port - 1, "198.51.100.10", 7));
    assert.ok(again.ok);
    assert.equal(again.target.name, "app2");
    assert.equal(again.flow.cookie, first.flow.cookie);
    const late = c.fromTarget(first.datagram, "10.10.100.11");
    assert.ok(late.ok);
    assert.equal(c.counters.returnedByPreviousTarget, 1);
  });

  it("does not carry link-local or multicast chatter of the endpoint interface", () => {
    const c = core();
    assert.deepEqual(c.fromEndpoint(udpPacket("10.10.1.10", 5353, "224.0.0.251", 5353)), {
      ok: false,
      reason: "NOT_ROUTABLE",
    });
    assert.equal(routable({ family: 6, protocol: 58, src: "fe80::1", dst: "ff02::16" }), false);
    assert.equal(
      routable({ family: 6, protocol: 58, src: "fd00:10:1::10", dst: "ff02::1" }),
      false,
    );
    assert.equal(
      routable({ family: 6, protocol: 6, src: "fd00:10:1::10", dst: "2001:db8:100::10" }),
      true,
    );
    assert.equal(routable({ family: 4, protocol: 17, src: "0.0.0.0", dst: "10.0.0.1" }), false);
    assert.equal(
      routable({ family: 4, protocol: 6, src: "10.10.1.10", dst: "198.51.100.10" }),
      true,
    );
    assert.equal(c.counters.drops["NOT_ROUTABLE"], 1);
  });
});
