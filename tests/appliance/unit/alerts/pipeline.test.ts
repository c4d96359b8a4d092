import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import {
  type ApplianceConfig,
  createControlPlane,
  createLogger,
  DEFAULT_CONFIG,
  AlertCounts,
  alertsCommand,
  AlertService,
  ConfigError,
  loadConfig,
  appendWriter,
  buildUdpPacket,
  decodeEveLine,
  endpointOfFlow,
  endpointOfInterface,
  endpointResolver,
  flowKey,
  type FlowKey,
  sameFlowKey,
  formatAlert,
  type LineWriter,
  MAX_SIGNATURE_LABELS,
  RecentAlerts,
  registerAlertMetrics,
} from "@tollgate/appliance";
import {
  SURICATA6_ALERT,
  SURICATA7_ALERT,
  SURICATA7_IPS_BLOCKED,
  SURICATA7_STATS,
} from "./eve-lines";
import { waitFor } from "../../../wait";
import { fetchText } from "../../helpers/http";
import { idleStatus } from "../../helpers/status";

const VPCE = "vpce-02b8ee1d4db0c5100";

function alertOf(line: string) {
  const d = decodeEveLine(line);
  assert.ok(d.kind === "alert");
  return d.alert;
}

/** A flow table view holding one flow (10.0.1.10:40000 <-> 198.51.100.7:5353 UDP) under tag 7. */
function flowTable() {
  const packet = buildUdpPacket({
    src: "10.0.1.10",
    dst: "198.51.100.7",
    srcPort: 40000,
    dstPort: 5353,
    payload: Buffer.from("x"),
  });
  const stored = flowKey(packet, 0, packet.length, 7)!;
  const flows = { has: (key: FlowKey) => sameFlowKey(key, stored) };
  const endpoints = [
    { tag: 3, info: { idHex17: "00000000000000001" } },
    { tag: 7, info: { idHex17: "02b8ee1d4db0c5100" } },
  ];
  return { flows, endpoints: { list: () => endpoints } };
}

describe("alert endpoint resolution", () => {
  it("names the endpoint from a gwi-/gwo- capture interface", () => {
    assert.equal(endpointOfInterface("gwi-5bqWvzLwwh4"), VPCE);
    assert.equal(endpointOfInterface("gwo-5bqWvzLwwh4"), VPCE);
    for (const other of [undefined, "0", "eth0", "gwi-", "gwi-!!", "NFQ#0"])
      assert.equal(endpointOfInterface(other), undefined, String(other));
  });

  it("finds the endpoint in the flow table by 5-tuple, in either direction", () => {
    const table = flowTable();
    assert.equal(endpointOfFlow(table, alertOf(SURICATA7_ALERT)), VPCE);
    assert.equal(endpointOfFlow(table, alertOf(SURICATA7_IPS_BLOCKED)), VPCE);
    const elsewhere = alertOf(SURICATA7_ALERT.replace('"src_port":40000', '"src_port":40001'));
    assert.equal(endpointOfFlow(table, elsewhere), undefined);
  });

  it("finds the endpoint in the kernel path's flows when the daemon's table has none", () => {
    const seen: number[] = [];
    const table = {
      ...flowTable(),
      flows: { has: () => false },
      kernel: {
        lookupFlow: (_buf: Uint8Array, s: { srcPort: number }, ep: { tag: number }) => {
          seen.push(ep.tag);
          return ep.tag === 7 && s.srcPort === 40000 ? {} : undefined;
        },
      },
    };
    assert.equal(endpointOfFlow(table, alertOf(SURICATA7_ALERT)), VPCE);
    assert.deepEqual(seen, [3, 7]);
  });

  it("prefers the interface, falls back to the flow table", () => {
    const resolve = endpointResolver(flowTable());
    assert.equal(resolve(alertOf(SURICATA6_ALERT)), VPCE);
    assert.equal(resolve(alertOf(SURICATA7_IPS_BLOCKED)), VPCE);
    assert.equal(endpointResolver()(alertOf(SURICATA7_IPS_BLOCKED)), undefined);
  });
});

describe("alert counts", () => {
  it("bounds the signature label set: the first 100 ids, then other", () => {
    const c = new AlertCounts();
    for (let sid = 1; sid <= 150; sid++) c.alert(sid, "blocked", undefined);
    c.alert(1, "blocked", VPCE);
    const labels = [...c.bySignature.entries()];
    assert.equal(labels.length, MAX_SIGNATURE_LABELS + 1);
    assert.equal(labels.find((e) => e.label === "other")?.n, 50);
    assert.equal(labels.find((e) => e.label === "1")?.n, 2);
    const eps = [...c.byEndpoint.entries()].map((e) => [e.label, e.n]);
    assert.deepEqual(eps, [
      ["unknown", 150],
      [VPCE, 1],
    ]);
  });
});

describe("recent alerts ring", () => {
  it("keeps the newest, oldest first", () => {
    const r = new RecentAlerts(3);
    const a = alertOf(SURICATA7_ALERT);
    for (let i = 1; i <= 5; i++) r.push({ ...a, signatureId: i });
    assert.deepEqual(
      r.list().map((x) => x.signatureId),
      [3, 4, 5],
    );
    assert.throws(() => new RecentAlerts(0), /positive integer/);
  });
});

describe("alert service", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-alerts-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("counts lines, writes resolved alerts to the alert log and exports metrics", async () => {
    const eve = path.join(dir, "eve.json");
    const log = path.join(dir, "log", "alerts.json");
    fs.writeFileSync(eve, `${SURICATA7_ALERT}\n`); // history: skipped
    const service = new AlertService({
      eveFile: eve,
      alertLog: appendWriter(log),
      resolveEndpoint: endpointResolver(flowTable()),
    });
    service.follower.poll();
    fs.appendFileSync(
      eve,
      [SURICATA7_IPS_BLOCKED, SURICATA6_ALERT, SURICATA7_STATS, "garbage", ""].join("\n"),
    );
    service.close();
    assert.deepEqual(service.counts.lines, { alert: 2, event: 1, bad: 1 });
    const written = fs
      .readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => decodeEveLine(l));
    assert.deepEqual(
      written.map((d) => d.kind === "alert" && [d.alert.signatureId, d.alert.endpoint]),
      [
        [1000002, VPCE],
        [2100498, VPCE],
      ],
    );
    const registry = new Registry();
    registerAlertMetrics(registry, service);
    const text = await registry.metrics();
    assert.match(text, /tollgate_ids_alerts_total\{signature_id="1000002",action="blocked"\} 1/);
    assert.match(text, /tollgate_ids_alerts_total\{signature_id="2100498",action="allowed"\} 1/);
    assert.match(
      text,
      new RegExp(`tollgate_ids_endpoint_alerts_total\\{endpoint="${VPCE}",action="blocked"\\} 1`),
    );
    assert.match(text, /tollgate_ids_eve_lines_total\{kind="bad"\} 1/);
    assert.match(text, /tollgate_ids_eve_lines_total\{kind="event"\} 1/);
  });

  it("counts alert log write failures", () => {
    const eve = path.join(dir, "eve.json");
    const failing: LineWriter = { write: () => false, close: () => undefined };
    const service = new AlertService({
      eveFile: eve,
      alertLog: failing,
      resolveEndpoint: () => undefined,
    });
    service.handle(SURICATA7_ALERT);
    assert.equal(service.counts.alertLogErrors, 1);
  });
});

describe("tollgate alerts", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-alerts-cli-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(o: Parameters<typeof alertsCommand>[0]): Promise<string> {
    let out = "";
    const w = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    });
    await alertsCommand(o, w);
    return out;
  }

  it("prints the last alerts readably, with the endpoint the daemon wrote", async () => {
    const log = path.join(dir, "alerts.json");
    const withEndpoint = JSON.stringify({
      ...JSON.parse(SURICATA7_IPS_BLOCKED),
      gwlb_endpoint: VPCE,
    });
    fs.writeFileSync(log, [SURICATA7_ALERT, withEndpoint, ""].join("\n"));
    const text = await run({ file: log, last: "1" });
    assert.equal(
      text,
      `2025-12-03T12:00:01.123456+0000  blocked  sid 1:1000002:1  "TOLLGATE evil"  UDP 198.51.100.7:5353 -> 10.0.1.10:40000  ${VPCE}\n`,
    );
    const json = JSON.parse(await run({ file: log, last: "5", json: true })) as {
      signatureId: number;
      endpoint?: string;
    }[];
    assert.deepEqual(
      json.map((a) => [a.signatureId, a.endpoint]),
      [
        [1000001, undefined],
        [1000002, VPCE],
      ],
    );
  });

  it("--eve reads Suricata's log and names endpoints by interface only", async () => {
    fs.writeFileSync(path.join(dir, "eve.json"), `${SURICATA6_ALERT}\n${SURICATA7_ALERT}\n`);
    const config = path.join(dir, "tollgate.yaml");
    fs.writeFileSync(config, `suricata:\n  logDir: ${dir}\n`);
    const lines = (await run({ config, eve: true, last: "20" })).trim().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.endsWith(VPCE));
    assert.ok(lines[1]!.endsWith("endpoint unknown"));
  });

  it("says so when there is no alert log yet, and rejects a bad --last", async () => {
    assert.match(await run({ file: path.join(dir, "none.json"), last: "5" }), /does not exist/);
    assert.equal(await run({ file: path.join(dir, "none.json"), last: "5", json: true }), "[]\n");
    await assert.rejects(run({ file: "x", last: "0" }), /--last 0/);
  });

  it("reads --config with the daemon's loader: an unreadable or invalid file is a ConfigError naming it", async () => {
    const missing = path.join(dir, "missing.yaml");
    assert.throws(() => loadConfig({ config: missing }), ConfigError);
    await assert.rejects(run({ config: missing, last: "5" }), (e: Error) => {
      assert.ok(e instanceof ConfigError, `a ConfigError, not ${e.name}`);
      assert.match(
        e.message,
        new RegExp(`^--config ${missing}: cannot be read \\(.*ENOENT.*\\)\\. Fix: `),
      );
      return true;
    });
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "suricata:\n  logDri: /x\n");
    const daemon = (() => {
      try {
        loadConfig({ config: bad });
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    assert.match(daemon, /logDri/);
    await assert.rejects(run({ config: bad, last: "5" }), (e: Error) => e.message === daemon);
  });

  it("formats IPv6 addresses with brackets", () => {
    const a = alertOf(SURICATA7_ALERT.replace('"10.0.1.10"', '"2001:db8::1"'));
    assert.match(formatAlert(a), /UDP \[2001:db8::1\]:40000 -> 198\.51\.100\.7:5353/);
  });
});

describe("alerts in the control plane", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-alerts-cp-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("follows <suricata.logDir>/eve.json, writes alerts.log and counts in /metrics", async () => {
    const config: ApplianceConfig = {
      ...DEFAULT_CONFIG,
      rpFilter: { ...DEFAULT_CONFIG.rpFilter, manage: false },
      health: { ...DEFAULT_CONFIG.health, port: 0, address: "127.0.0.1" },
      suricata: { ...DEFAULT_CONFIG.suricata, logDir: dir },
      alerts: { log: path.join(dir, "alerts.json") },
    };
    const cp = createControlPlane(config, createLogger("silent"));
    await cp.start({ status: () => idleStatus() }, { flows: flowTable() });
    try {
      fs.writeFileSync(path.join(dir, "eve.json"), `${SURICATA7_IPS_BLOCKED}\n`);
      const log = await waitFor("the alert log line", () => {
        const text = fs.existsSync(config.alerts.log)
          ? fs.readFileSync(config.alerts.log, "utf8")
          : "";
        return text.includes("\n") ? text : undefined;
      });
      assert.match(log, new RegExp(`"gwlb_endpoint":"${VPCE}"`));
      const m = await fetchText(cp.health!.port, "/metrics");
      assert.match(
        m.body,
        /^tollgate_ids_alerts_total\{signature_id="1000002",action="blocked"\} 1$/m,
      );
    } finally {
      await cp.stop();
    }
  });
});
