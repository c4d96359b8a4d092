import { strict as assert } from "node:assert";
import { parseMatcher, resolveHealthSettings, TargetHealth } from "@tollgate/lab";

const pass = { ok: true, detail: "200" };
const fail = { ok: false, detail: "ECONNREFUSED" };

describe("lab GWLB health checks", () => {
  it("starts initial and becomes healthy after the healthy threshold", () => {
    const h = new TargetHealth({ healthyThreshold: 3, unhealthyThreshold: 2 });
    assert.equal(h.state, "initial");
    assert.equal(h.record(pass), undefined);
    assert.equal(h.record(pass), undefined);
    assert.deepEqual(h.record(pass), { from: "initial", to: "healthy" });
    assert.equal(h.record(pass), undefined);
    assert.equal(h.checks, 4);
  });

  it("needs consecutive failures to become unhealthy; a pass resets the count", () => {
    const h = new TargetHealth({ healthyThreshold: 2, unhealthyThreshold: 3 });
    h.record(pass);
    h.record(pass);
    assert.equal(h.state, "healthy");
    h.record(fail);
    h.record(fail);
    h.record(pass);
    h.record(fail);
    h.record(fail);
    assert.equal(h.state, "healthy");
    assert.deepEqual(h.record(fail), { from: "healthy", to: "unhealthy" });
    assert.equal(h.detail, "ECONNREFUSED");
  });

  it("recovers after the healthy threshold", () => {
    const h = new TargetHealth({ healthyThreshold: 2, unhealthyThreshold: 2 });
    h.record(fail);
    assert.deepEqual(h.record(fail), { from: "initial", to: "unhealthy" });
    h.record(pass);
    assert.equal(h.state, "unhealthy");
    assert.deepEqual(h.record(pass), { from: "unhealthy", to: "healthy" });
  });

  it("matches status codes like a target group matcher", () => {
    const m = parseMatcher("200-399");
    assert.ok(m(200) && m(302) && m(399));
    assert.ok(!m(199) && !m(400) && !m(503));
    const list = parseMatcher("200,204");
    assert.ok(list(204) && !list(201));
    assert.throws(() => parseMatcher("2xx"), /invalid health check matcher/);
    assert.throws(() => parseMatcher("399-200"), /empty/);
  });

  it("validates settings", () => {
    assert.equal(resolveHealthSettings().intervalMs, 500);
    assert.throws(() => resolveHealthSettings({ timeoutMs: 600 }), /less than intervalMs/);
    assert.throws(() => resolveHealthSettings({ healthyThreshold: 0 }), /healthyThreshold/);
    assert.throws(() => resolveHealthSettings({ path: "health" }), /must start with \//);
  });
});
