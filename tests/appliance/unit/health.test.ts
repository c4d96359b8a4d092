import { strict as assert } from "node:assert";
import * as http from "node:http";
import {
  createMetrics,
  type DatapathStatus,
  HealthEvaluator,
  healthJson,
  type HealthServer,
  healthText,
  startHealthServer,
} from "@tollgate/appliance";
import { idleStatus, kernelStatus } from "../helpers/status";
import { evaluatorOptions, healthServerOptions } from "../helpers/settings";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Counters = Mutable<Omit<DatapathStatus["counters"], "drops">> & {
  drops: Record<string, number>;
};

function baseStatus(): Omit<Mutable<DatapathStatus>, "counters"> & { counters: Counters } {
  const idle = idleStatus([{ id: "02b8ee1d4db0c5100", gwi: "gwi-abc", gwo: "gwo-abc", up: true }]);
  return {
    ...idle,
    endpoints: [...idle.endpoints],
    listen: { address: "0.0.0.0", port: 6081 },
    flows: 3,
    counters: { ...idle.counters, drops: { TOO_SHORT: 0, TUN_WRITE_ERROR: 0, UNKNOWN_FLOW: 0 } },
    flowCache: { hits: 5, misses: 2, inserts: 3, expired: 1, evicted: 4 },
  };
}

describe("health evaluation", () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 0));

  it("is healthy and idle with no traffic", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock }));
    const r = e.evaluate(baseStatus());
    assert.equal(r.healthy, true);
    assert.equal(r.state, "idle");
    assert.deepEqual(r.reasons, []);
  });

  it("reports flow table evictions in the window and the details without failing", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 1000 }));
    const s = baseStatus();
    s.flowCapacity = 10;
    e.evaluate(s);
    now = 1000;
    s.flowCache = { ...s.flowCache!, evicted: 9 };
    const r = e.evaluate(s);
    assert.equal(r.healthy, true);
    assert.equal(r.window.evicted, 5);
    const text = healthText(r);
    assert.match(
      text,
      /flows: 3 of 10; 5 evicted in the last 1 s \(table full: .*raise flows\.maxEntries\), 9 evicted in total/,
    );
    const json = JSON.parse(healthJson(r)) as {
      window: { evicted: number };
      datapath: { flowCapacity: number; flowCache: { evicted: number } };
    };
    assert.deepEqual(
      [json.window.evicted, json.datapath.flowCapacity, json.datapath.flowCache.evicted],
      [5, 10, 9],
    );
  });

  it("says which data path runs, with the kernel path's attachment and punts", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock }));
    const kernel = {
      uplinks: ["ens5"],
      detached: [],
      puntedForward: 7,
      puntedReturn: 2,
      flowCapacity: 1000,
      canaryDecapsulated: 5,
      canaryEncapsulated: 5,
    };
    const r = e.evaluate({ ...baseStatus(), datapath: "kernel", kernel });
    const json = JSON.parse(healthJson(r)) as { datapath: { path: string; kernel: unknown } };
    assert.deepEqual([json.datapath.path, json.datapath.kernel], ["kernel", kernel]);
    assert.match(healthText(r), /data path running \(kernel path\)/);
    const user = JSON.parse(healthJson(e.evaluate({ ...baseStatus(), datapath: "user" }))) as {
      datapath: { path: string; kernel?: unknown };
    };
    assert.deepEqual([user.datapath.path, user.datapath.kernel], ["user", undefined]);
  });

  it("reports the kernel flow map's evictions in the window, the details and JSON without failing", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 1000 }));
    const s = baseStatus();
    s.flowCapacity = 1024;
    const kernel = (present: number, created: number, evicted: number) =>
      kernelStatus(1024, { mapId: 77, present, created, evicted });
    s.kernel = kernel(1000, 1500, 500);
    e.evaluate(s);
    now = 1000;
    s.kernel = kernel(1020, 4020, 3000);
    const r = e.evaluate(s);
    assert.equal(r.healthy, true, "evictions never fail health");
    assert.equal(r.window.kernelEvicted, 2500);
    assert.equal(r.window.evicted, 0, "the daemon's table evicted nothing in the window");
    const text = healthText(r);
    assert.match(text, /flows \(daemon's table\): 3 of 1024; 4 evicted in total/);
    assert.match(
      text,
      /kernel flows \(tg_flows, map id 77\): 1020 of 1024; 2500 evicted in the last 1 s \(table full: .*raise flows\.maxEntries\), 3000 evicted in total/,
    );
    const json = JSON.parse(healthJson(r)) as {
      window: { kernelEvicted: number };
      datapath: { kernel: { flows: { mapId: number; evicted: number; present: number } } };
    };
    assert.deepEqual(
      [
        json.window.kernelEvicted,
        json.datapath.kernel.flows.mapId,
        json.datapath.kernel.flows.evicted,
      ],
      [2500, 77, 3000],
    );
    s.kernel = kernelStatus(1024, { mapId: 77, created: 5, countError: "no BTF" });
    assert.match(
      healthText(e.evaluate(s)),
      /kernel flows \(tg_flows, map id 77\): 5 created; not counted \(no BTF\)/,
    );
  });

  it("fails when the socket is not bound, the loop stopped or an interface is down", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock }));
    const s = baseStatus();
    s.socketBound = false;
    s.running = false;
    s.endpoints = [{ id: "x", gwi: "gwi-x", gwo: "gwo-x", up: false }];
    const r = e.evaluate(s);
    assert.equal(r.healthy, false);
    assert.equal(r.state, "unhealthy");
    assert.equal(r.reasons.length, 3);
    assert.match(r.reasons.join("\n"), /socket is not bound/);
    assert.match(r.reasons.join("\n"), /gwi-x\/gwo-x .* not up/);
  });

  it("is forwarding when traffic flows, unhealthy when valid traffic stops being forwarded", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 10_000, minPackets: 20 }));
    const s = baseStatus();
    e.evaluate(s);
    now = 5000;
    s.counters.rxDatagrams = 100;
    s.counters.tunTxPackets = 100;
    assert.equal(e.evaluate(s).state, "forwarding");
    now = 11_000;
    assert.equal(e.evaluate(s).healthy, true);
    // Next window: 50 more datagrams, all failing to reach the tun.
    now = 15_000;
    s.counters.rxDatagrams = 150;
    s.counters.drops.TUN_WRITE_ERROR = 50;
    now = 22_000;
    const r = e.evaluate(s);
    assert.equal(r.healthy, false);
    assert.match(
      r.reasons[0]!,
      /none of the 50 valid datagrams .* forwarded \(most dropped as TUN_WRITE_ERROR: 50\)/,
    );
  });

  it("does not fail on junk datagrams or unknown-flow packets from the tuns", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 1000, minPackets: 5 }));
    const s = baseStatus();
    e.evaluate(s);
    s.counters.rxDatagrams = 1000;
    s.counters.drops.TOO_SHORT = 1000;
    s.counters.tunRxPackets = 40;
    s.counters.drops.UNKNOWN_FLOW = 40;
    now = 1500;
    const r = e.evaluate(s);
    assert.equal(r.healthy, true, r.reasons.join());
    assert.equal(r.state, "idle");
    assert.equal(r.window.dropped, 1040);
  });

  it("fails when known-flow packets come back from the tuns but no reply goes out", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 1000, minPackets: 5 }));
    const s = baseStatus();
    e.evaluate(s);
    s.counters.rxDatagrams = 10;
    s.counters.tunTxPackets = 10;
    s.counters.tunRxPackets = 10;
    s.counters.drops.SEND_ERROR = 10;
    now = 1200;
    const r = e.evaluate(s);
    assert.equal(r.healthy, false);
    assert.match(
      r.reasons.join(),
      /none of the 10 packets of known flows .* sent back \(most dropped as SEND_ERROR: 10\)/,
    );
  });

  it("recovers once a window passes without the failure", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock, windowMs: 1000, minPackets: 5 }));
    const s = baseStatus();
    e.evaluate(s);
    s.counters.rxDatagrams = 10;
    now = 1000;
    assert.equal(e.evaluate(s).healthy, false);
    now = 2000;
    s.counters.rxDatagrams = 20;
    s.counters.tunTxPackets = 10;
    assert.equal(e.evaluate(s).healthy, true);
    now = 3000;
    assert.equal(e.evaluate(s).healthy, true);
  });

  it("includes extra checks", () => {
    const e = new HealthEvaluator(evaluatorOptions({ clock }));
    const r = e.evaluate(baseStatus(), [{ name: "rp_filter", ok: false, detail: "gwi-x: EACCES" }]);
    assert.equal(r.healthy, false);
    assert.deepEqual(r.reasons, ["rp_filter: gwi-x: EACCES"]);
  });
});

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}, method = "GET") {
  return new Promise<{ status: number; type: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, headers, method }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body }),
        );
      });
      req.on("error", reject);
      req.end();
    },
  );
}

describe("health and metrics HTTP server", () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("answers 200 text / JSON when healthy and 503 with the reason when not", async () => {
    const s = baseStatus();
    server = await startHealthServer(
      healthServerOptions({
        port: 0,
        address: "127.0.0.1",
        datapath: { status: () => s },
      }),
    );
    let r = await get(server.port, "/");
    assert.equal(r.status, 200);
    assert.match(r.type!, /text\/plain/);
    assert.match(r.body, /^HEALTHY \(idle\)/);
    assert.match(r.body, /gwi-abc gwo-abc up/);
    r = await get(server.port, "/?format=json");
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body) as {
      healthy: boolean;
      endpoints: unknown[];
      datapath: { flows: number };
    };
    assert.equal(j.healthy, true);
    assert.equal(j.datapath.flows, 3);
    assert.equal(j.endpoints.length, 1);
    s.socketBound = false;
    r = await get(server.port, "/health", { Accept: "application/json" });
    assert.equal(r.status, 503);
    assert.deepEqual((JSON.parse(r.body) as { reasons: string[] }).reasons, [
      "socket: GENEVE UDP socket is not bound",
    ]);
    r = await get(server.port, "/", {}, "HEAD");
    assert.equal(r.status, 503);
    assert.equal(r.body, "");
    r = await get(server.port, "/", {}, "POST");
    assert.equal(r.status, 405);
  });

  it("answers with the status code only in simple mode and JSON by default with -j", async () => {
    const s = baseStatus();
    server = await startHealthServer(
      healthServerOptions({
        port: 0,
        address: "127.0.0.1",
        datapath: { status: () => s },
        detailed: false,
      }),
    );
    const r = await get(server.port, "/");
    assert.equal(r.status, 200);
    assert.equal(r.body, "");
    await server.close();
    server = await startHealthServer(
      healthServerOptions({
        port: 0,
        address: "127.0.0.1",
        datapath: { status: () => s },
        format: "json",
      }),
    );
    assert.equal(
      (JSON.parse((await get(server.port, "/")).body) as { healthy: boolean }).healthy,
      true,
    );
    assert.match((await get(server.port, "/?format=text")).body, /^HEALTHY/);
  });

  it("serves Prometheus metrics read from the status at scrape time", async () => {
    const s = baseStatus();
    s.counters.rxDatagrams = 42;
    s.counters.rxBytes = 4200;
    s.counters.drops.TOO_SHORT = 7;
    s.flowCapacity = 1000;
    const hooks = {
      stats: {
        CREATE: { ok: 2, failed: 1, timeout: 0, error: 0 },
        DESTROY: { ok: 0, failed: 0, timeout: 0, error: 0 },
      },
    };
    const rp = { stats: { checks: 9, resets: 3, errors: 0 } };
    const metrics = createMetrics({
      datapath: { status: () => s },
      hooks,
      rpFilter: rp,
      healthy: () => true,
      dropReasons: ["UNKNOWN_FLOW", "SEND_ERROR"],
    });
    server = await startHealthServer(
      healthServerOptions({
        port: 0,
        address: "127.0.0.1",
        datapath: { status: () => s },
        metrics,
      }),
    );
    let r = await get(server.port, "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.type!, /text\/plain/);
    const line = (re: RegExp) => assert.match(r.body, re);
    line(/^tollgate_geneve_rx_datagrams_total 42$/m);
    line(/^tollgate_geneve_rx_bytes_total 4200$/m);
    line(/^tollgate_drops_total\{reason="TOO_SHORT"\} 7$/m);
    line(/^tollgate_drops_total\{reason="MISSING_AWS_OPTION"\} 0$/m);
    line(/^tollgate_drops_total\{reason="SEND_ERROR"\} 0$/m);
    line(/^tollgate_flows\{path="user"\} 3$/m);
    line(/^tollgate_flows_max\{path="user"\} 1000$/m);
    line(/^tollgate_endpoints 1$/m);
    line(/^tollgate_flow_evictions_total\{path="user"\} 4$/m);
    assert.doesNotMatch(
      r.body,
      /^tollgate_\w+\{path="kernel"\}/m,
      "no kernel table on the user path",
    );
    line(/^tollgate_hook_runs_total\{action="create",outcome="failed"\} 1$/m);
    line(/^tollgate_rp_filter_resets_total 3$/m);
    line(/^tollgate_healthy 1$/m);
    line(/^tollgate_process_cpu_user_seconds_total /m);
    // Values follow the source, never accumulate across scrapes.
    s.counters.rxDatagrams = 50;
    r = await get(server.port, "/metrics");
    line(/^tollgate_geneve_rx_datagrams_total 50$/m);
    // The kernel path: its flow map by path="kernel", beside the daemon's table.
    s.kernel = kernelStatus(1000, { mapId: 9, present: 990, created: 2990, evicted: 2000 });
    r = await get(server.port, "/metrics");
    line(/^tollgate_flows\{path="kernel"\} 990$/m);
    line(/^tollgate_flows_max\{path="kernel"\} 1000$/m);
    line(/^tollgate_flow_evictions_total\{path="kernel"\} 2000$/m);
    line(/^tollgate_flow_evictions_total\{path="user"\} 4$/m);
    // Not counted (no BTF): no kernel series rather than a wrong 0.
    s.kernel = kernelStatus(1000, { mapId: 9, created: 5, countError: "no BTF" });
    r = await get(server.port, "/metrics");
    assert.doesNotMatch(r.body, /^tollgate_flows\{path="kernel"\}/m);
    assert.doesNotMatch(r.body, /^tollgate_flow_evictions_total\{path="kernel"\}/m);
    line(/^tollgate_flows_max\{path="kernel"\} 1000$/m);
  });

  it("returns 404 for /metrics without a registry and fails to start on a busy port", async () => {
    const s = baseStatus();
    server = await startHealthServer(
      healthServerOptions({
        port: 0,
        address: "127.0.0.1",
        datapath: { status: () => s },
      }),
    );
    assert.equal((await get(server.port, "/metrics")).status, 404);
    await assert.rejects(
      startHealthServer(
        healthServerOptions({
          port: server.port,
          address: "127.0.0.1",
          datapath: { status: () => s },
        }),
      ),
      /EADDRINUSE/,
    );
  });
});
