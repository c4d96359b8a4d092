/**
 * Root-only end to end through GENEVE: the lab's GWLB emulator (client and internet namespaces,
 * tun endpoint, GENEVE on UDP 6081), the real data path daemon with the rules listener in the
 * appliance namespace, and Squid in intercept mode there. An HTTP request from the client crosses
 * GENEVE to the appliance, is intercepted by Squid, reaches the internet server, and the reply
 * returns through gwo-X and GENEVE to the client.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExecRunner, NATIVE_ADDON_PATH } from "@tollgate/appliance";
import {
  DEFAULT_HEALTH,
  defaultPaths,
  type Lab as LabRun,
  labDown,
  labUp,
  realProcessControl,
} from "@tollgate/lab";
import { skipReason } from "./netns/topology";

const PROBE = path.join(__dirname, "netns", "probe.js");
const FIXTURE = path.join(__dirname, "fixtures-bin", "appliance.js");

const RULES = `
version: 1
defaults:
  mode: inspect
  policy: allow
rules:
  - action: redirect
    proto: tcp
    ports: 80
    toPort: 3129
`;

function ns(name: string, ...argv: string[]): string {
  return execFileSync("ip", ["netns", "exec", name, ...argv], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function probe(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", name, process.execPath, PROBE, ...args], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<string, unknown>);
      } catch {
        resolve({ ok: false, error: `bad output ${out}` });
      }
    });
  });
}

describe("transparent Squid behind GENEVE with the real daemon (root)", function () {
  this.timeout(90000);
  const prefix = `tgd${process.pid}g`;
  const runner = new ExecRunner({ timeoutMs: 10_000 });
  let dir: string;
  let lab: LabRun | undefined;
  let squid: ChildProcess | undefined;
  const log: string[] = [];

  before(async function () {
    const reason = skipReason(["squid", "ss"]);
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    if (!fs.existsSync(NATIVE_ADDON_PATH)) {
      console.log(`    skipped: native addon not built (${NATIVE_ADDON_PATH}); run npm run build`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-geneve-"));
    fs.chmodSync(dir, 0o777);
    const rulesFile = path.join(dir, "rules.yaml");
    fs.writeFileSync(rulesFile, RULES);
    process.env.TOLLGATE_RULES_STATE = path.join(dir, "rules-state.json");
    lab = await labUp({
      prefix,
      appliances: 1,
      stateDir: path.join(dir, "lab"),
      run: {
        rulesFile,
        hashMode: "5-tuple",
        failover: "rebalance",
        health: DEFAULT_HEALTH,
        extraTcpPorts: [],
        extraUdpPorts: [],
        appliance: "tollgate",
      },
      detached: false,
      runner,
      paths: { ...defaultPaths(), applianceBin: FIXTURE },
      log: (l) => log.push(l),
    });
    const t = lab.topology;
    const app = t.namespaces.appliances[0]!;
    // Squid's own upstream connection: appliance -> GWLB bridge -> internet, and back (these
    // routes are the appliance's "eth0" path; they stay outside the GWLB endpoint).
    ns(app, "ip", "route", "add", t.server.subnet, "via", t.gwlb.address);
    ns(t.namespaces.internet, "ip", "route", "add", "10.10.100.0/24", "via", t.gwlb.edgeAddress);
    ns(
      t.namespaces.gwlb,
      "ip",
      "rule",
      "add",
      "pref",
      "50",
      "iif",
      "i0",
      "to",
      "10.10.100.0/24",
      "lookup",
      "main",
    );
    fs.writeFileSync(
      path.join(dir, "squid.conf"),
      [
        "http_port 3128",
        "http_port 3129 intercept",
        "http_access allow all",
        "cache deny all",
        "pinger_enable off",
        "visible_hostname tollgate-geneve-test",
        `pid_filename ${dir}/squid.pid`,
        `access_log stdio:${dir}/access.log`,
        `cache_log ${dir}/cache.log`,
        `coredump_dir ${dir}`,
        "shutdown_lifetime 1 seconds",
        "",
      ].join("\n"),
    );
    squid = spawn("ip", ["netns", "exec", app, "squid", "-N", "-f", path.join(dir, "squid.conf")], {
      stdio: "ignore",
    });
    for (let i = 0; i < 100; i++) {
      if (ns(app, "ss", "-ltnH", "sport = :3129").includes("3129")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (process.env.TGD_KEEP) {
      console.log(`kept: ${dir}`);
      await new Promise((r) => setTimeout(r, Number(process.env.TGD_KEEP) * 1000));
    }
    if (squid?.pid && squid.exitCode === null) process.kill(squid.pid, "SIGKILL");
    if (lab) await labDown(runner, realProcessControl, lab.topology, (l) => log.push(l));
    delete process.env.TOLLGATE_RULES_STATE;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("client -> GENEVE -> appliance -> Squid -> server, and the reply back through GENEVE", async () => {
    const t = lab!.topology;
    const app = t.namespaces.appliances[0]!;
    let r: Record<string, unknown> = {};
    for (let i = 0; i < 3 && r.ok !== true; i++) {
      r = await probe(t.namespaces.client, "http", t.server.address, "80", "4000");
    }
    assert.equal(r.ok, true, `${JSON.stringify(r)}\n${log.join("\n")}`);
    assert.equal(r.status, 200);
    assert.match(String(r.via), /squid/i, "answered through Squid");
    const access = fs.readFileSync(path.join(dir, "access.log"), "utf8");
    assert.match(access, new RegExp(`${t.client.address.replace(/\./g, "\\.")} .*GET http://`));
    const save = ns(app, "iptables-save", "-t", "nat");
    assert.match(
      save,
      /-A TOLLGATE-PREROUTING -i gwi-\S+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3129/,
    );
    const links = ns(app, "ip", "-o", "link", "show");
    assert.match(links, /gwi-\S+: <POINTOPOINT/, "the daemon's tun interfaces carried the traffic");
  });
});
