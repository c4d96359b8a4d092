import { strict as assert } from "node:assert";
import {
  DEFAULT_HEALTH,
  failoverLossBound,
  judgeFailover,
  judgeHttp,
  judgePing,
  judgeTcp,
  judgeUdp,
} from "@tollgate/lab";

const allow = { verdict: "allow" as const, because: "rules[1]" };
const drop = { verdict: "drop" as const, because: "rules[0]" };
const reject = { verdict: "reject" as const, because: "rules[2]" };

describe("lab demo judgements", () => {
  it("TCP: allow needs a connection; drop needs silence and nothing at the server; reject needs an RST", () => {
    assert.equal(judgeTcp(allow, { outcome: "connected", ms: 3, reply: "x" }, 1).status, "pass");
    assert.equal(judgeTcp(allow, { outcome: "timeout", ms: 1500 }, 0).status, "fail");
    assert.equal(judgeTcp(drop, { outcome: "timeout", ms: 1500 }, 0).status, "pass");
    assert.equal(
      judgeTcp(drop, { outcome: "timeout", ms: 1500 }, 1).status,
      "fail",
      "server saw it: it was not dropped on the way in",
    );
    assert.equal(
      judgeTcp(drop, { outcome: "refused", ms: 2 }, 0).status,
      "fail",
      "an RST is not a silent drop",
    );
    assert.equal(judgeTcp(reject, { outcome: "refused", ms: 2 }, 0).status, "pass");
    assert.equal(judgeTcp(reject, { outcome: "timeout", ms: 1500 }, 0).status, "fail");
    assert.equal(
      judgeTcp({ verdict: "unknown", because: "x" }, { outcome: "timeout", ms: 1 }, 0).status,
      "info",
    );
  });

  it("UDP, HTTP and ping", () => {
    assert.equal(judgeUdp(allow, { ok: true, reply: "hi", ms: 1 }, 1).status, "pass");
    assert.equal(judgeUdp(drop, { ok: false, error: "no reply", ms: 1000 }, 0).status, "pass");
    assert.equal(judgeUdp(drop, { ok: true, reply: "hi", ms: 1 }, 1).status, "fail");
    assert.equal(
      judgeUdp(drop, { ok: false, error: "ECONNREFUSED", ms: 3 }, 0).status,
      "fail",
      "refused is not a drop",
    );
    assert.match(
      judgeUdp(reject, { ok: false, error: "ECONNREFUSED", ms: 3 }, 0).detail,
      /ICMP port unreachable/,
    );
    assert.equal(judgeUdp(reject, { ok: false, error: "ECONNREFUSED", ms: 3 }, 0).status, "pass");
    const body = "hello (you are 10.10.1.10:4000)\n";
    assert.equal(
      judgeHttp(allow, { ok: true, status: 200, body, ms: 5 }, "10.10.1.10").status,
      "pass",
    );
    assert.equal(
      judgeHttp(
        allow,
        { ok: true, status: 200, body: "hello (you are 10.10.9.9:1)", ms: 5 },
        "10.10.1.10",
      ).status,
      "fail",
      "NAT on the path",
    );
    assert.equal(
      judgeHttp(allow, { ok: false, error: "timeout", ms: 3000 }, "10.10.1.10").status,
      "fail",
    );
    assert.equal(
      judgePing(allow, { available: true, transmitted: 3, received: 3, output: "" }).status,
      "pass",
    );
    assert.equal(
      judgePing(drop, { available: true, transmitted: 3, received: 1, output: "" }).status,
      "fail",
    );
    assert.equal(
      judgePing(allow, { available: false, transmitted: 0, received: 0, output: "" }).status,
      "skip",
    );
  });

  it("bounds failover loss from the health-check settings", () => {
    const b = failoverLossBound(DEFAULT_HEALTH, 20);
    assert.equal(b.ms, 3 * 500 + 400 + 300);
    assert.equal(b.packets, Math.ceil(2200 / 20) + 2);
  });

  it("failover passes when the failed target's flows move and recover within the bound", () => {
    const flows = [
      { localPort: 1, sent: 175, received: 140, maxGapMs: 700, receivedAtEnd: 40 },
      { localPort: 2, sent: 175, received: 175, maxGapMs: 25, receivedAtEnd: 44 },
    ];
    const facts = {
      killed: "app1",
      survivor: "app2",
      movedPorts: [1],
      detectionMs: 650,
      flowsMoved: 1,
      movedFlowTargets: ["app2"],
      stream: { flows, intervalMs: 20, durationMs: 3500 },
    };
    assert.equal(judgeFailover(facts, DEFAULT_HEALTH).status, "pass");
    assert.equal(
      judgeFailover({ ...facts, detectionMs: undefined }, DEFAULT_HEALTH).status,
      "fail",
    );
    assert.equal(judgeFailover({ ...facts, movedPorts: [] }, DEFAULT_HEALTH).status, "fail");
    assert.equal(
      judgeFailover({ ...facts, movedFlowTargets: ["app1"] }, DEFAULT_HEALTH).status,
      "fail",
    );
    const lossy = {
      ...facts,
      stream: { ...facts.stream, flows: [{ ...flows[0]!, received: 10 }, flows[1]!] },
    };
    assert.match(judgeFailover(lossy, DEFAULT_HEALTH).detail, /more than the bound/);
    const stuck = {
      ...facts,
      stream: { ...facts.stream, flows: [{ ...flows[0]!, receivedAtEnd: 0 }, flows[1]!] },
    };
    assert.match(judgeFailover(stuck, DEFAULT_HEALTH).detail, /did not recover/);
    const otherLoss = {
      ...facts,
      stream: { ...facts.stream, flows: [flows[0]!, { ...flows[1]!, received: 150 }] },
    };
    assert.match(judgeFailover(otherLoss, DEFAULT_HEALTH).detail, /should lose none/);
  });

  it("no_rebalance: the failed target keeps its flows, which go dark; the others are untouched", () => {
    const flows = [
      { localPort: 1, sent: 175, received: 40, maxGapMs: 2700, receivedAtEnd: 0 },
      { localPort: 2, sent: 175, received: 175, maxGapMs: 25, receivedAtEnd: 44 },
    ];
    const facts = {
      killed: "app1",
      survivor: "app2",
      movedPorts: [1],
      detectionMs: 600,
      flowsMoved: 0,
      movedFlowTargets: ["app1"],
      stream: { flows, intervalMs: 20, durationMs: 3500 },
      failover: "no_rebalance" as const,
    };
    assert.equal(judgeFailover(facts, DEFAULT_HEALTH).status, "pass");
    assert.match(
      judgeFailover({ ...facts, flowsMoved: 1, movedFlowTargets: ["app2"] }, DEFAULT_HEALTH).detail,
      /moved although/,
    );
  });
});
