import { strict as assert } from "node:assert";
import {
  type ApplianceConfig,
  createControlPlane,
  createLogger,
  DEFAULT_CONFIG,
  endpointInfo,
  type ExecFn,
  type SysctlFs,
} from "@tollgate/appliance";
import { fetchText } from "../helpers/http";
import { captureLogger } from "../helpers/logger";
import { idleStatus } from "../helpers/status";

describe("control plane assembly", () => {
  it("wires rp_filter, hooks, health and metrics from the config", async () => {
    const ep = endpointInfo(0x2b8ee1d4db0c5100n);
    const execs: string[][] = [];
    const exec: ExecFn = async (file, args) => {
      execs.push([file, ...args]);
      return { code: 0, signal: null, stdout: "", stderr: "", timedOut: false };
    };
    const files = new Map<string, string>([
      ["/proc/sys/net/ipv4/conf/all/rp_filter", "1"],
      ["/proc/sys/net/ipv4/conf/default/rp_filter", "1"],
      [`/proc/sys/net/ipv4/conf/${ep.gwi}/rp_filter`, "1"],
      [`/proc/sys/net/ipv4/conf/${ep.gwo}/rp_filter`, "1"],
    ]);
    const sysctlFs: SysctlFs = {
      read: async (p) => files.get(p) ?? Promise.reject(new Error("ENOENT")),
      write: async (p, v) => void files.set(p, v),
    };
    const { logger, lines: logs } = captureLogger();
    const config: ApplianceConfig = {
      ...DEFAULT_CONFIG,
      hooks: { create: ["/bin/create"], destroy: ["/bin/destroy"], timeoutSeconds: 1 },
      health: { ...DEFAULT_CONFIG.health, port: 0, address: "127.0.0.1" },
      rpFilter: { manage: true, global: true, intervalSeconds: 0 },
      threads: { udp: 4 },
    };
    const cp = createControlPlane(config, logger, { exec, sysctlFs });
    assert.equal(cp.listeners.length, 2);
    assert.equal(cp.listeners[0], cp.rpFilter);
    assert.equal(cp.listeners[1], cp.hooks);

    const status = idleStatus([{ id: ep.idHex17, gwi: ep.gwi, gwo: ep.gwo, up: true }]);
    await cp.start({ status: () => status }, { dropReasons: ["UNKNOWN_FLOW"] });
    assert.equal(files.get("/proc/sys/net/ipv4/conf/all/rp_filter"), "0");
    for (const l of cp.listeners) await l.created(ep);
    assert.equal(files.get(`/proc/sys/net/ipv4/conf/${ep.gwi}/rp_filter`), "0");
    assert.deepEqual(execs, [["/bin/create", "CREATE", ep.gwi, ep.gwo, ep.idHex17]]);

    const port = cp.health!.port;
    const h = await fetchText(port, "/");
    assert.equal(h.status, 200);
    const m = await fetchText(port, "/metrics");
    assert.match(m.body, /^tollgate_hook_runs_total\{action="create",outcome="ok"\} 1$/m);
    assert.match(m.body, /^tollgate_drops_total\{reason="UNKNOWN_FLOW"\} 0$/m);
    assert.match(m.body, /^tollgate_hook_duration_seconds_count\{action="create"\} 1$/m);

    // rp_filter that cannot be fixed makes the appliance unhealthy, with the reason.
    files.delete(`/proc/sys/net/ipv4/conf/${ep.gwo}/rp_filter`);
    await cp.rpFilter!.check();
    const bad = await fetchText(port, "/?format=json");
    assert.equal(bad.status, 503);
    assert.match(bad.body, /rp_filter: gwo-/);

    for (const l of [...cp.listeners].reverse()) await l.destroyed(ep);
    assert.deepEqual(execs[1], ["/bin/destroy", "DESTROY", ep.gwi, ep.gwo, ep.idHex17]);
    await cp.stop();
    await cp.stop();
    assert.ok(logs.some((l) => l.includes("thread options accepted for compatibility")));
    assert.ok(logs.some((l) => l.includes('"component":"hooks"')));
  });

  it("leaves rp_filter alone and serves no HTTP when not configured", async () => {
    const cp = createControlPlane(
      { ...DEFAULT_CONFIG, rpFilter: { ...DEFAULT_CONFIG.rpFilter, manage: false } },
      createLogger("silent"),
    );
    assert.equal(cp.rpFilter, undefined);
    assert.equal(cp.listeners.length, 1);
    await cp.start({ status: () => idleStatus() });
    assert.equal(cp.health, undefined);
    await cp.stop();
  });
});
