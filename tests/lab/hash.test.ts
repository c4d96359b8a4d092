import { strict as assert } from "node:assert";
import fc from "fast-check";
import { flowKey, type FlowTuple, fnv1a, parseHashMode, pickTarget } from "@tollgate/lab";

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const tupleArb = fc.record({
  family: fc.constant(4 as const),
  protocol: fc.constantFrom(6, 17),
  src: ipv4,
  dst: ipv4,
  srcPort: fc.integer({ min: 1, max: 65535 }),
  dstPort: fc.integer({ min: 1, max: 65535 }),
});

function reverse(t: FlowTuple): FlowTuple {
  return { ...t, src: t.dst, dst: t.src, srcPort: t.dstPort, dstPort: t.srcPort };
}

describe("lab GWLB flow hashing", () => {
  it("gives both directions of a flow the same key in every mode", () => {
    fc.assert(
      fc.property(
        tupleArb,
        fc.constantFrom("5-tuple", "3-tuple", "2-tuple" as const),
        (t, mode) => {
          assert.equal(flowKey(t, mode), flowKey(reverse(t), mode));
        },
      ),
    );
  });

  it("5-tuple separates ports, 3-tuple ignores them, 2-tuple also ignores the protocol", () => {
    const a: FlowTuple = {
      family: 4,
      protocol: 6,
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1000,
      dstPort: 80,
    };
    const b: FlowTuple = { ...a, srcPort: 1001 };
    const c: FlowTuple = { ...a, protocol: 17 };
    assert.notEqual(flowKey(a, "5-tuple"), flowKey(b, "5-tuple"));
    assert.equal(flowKey(a, "3-tuple"), flowKey(b, "3-tuple"));
    assert.notEqual(flowKey(a, "3-tuple"), flowKey(c, "3-tuple"));
    assert.equal(flowKey(a, "2-tuple"), flowKey(c, "2-tuple"));
  });

  it("hashes protocols without ports by 3-tuple even in 5-tuple mode", () => {
    const icmp: FlowTuple = { family: 4, protocol: 1, src: "10.0.0.1", dst: "10.0.0.2" };
    assert.equal(flowKey(icmp, "5-tuple"), flowKey(icmp, "3-tuple"));
  });

  it("maps AWS stickiness values and rejects others", () => {
    assert.equal(parseHashMode("source_ip_dest_ip_proto"), "3-tuple");
    assert.equal(parseHashMode("source_ip_dest_ip"), "2-tuple");
    assert.equal(parseHashMode("5-tuple"), "5-tuple");
    assert.throws(() => parseHashMode("4-tuple"), /invalid hash mode/);
  });

  it("spreads many flows over targets roughly evenly", () => {
    const counts: Record<string, number> = { app1: 0, app2: 0, app3: 0 };
    for (let port = 1024; port < 1024 + 3000; port++) {
      const key = flowKey(
        {
          family: 4,
          protocol: 17,
          src: "10.10.1.10",
          dst: "198.51.100.10",
          srcPort: port,
          dstPort: 7,
        },
        "5-tuple",
      );
      const t = pickTarget(key, ["app1", "app2", "app3"])!;
      counts[t]!++;
    }
    for (const n of Object.values(counts)) assert.ok(n > 800 && n < 1200, JSON.stringify(counts));
  });

  it("moves only the flows of a target that leaves (rendezvous hashing)", () => {
    fc.assert(
      fc.property(fc.array(tupleArb, { minLength: 1, maxLength: 50 }), (tuples) => {
        for (const t of tuples) {
          const key = flowKey(t, "5-tuple");
          const before = pickTarget(key, ["app1", "app2", "app3"]);
          const after = pickTarget(key, ["app1", "app3"]);
          if (before !== "app2") assert.equal(after, before);
          else assert.ok(after === "app1" || after === "app3");
        }
      }),
    );
  });

  it("returns no target from an empty set and a stable 32-bit hash", () => {
    assert.equal(pickTarget("k", []), undefined);
    assert.equal(fnv1a("abc"), fnv1a("abc"));
    assert.ok(fnv1a("abc") >= 0 && fnv1a("abc") <= 0xffffffff);
    assert.notEqual(fnv1a("abc"), fnv1a("abd"));
  });
});
