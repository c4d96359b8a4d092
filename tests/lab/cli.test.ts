import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const bin = path.resolve(__dirname, "..", "..", "..", "lab", "bin", "tollgate-lab.js");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("tollgate-lab command line", () => {
  it("documents its commands and options", () => {
    const top = run("--help");
    assert.equal(top.code, 0);
    for (const c of ["demo", "up", "down", "status"])
      assert.match(top.out, new RegExp(`\\n  ${c} `));
    const demo = run("demo", "--help");
    for (const o of [
      "--rules",
      "--hash",
      "--failover",
      "--appliance",
      "--health-interval",
      "--keep",
      "--json",
      "--prefix",
    ]) {
      assert.ok(demo.out.includes(o), `demo --help mentions ${o}`);
    }
  });

  it("plan prints every command and process without running anything", () => {
    const r = run("plan", "--prefix", "tglplan", "--state-dir", "/nonexistent/tglplan");
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.equal(
      lines[0],
      "# create namespaces tglplan-client, tglplan-gwlb, tglplan-inet, tglplan-app1, tglplan-app2",
    );
    assert.ok(lines.includes("ip netns add tglplan-gwlb"));
    assert.ok(lines.includes("ip -n tglplan-gwlb rule add pref 100 iif c0 lookup 100"));
    assert.ok(
      lines.some((l) =>
        /^app1 in tglplan-app1: .*tollgate\.js -p 8080 --rules .*rules\.yaml --config .*app1\.yaml$/.test(
          l,
        ),
      ),
    );
    assert.ok(!fs.existsSync("/nonexistent/tglplan"), "plan creates nothing");
  });

  it("refuses bad option values before touching the system", () => {
    const hash = run("demo", "--hash", "4-tuple", "--prefix", "tglcli");
    assert.notEqual(hash.code, 0);
    assert.match(hash.err, /invalid hash mode "4-tuple"/);
    const failover = run("up", "--failover", "noRebalance", "--prefix", "tglcli");
    assert.notEqual(failover.code, 0);
    assert.match(failover.err, /rebalance or no_rebalance/);
    const appliance = run("demo", "--appliance", "vm");
    assert.notEqual(appliance.code, 0);
    assert.match(appliance.err, /Allowed choices are tollgate, reflector/);
    const threshold = run("demo", "--healthy-threshold", "x");
    assert.notEqual(threshold.code, 0);
    assert.match(threshold.err, /--healthy-threshold must be a whole number/);
  });

  it("says what is missing instead of failing obscurely when not root", function () {
    if (process.getuid?.() === 0) {
      // As root the preflight passes; the message is covered by the preflight unit tests.
      const status = run("status", "--prefix", "tglcli-none");
      assert.equal(status.code, 0);
      assert.match(status.out, /no lab with prefix tglcli-none is running/);
      return;
    }
    const r = run("demo", "--prefix", "tglcli");
    assert.equal(r.code, 2);
    assert.match(r.err, /run it as root \(sudo npm run lab\)/);
  });
});
