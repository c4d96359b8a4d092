/**
 * Issue 14's rules-tooling cases, each run as a user runs it: `node appliance/bin/tollgate.js
 * rules check|plan FILE`. `plan` runs as an unprivileged user (uid 65534) inside a fresh network
 * namespace of its own, so no endpoint of anyone else's test is seen and nothing needs root.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseCidr } from "@tollgate/components";

const ROOT = path.resolve(__dirname, "../../..");
const BIN = path.join(ROOT, "appliance/bin/tollgate.js");
const LAB = path.join(ROOT, "examples/rules/lab.yaml");

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

function run(argv: readonly string[]): Run {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const tollgate = (...args: string[]) => run([process.execPath, BIN, ...args]);

/** `tollgate ...` as uid/gid 65534 in a new network namespace (root), or as we are (not root). */
function unprivileged(ns: string, ...args: string[]): Run {
  if (process.getuid?.() !== 0) return tollgate(...args);
  const drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
  return run(["ip", "netns", "exec", ns, ...drop, process.execPath, BIN, ...args]);
}

describe("rules tooling for people (issue 14)", function () {
  this.timeout(60_000);
  let dir: string;
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text, { mode: 0o644 });
    return f;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgrv-tool-"));
    fs.chmodSync(dir, 0o755);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("check refuses a mirror rule matching a named set, with file:line and the fix", () => {
    const f = write(
      "mirror.yaml",
      "version: 1\nsets:\n  w: { type: net, entries: [192.0.2.0/24] }\nrules:\n  - { action: mirror, to: ens6, dst: '@w' }\n",
    );
    const r = tollgate("rules", "check", f);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      new RegExp(
        `^${f}:5:38: rules\\[0\\]\\.dst: mirror rules run in tc, which cannot match a named set \\(@w\\)\\. Fix: list the set's CIDRs in the rule itself\\.$`,
        "m",
      ),
    );
  });

  it("check refuses CIDRs with host bits, as the stack config does", () => {
    const f = write("bits.yaml", "version: 1\nrules:\n  - { action: drop, src: 10.0.0.1/8 }\n");
    const r = tollgate("rules", "check", f);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      /:3:26: rules\[0\]\.src: 10\.0\.0\.1\/8 has host bits set\. Fix: use 10\.0\.0\.0\/8/,
    );
    assert.throws(() => parseCidr("vpcCidr", "10.0.0.1/8"), /host bits set.*use 10\.0\.0\.0\/8/s);
  });

  it("check reports every problem of a file in one run, each with a fix, not raw validator text", () => {
    const f = write(
      "five.yaml",
      [
        "version: 1",
        "defaults: { policy: deny }",
        "rules:",
        "  - { action: teleport }",
        "  - { action: drop, proto: tcp, ports: 70000 }",
        '  - { action: drop, src: "@nope" }',
        "  - { action: allow, colour: red }",
      ].join("\n"),
    );
    const r = tollgate("rules", "check", f);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split("\n");
    assert.equal(lines.pop(), `${f}: 5 problem(s)`);
    assert.deepEqual(
      lines.map((l) => /^.+?:(\d+):\d+: (\S+): .+\. Fix: .+$/.exec(l)?.slice(1).join(" ")),
      [
        "2 defaults.policy",
        "4 rules[0].action",
        "5 rules[1].ports",
        "6 rules[2].src",
        "7 rules[3].colour",
      ],
    );
    assert.doesNotMatch(r.err, /Invalid (option|input)|expected one of "/);
  });

  it("check without --endpoint says what it checked; --print shows a labelled sample endpoint", () => {
    const r = tollgate("rules", "check", LAB, "--print");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^checked:$/m);
    assert.match(r.out, /sample endpoint without a section \(vpce-00000000000000001\)/);
    assert.match(r.out, /^# gwi-1\/gwo-1 is a SAMPLE endpoint/m);
    assert.match(r.out, /^-A TOLLGATE-gwi-1 -p tcp -m multiport --dports 80,443,8080 -j ACCEPT$/m);
    assert.match(r.out, /lab\.yaml: OK$/m);
  });

  describe("plan without root", function () {
    const ns = `tgrv${process.pid}`;
    before(function () {
      if (process.getuid?.() !== 0) return;
      try {
        execFileSync("sh", ["-c", "command -v setpriv && command -v ip"], { stdio: "ignore" });
      } catch (e) {
        if (process.env.CI === "true") throw e;
        this.skip();
      }
      execFileSync("ip", ["netns", "add", ns]);
    });
    after(() => {
      if (process.getuid?.() === 0) spawnSync("ip", ["netns", "del", ns]);
    });

    it("runs on assumed capabilities and shows a sample endpoint's rules when none is present", () => {
      const rules = write("lab.yaml", fs.readFileSync(LAB, "utf8"));
      const r = unprivileged(ns, "rules", "plan", rules);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(r.out, /^note: capabilities \(assumed \(not probed\)\)/m);
      assert.match(r.out, /^ {2}\(none present\)$/m);
      assert.match(r.out, /^live state: not read \(iptables-save and ipset need root\)/m);
      assert.match(r.out, /rules of a SAMPLE endpoint, not applied and not counted as changes/);
      assert.match(
        r.out,
        /^-A TOLLGATE-gwi-1 -p tcp -m multiport --dports 80,443,8080 -j ACCEPT$/m,
      );
    });

    it("refuses --detailed-exitcode, which needs the live rules", () => {
      const rules = write("lab.yaml", fs.readFileSync(LAB, "utf8"));
      const r = unprivileged(ns, "rules", "plan", rules, "--detailed-exitcode");
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /--detailed-exitcode compares with the live rules, which needs root/);
    });
  });
});
