/**
 * Truthful health, pure parts: the canary's signature and nonce, the prober's bookkeeping, and
 * how the evaluator turns canary records, grace and per-stage checks into 200/503 with reasons
 * naming the endpoint and the stage.
 */
import { strict as assert } from "node:assert";
import {
  buildCanary,
  buildUdpPacket,
  CANARY_PORT,
  canaryNonce,
  CanaryProber,
  CanaryState,
  canaryStatus,
  createPacketScratch,
  type EndpointStatus,
  hasCanarySignature,
  type HealthCheckResult,
  HealthEvaluator,
  locatePacket,
} from "@tollgate/appliance";
import { idleStatus } from "../helpers/status";
import { evaluatorOptions } from "../helpers/settings";

const ID = "02b8ee1d4db0c5100";

const status = idleStatus;

function endpoint(
  canary: EndpointStatus["canary"],
  ageMs = 60_000,
  setupDone = true,
): EndpointStatus {
  return { id: ID, gwi: "gwi-abc", gwo: "gwo-abc", up: true, ageMs, setupDone, canary };
}

const fresh = { sent: 0, returned: 0, lost: 0, consecutiveLost: 0 };

describe("health canary: signature and prober", () => {
  it("recognises its own packets by signature and nonce, and nothing else", () => {
    const p = buildCanary(0xdeadbeef, 42);
    const pkt = createPacketScratch();
    assert.equal(locatePacket(p, 0, p.length, pkt), undefined);
    assert.equal(hasCanarySignature(p, pkt), true);
    assert.deepEqual(canaryNonce(p, pkt), { instance: 0xdeadbeef, seq: 42 });
    assert.equal(p[8], 2, "TTL 2: one forwarding hop leaves 1");
    const other = buildUdpPacket({
      src: "198.18.0.2",
      dst: "198.19.0.1",
      srcPort: CANARY_PORT,
      dstPort: CANARY_PORT,
    });
    assert.equal(locatePacket(other, 0, other.length, pkt), undefined);
    assert.equal(hasCanarySignature(other, pkt), false);
    const sameAddresses = buildUdpPacket({
      src: "198.18.0.1",
      dst: "198.19.0.1",
      srcPort: CANARY_PORT,
      dstPort: CANARY_PORT,
      payload: Buffer.from("not a canary"),
    });
    locatePacket(sameAddresses, 0, sameAddresses.length, pkt);
    assert.equal(hasCanarySignature(sameAddresses, pkt), true);
    assert.equal(canaryNonce(sameAddresses, pkt), undefined);
  });

  it("counts a probe back from gwo-X as a round trip, an unanswered one as lost", () => {
    const rtts: number[] = [];
    const prober = new CanaryProber((ms) => rtts.push(ms), 7);
    const st = new CanaryState();
    const pkt = createPacketScratch();
    const p1 = prober.next(st, 1000);
    locatePacket(p1, 0, p1.length, pkt);
    prober.received(st, p1, pkt, true, 1000.5);
    assert.deepEqual(canaryStatus(st, 1500), {
      ...fresh,
      sent: 1,
      returned: 1,
      lastRttMs: 0.5,
      lastReturnAgoMs: 499.5,
    });
    assert.deepEqual(rtts, [0.5]);
    prober.next(st, 2000);
    const p3 = prober.next(st, 3000);
    assert.equal(st.consecutiveLost, 1);
    // Read from gwi-X (not out of the path), a foreign instance, or a late probe: stray.
    locatePacket(p3, 0, p3.length, pkt);
    prober.received(st, p3, pkt, false, 3001);
    const foreign = new CanaryProber(() => {}, 8).next(new CanaryState(), 0);
    locatePacket(foreign, 0, foreign.length, pkt);
    prober.received(st, foreign, pkt, true, 3001);
    locatePacket(p1, 0, p1.length, pkt);
    prober.received(st, p1, pkt, true, 3001);
    assert.deepEqual(prober.totals, { sent: 3, returned: 1, lost: 1, stray: 3 });
    locatePacket(p3, 0, p3.length, pkt);
    prober.received(st, p3, pkt, true, 3002);
    assert.equal(st.consecutiveLost, 0);
  });
});

describe("health evaluation with canaries and stages", () => {
  const now = 0;
  const evaluator = () =>
    new HealthEvaluator(evaluatorOptions({ clock: () => now, canaryFailures: 3, graceMs: 10_000 }));

  it("is healthy while canaries come back", () => {
    const r = evaluator().evaluate(
      status([endpoint({ ...fresh, sent: 5, returned: 5, lastRttMs: 0.3 })]),
    );
    assert.equal(r.healthy, true, r.reasons.join());
    assert.deepEqual(r.pending, []);
  });

  it("fails after `failures` probes in a row are lost, naming the endpoint and the stage", () => {
    const e = evaluator();
    const two = {
      ...fresh,
      sent: 7,
      returned: 5,
      lost: 2,
      consecutiveLost: 2,
      lastReturnAgoMs: 2500,
    };
    assert.equal(e.evaluate(status([endpoint(two)])).healthy, true);
    const r = e.evaluate(status([endpoint({ ...two, lost: 3, consecutiveLost: 3 })]));
    assert.equal(r.healthy, false);
    assert.equal(r.state, "unhealthy");
    assert.deepEqual(r.reasons, [
      `endpoint vpce-${ID} (gwi-abc) canary: 3 canaries in a row did not come out of gwo-abc (the last came back 2.5 s ago)`,
    ]);
    assert.deepEqual(
      r.checks.filter((c) => !c.ok).map((c) => [c.name, c.endpoint]),
      [["canary", ID]],
    );
  });

  it("gives a new endpoint its grace period (pending, said so), then fails it", () => {
    const e = evaluator();
    let r = e.evaluate(status([endpoint(fresh, 2000, false)]));
    assert.equal(r.healthy, true);
    assert.equal(r.state, "starting");
    assert.match(r.pending[0]!, /canary: forwarding is still being set up .*\(grace, 8 s left\)/);
    r = e.evaluate(status([endpoint({ ...fresh, sent: 2, lost: 1, consecutiveLost: 1 }, 4000)]));
    assert.equal(r.healthy, true);
    assert.match(r.pending[0]!, /no canary has come out of gwo-abc yet \(grace, 6 s left\)/);
    r = e.evaluate(status([endpoint({ ...fresh, sent: 1 }, 10_000)]));
    assert.equal(r.healthy, false);
    assert.match(r.reasons[0]!, /canary: no canary has come out of gwo-abc yet, 10 s after/);
    r = e.evaluate(status([endpoint(fresh, 11_000, false)]));
    assert.match(r.reasons[0]!, /forwarding is still being set up .*, 11 s after/);
  });

  it("fails at once on a known failure even during grace; ignores results of removed endpoints", () => {
    const hook: HealthCheckResult = {
      name: "hook",
      endpoint: ID,
      ok: false,
      detail: "CREATE hook failed (exit 1)",
    };
    const gone: HealthCheckResult = { name: "rules", endpoint: "0ffffffffffffffff", ok: false };
    const r = evaluator().evaluate(status([endpoint(fresh, 1000, true)]), [hook, gone]);
    assert.equal(r.healthy, false);
    assert.equal(r.state, "unhealthy");
    assert.deepEqual(r.reasons, [
      `endpoint vpce-${ID} (gwi-abc) hook: CREATE hook failed (exit 1)`,
    ]);
  });

  it("is 503 'starting' while a check that must pass first is pending (the rule engine at boot)", () => {
    const r = evaluator().evaluate(status([]), [
      { name: "rules-engine", ok: false, pending: true, detail: "first check still running" },
    ]);
    assert.equal(r.healthy, false);
    assert.equal(r.state, "starting");
    assert.deepEqual(r.reasons, ["rules-engine: first check still running"]);
    assert.deepEqual(r.pending, ["rules-engine: first check still running"]);
  });

  it("looks at no canary when it is off", () => {
    const r = evaluator().evaluate(status([endpoint(undefined, 60_000)]));
    assert.equal(r.healthy, true);
  });
});
