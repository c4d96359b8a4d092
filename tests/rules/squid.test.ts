/**
 * Root-only: transparent HTTP proxy on the appliance. Squid runs in intercept mode in the
 * appliance namespace with the squid.conf fragment from docs/squid.md; the rules file redirects
 * tcp/80 arriving on gwi-1 to it. The client's request is answered by the server through Squid,
 * and the reply leaves the appliance by gwo-1 (mark + policy routing) back to the client.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MINIMAL_CAPABILITIES, parseRules, RulesEngine } from "@tollgate/appliance";
import { CLIENT4, Lab, SERVER4, skipReason, UPLINK4 } from "./netns/topology";

const RULES = `
version: 1
defaults:
  mode: inspect
  policy: drop
rules:
  - action: redirect
    proto: tcp
    ports: 80
    toPort: 3129
  - action: redirect
    proto: tcp
    ports: 8000
    toPort: 3130
    method: tproxy
  - action: allow
    proto: icmp
`;

/** The squid.conf fragment documented in docs/squid.md, plus test-local paths. */
function squidConf(dir: string): string {
  return [
    "# --- Tollgate fragment (docs/squid.md) ---",
    "http_port 3128",
    "http_port 3129 intercept",
    "http_port 3130 tproxy",
    "# --- test-local settings ---",
    "http_access allow all",
    "cache deny all",
    "pinger_enable off",
    "visible_hostname tollgate-test",
    `pid_filename ${dir}/squid.pid`,
    `access_log stdio:${dir}/access.log`,
    `cache_log ${dir}/cache.log`,
    `coredump_dir ${dir}`,
    "shutdown_lifetime 1 seconds",
    "",
  ].join("\n");
}

describe("transparent Squid proxy behind the rule engine (root)", function () {
  this.timeout(60000);
  const lab = new Lab();
  let dir: string;
  let squid: ChildProcess | undefined;

  before(async function () {
    const reason = skipReason(["squid", "ss"]);
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    lab.setup();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-squid-"));
    fs.chmodSync(dir, 0o777);
    fs.writeFileSync(path.join(dir, "squid.conf"), squidConf(dir));
    await lab.serve(lab.s, "serve-http", "80", "origin");
    await lab.serve(lab.s, "serve-http", "8000", "origin8000");
    squid = spawn(
      "ip",
      ["netns", "exec", lab.a, "squid", "-N", "-f", path.join(dir, "squid.conf")],
      {
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 100; i++) {
      const out = lab.trySh(lab.a, "ss", "-ltnH", "sport = :3129") ?? "";
      if (out.includes("3129")) break;
      if (squid.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(lab.trySh(lab.a, "ss", "-ltnH", "sport = :3129") ?? "").includes("3129")) {
      const log = fs.existsSync(path.join(dir, "cache.log"))
        ? fs.readFileSync(path.join(dir, "cache.log"), "utf8")
        : "";
      throw new Error(`squid did not start: ${log.slice(-2000)}`);
    }
    const engine = new RulesEngine({
      runner: lab.runner,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "state.json"),
    });
    const parsed = parseRules(RULES, "squid.yaml");
    assert.ok(parsed.ok);
    await engine.apply(parsed.rules, [{ gwi: "gwi-1", gwo: "gwo-1" }]);
  });

  after(() => {
    if (squid?.pid && squid.exitCode === null) process.kill(squid.pid, "SIGKILL");
    if (process.env.TGD_DEBUG && dir)
      console.log(fs.readFileSync(path.join(dir, "cache.log"), "utf8").slice(-3000));
    lab.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("intercepts HTTP from the client, fetches from the server, returns the reply through gwo", async () => {
    const before = lab.rxPackets(lab.r, "r-out");
    const r = await lab.probe(lab.c, "http", SERVER4, "80", "5000");
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      `origin ${UPLINK4}`,
      "the origin saw Squid's connection from the appliance",
    );
    assert.match(r.via ?? "", /squid/i);
    assert.ok(lab.rxPackets(lab.r, "r-out") > before, "replies left the appliance by gwo-1");
    const log = fs.readFileSync(path.join(dir, "access.log"), "utf8");
    assert.match(
      log,
      new RegExp(`${CLIENT4.replace(/\./g, "\\.")} .*GET http://${SERVER4.replace(/\./g, "\\.")}/`),
    );
  });

  it("TPROXY: Squid sees and keeps the client's address; the server's reply returns via the tunnel", async () => {
    const r = await lab.probe(lab.c, "http", SERVER4, "8000", "5000");
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      `origin8000 ${CLIENT4}`,
      "the origin saw the client's own address (spoofed by Squid)",
    );
    assert.match(r.via ?? "", /squid/i);
  });
});
