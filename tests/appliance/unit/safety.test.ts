/**
 * Issue 9 safety defaults of the daemon's configuration: no start without a forwarding path
 * (unless forwarding is declared external), GENEVE sources limited to the GWLB's CIDRs
 * (`--gwlb-cidr` / `gwlbCidrs`), and what the daemon says about both in its log and health.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Writable } from "node:stream";
import {
  type ApplianceConfig,
  compileSourceAllowList,
  createControlPlane,
  createLogger,
  DATAPATH_DROP_REASONS,
  DEFAULT_CONFIG,
  exposureNotes,
  forwardingProblems,
  ipv4CidrProblem,
  resolveConfig,
  sourceAllowed,
} from "@tollgate/appliance";
import { runCli } from "../helpers/cli";
import { problems } from "../helpers/config-problems";
import { fetchText } from "../helpers/http";
import { idleStatus } from "../helpers/status";

/** The CLI with a fake daemon, quiet. */
const runQuiet = (argv: string[], files?: Record<string, string>) =>
  runCli([...argv, "--log-level", "silent"], files);

describe("no forwarding path: tollgate run refuses to start", () => {
  it("names every way to add one", () => {
    const [p, ...rest] = forwardingProblems(DEFAULT_CONFIG);
    assert.deepEqual(rest, []);
    assert.match(p!, /^no forwarding path: /);
    for (const fix of [
      "--rules FILE",
      "`rules: FILE`",
      "examples/rules/default.yaml",
      "-c/--cmdnew",
      "`hooks.create`",
      "--external-forwarding",
      "`externalForwarding: true`",
    ]) {
      assert.ok(p!.includes(fix), `message lacks ${fix}: ${p}`);
    }
  });

  it("accepts a rules file, a CREATE hook or declared external forwarding", () => {
    for (const argv of [["--rules", "r.yaml"], ["-c", "/hook.sh"], ["--external-forwarding"]]) {
      assert.deepEqual(forwardingProblems(resolveConfig(argv)), [], argv.join(" "));
    }
    const fromFile = (text: string) => forwardingProblems(resolveConfig(["--config", "t"], text));
    assert.deepEqual(fromFile("rules: /etc/tollgate/rules.yaml\n"), []);
    assert.deepEqual(fromFile("hooks: { create: /hook.sh }\n"), []);
    assert.deepEqual(fromFile("externalForwarding: true\n"), []);
    assert.equal(fromFile("externalForwarding: false\n").length, 1);
    assert.equal(
      fromFile("hooks: { destroy: /hook.sh }\n").length,
      1,
      "DESTROY alone forwards nothing",
    );
  });

  it("exits 2 without starting the daemon, the fix on stderr", async () => {
    const r = await runQuiet(["-p", "8080", "--idle", "350"]);
    assert.equal(r.code, 2);
    assert.equal(r.config, undefined, "daemon not started");
    assert.match(r.stderr, /^tollgate: no forwarding path: /);
    assert.match(r.stderr, /--rules FILE/);
    const f = await runQuiet(["--config", "t.yaml"], { "t.yaml": "health: { port: 8080 }\n" });
    assert.equal(f.code, 2);
    assert.equal(f.config, undefined);
  });

  it("is what the installed command does (exit 2, nothing started)", () => {
    const bin = path.resolve(__dirname, "../../../../appliance/bin/tollgate.js");
    const r = spawnSync(process.execPath, [bin, "run", "-p", "8080"], {
      encoding: "utf8",
      timeout: 15000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tollgate: no forwarding path: /);
    assert.equal(r.stdout, "", "no daemon log: nothing was started");
  });

  it("starts with --external-forwarding or externalForwarding: true", async () => {
    const r = await runQuiet(["--external-forwarding"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.config?.externalForwarding, true);
    const f = await runQuiet(["--config", "t.yaml"], { "t.yaml": "externalForwarding: true\n" });
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.config?.externalForwarding, true);
    assert.equal(resolveConfig([]).externalForwarding, false);
  });
});

describe("GENEVE sources: --gwlb-cidr / gwlbCidrs", () => {
  it("defaults to any source", () => {
    assert.deepEqual(resolveConfig([]).gwlbCidrs, []);
  });

  it("takes a repeatable flag or a YAML list; the command line replaces the file", () => {
    assert.deepEqual(
      resolveConfig(["--gwlb-cidr", "10.0.1.0/28", "--gwlb-cidr", "10.0.2.16/28"]).gwlbCidrs,
      ["10.0.1.0/28", "10.0.2.16/28"],
    );
    const file = "gwlbCidrs:\n  - 10.0.1.0/28\n  - 10.0.2.0/28\n";
    assert.deepEqual(resolveConfig(["--config", "t"], file).gwlbCidrs, [
      "10.0.1.0/28",
      "10.0.2.0/28",
    ]);
    assert.deepEqual(
      resolveConfig(["--config", "t", "--gwlb-cidr", "192.168.0.0/16"], file).gwlbCidrs,
      ["192.168.0.0/16"],
    );
  });

  it("rejects what is not an IPv4 CIDR, naming the key and the fix", () => {
    const cli = problems(() =>
      resolveConfig(["--gwlb-cidr", "10.0.1.0/33", "--gwlb-cidr", "10.0.1.5/24"]),
    );
    assert.deepEqual(cli, [
      '--gwlb-cidr: "10.0.1.0/33" is not an IPv4 CIDR (e.g. 10.0.1.0/28, the GWLB subnet\'s CIDR (one address: 10.0.1.5/32))',
      '--gwlb-cidr: "10.0.1.5/24" has host bits set: did you mean 10.0.1.0/24?',
    ]);
    const file = problems(() =>
      resolveConfig(["--config", "t.yaml"], "gwlbCidrs:\n  - 10.0.1.0/28\n  - fd00::/64\n"),
    );
    assert.equal(file.length, 1);
    assert.match(
      file[0]!,
      /^t\.yaml:3:5: gwlbCidrs\.1: "fd00::\/64" is an IPv6 CIDR; GWLB sends GENEVE over IPv4 only/,
    );
    assert.match(
      problems(() => resolveConfig(["--config", "t.yaml"], "gwlbCidrs: 10.0.1.0/28\n"))[0]!,
      /^t\.yaml:1:\d+: gwlbCidrs: /,
    );
    assert.equal(ipv4CidrProblem("10.0.1.0/28"), undefined);
    assert.match(ipv4CidrProblem("10.1/8")!, /not an IPv4 CIDR/);
    assert.match(ipv4CidrProblem("10.0.0.1")!, /not an IPv4 CIDR.*10\.0\.1\.5\/32/);
  });

  it("matches addresses by network and mask (host byte order)", () => {
    const list = compileSourceAllowList(["10.0.1.0/28", "192.168.7.9/32", "10.0.2.0/028"]);
    assert.deepEqual(list.cidrs, ["10.0.1.0/28", "192.168.7.9/32", "10.0.2.0/28"]);
    const ip = (a: number, b: number, c: number, d: number) =>
      ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    assert.equal(sourceAllowed(list, ip(10, 0, 1, 0)), true);
    assert.equal(sourceAllowed(list, ip(10, 0, 1, 15)), true);
    assert.equal(sourceAllowed(list, ip(10, 0, 1, 16)), false);
    assert.equal(sourceAllowed(list, ip(10, 0, 0, 255)), false);
    assert.equal(sourceAllowed(list, ip(192, 168, 7, 9)), true);
    assert.equal(sourceAllowed(list, ip(192, 168, 7, 8)), false);
    assert.equal(sourceAllowed(list, ip(10, 0, 2, 3)), true);
    assert.equal(sourceAllowed(compileSourceAllowList(["0.0.0.0/0"]), ip(203, 0, 113, 1)), true);
    assert.throws(() => compileSourceAllowList(["10.0.0.0/99"]), RangeError);
  });

  it("has its own drop reason in the data path's family", () => {
    assert.ok((DATAPATH_DROP_REASONS as readonly string[]).includes("SOURCE_NOT_ALLOWED"));
  });
});

/** Starts a control plane with a health server; returns its log lines and the server's port. */
async function startPlane(config: Partial<ApplianceConfig>) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger(
    "info",
    new Writable({
      write(chunk: Buffer, _e, cb) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  );
  const cp = createControlPlane(
    {
      ...DEFAULT_CONFIG,
      rpFilter: { ...DEFAULT_CONFIG.rpFilter, manage: false },
      health: { ...DEFAULT_CONFIG.health, port: 0, address: "127.0.0.1" },
      ...config,
    },
    logger,
  );
  await cp.start({ status: () => idleStatus() }, { dropReasons: DATAPATH_DROP_REASONS });
  return { cp, logs, port: cp.health!.port };
}

describe("what the daemon says about its exposure", () => {
  it("warns at start-up and in health details (text and JSON) that any source is accepted", async () => {
    const { cp, logs, port } = await startPlane({});
    try {
      const warn = logs.find((l) => l.level === "warn" && String(l.msg).includes("GENEVE sources"));
      assert.ok(warn, JSON.stringify(logs));
      assert.match(String(warn.msg), /ANY source accepted \(no --gwlb-cidr \/ gwlbCidrs\)/);
      const text = await fetchText(port, "/?format=text");
      assert.equal(text.status, 200, "a warning, not a health failure");
      assert.match(text.body, /^check geneve-sources: ok \(ANY source accepted/m);
      const json = JSON.parse((await fetchText(port, "/?format=json")).body) as {
        checks: { name: string; detail: string }[];
      };
      assert.match(json.checks.find((c) => c.name === "geneve-sources")!.detail, /^ANY source/);
      const metrics = await fetchText(port, "/metrics");
      assert.match(metrics.body, /^tollgate_drops_total\{reason="SOURCE_NOT_ALLOWED"\} 0$/m);
    } finally {
      await cp.stop();
    }
  });

  it("names the allowed CIDRs and external forwarding when configured", async () => {
    const { cp, logs, port } = await startPlane({
      gwlbCidrs: ["10.0.1.0/28", "10.0.2.0/28"],
      externalForwarding: true,
    });
    try {
      assert.ok(!logs.some((l) => l.level === "warn"), JSON.stringify(logs));
      const msgs = logs.map((l) => String(l.msg));
      assert.ok(
        msgs.includes("geneve-sources: only from 10.0.1.0/28, 10.0.2.0/28"),
        msgs.join("\n"),
      );
      assert.ok(
        msgs.some((m) => m.startsWith("forwarding: external")),
        msgs.join("\n"),
      );
      const text = await fetchText(port, "/");
      assert.match(
        text.body,
        /^check geneve-sources: ok \(only from 10\.0\.1\.0\/28, 10\.0\.2\.0\/28\)$/m,
      );
      assert.match(text.body, /^check forwarding: ok \(external \(--external-forwarding/m);
    } finally {
      await cp.stop();
    }
    assert.deepEqual(
      exposureNotes({ ...DEFAULT_CONFIG, rulesFile: "r.yaml" }).map((n) => n.name),
      ["geneve-sources"],
      "nothing about forwarding when the daemon sets it up itself",
    );
  });
});
