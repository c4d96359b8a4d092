import { strict as assert } from "node:assert";
import { flowOf, type FlowView } from "@tollgate/lab";

function view(protocol: number, srcPort: number | undefined, target: string): FlowView {
  return {
    protocol,
    src: "10.10.1.10",
    dst: "198.51.100.10",
    ...(srcPort !== undefined ? { srcPort, dstPort: 7 } : {}),
    cookie: "00000001",
    target,
    targets: [target],
    forward: { packets: 1, bytes: 1 },
    reverse: { packets: 0, bytes: 0 },
    returned: { packets: 0, bytes: 0 },
    ageMs: 0,
    idleMs: 0,
  };
}

const c = { protocol: 17, client: "10.10.1.10", server: "198.51.100.10", clientPort: 42002 };

describe("lab flow lookup by hash mode", () => {
  it("5-tuple: the client port picks the entry", () => {
    const flows = [view(17, 42001, "app1"), view(17, 42002, "app2")];
    assert.equal(flowOf(flows, "5-tuple", c)?.target, "app2");
    assert.equal(flowOf(flows, "5-tuple", { ...c, clientPort: 9 }), undefined);
  });

  it("3-tuple: one entry per protocol between the two addresses", () => {
    const flows = [view(6, 40000, "app1"), view(17, 42001, "app2")];
    assert.equal(flowOf(flows, "3-tuple", c)?.target, "app2");
    assert.equal(flowOf(flows, "3-tuple", { ...c, protocol: 6 })?.target, "app1");
  });

  it("2-tuple: one entry for every protocol between the two addresses", () => {
    const flows = [view(6, 40000, "app1")];
    assert.equal(flowOf(flows, "2-tuple", c)?.target, "app1");
    assert.equal(flowOf(flows, "2-tuple", { ...c, server: "203.0.113.9" }), undefined);
  });
});
