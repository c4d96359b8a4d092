import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run, tollgatePolicies } from "@tollgate/policy";
import { captured, res, retarget } from "./helpers";

const FIX = resolve(__dirname, "../../../tests/policy/fixtures");
const BIN = resolve(__dirname, "../../../policy/bin/tollgate-policy.js");

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(["node", "tollgate-policy", ...args], {
    out: (s) => (out += `${s}\n`),
    err: (s) => (err += `${s}\n`),
  });
  return { code, out, err };
}

describe("tollgate-policy check (CLI)", function () {
  this.timeout(60000);
  let dir: string;
  let clean: string;
  let broken: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tgpol-"));
    const d = await captured("north-south-2az-ipv4");
    clean = join(dir, "clean.json");
    writeFileSync(clean, JSON.stringify(d));
    retarget(
      res(d, "tollgate-ns-workload-default-us-east-1a"),
      "gatewayId",
      res(d, "tollgate-ns-igw"),
    );
    broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify(d));
    // The same deployment as `pulumi preview --json` would print it.
    const preview = {
      steps: d.deployment.resources.map((r) => ({ op: "create", urn: r.urn, newState: r })),
    };
    writeFileSync(join(dir, "preview.json"), JSON.stringify(preview));
    // Planned creates may come without outputs: the inputs stand in for them.
    const bare = {
      steps: [
        ...d.deployment.resources.map((r) => ({
          op: "create",
          urn: r.urn,
          newState: { ...r, outputs: {} },
        })),
        { op: "delete", urn: "urn:pulumi:dev::tollgate::aws:ec2/vpc:Vpc::gone" },
      ],
    };
    writeFileSync(join(dir, "preview-bare.json"), JSON.stringify(bare));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 on a clean plan and says so", async () => {
    const r = await cli("check", clean);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`No violations: ${tollgatePolicies.length} policies passed`));
  });

  it("exits 1 on mandatory violations, grouped by policy, with the hop-by-hop path", async () => {
    const r = await cli("check", broken);
    assert.equal(r.code, 1);
    assert.match(r.out, /✖ tollgate-routing-follow-the-packet \[mandatory, critical\]/);
    assert.match(r.out, /✖ tollgate-routing-default-via-endpoint/);
    assert.match(
      r.out,
      /1\. subnet "tollgate-ns-workload-us-east-1a"[^\n]*\n\s+2\. route table "tollgate-ns-workload-rt-us-east-1a"[^\n]*0\.0\.0\.0\/0 -> internet gateway "tollgate-ns-igw"/,
    );
    assert.match(r.out, /fix: /);
    assert.match(r.out, /docs: https:\/\/docs\.aws\.amazon\.com/);
  });

  it("--diagram - appends the topology as Mermaid with the broken hop in red", async () => {
    const r = await cli("check", broken, "--diagram", "-");
    assert.equal(r.code, 1);
    const block = /```mermaid\n(flowchart LR\n[\s\S]*?)```/.exec(r.out);
    assert.ok(block, "a mermaid block follows the report");
    assert.match(block[1]!, /\|"0\.0\.0\.0\/0 ✗ skips-inspection"\|/);
    assert.match(block[1]!, /linkStyle \d+ stroke:#d00/);
  });

  it("--diagram FILE writes the Mermaid text; with --format json only to a file", async () => {
    const file = join(dir, "clean.mmd");
    const r = await cli("check", clean, "--diagram", file);
    assert.equal(r.code, 0, r.err);
    const text = readFileSync(file, "utf8");
    assert.match(text, /^flowchart LR\n/);
    assert.doesNotMatch(text, /linkStyle/);
    const j = await cli("check", clean, "--format", "json", "--diagram", "-");
    assert.equal(j.code, 2);
    assert.match(j.err, /--diagram - would break the JSON report: give a file/);
  });

  it("--format json reports violations with their path", async () => {
    const r = await cli("check", broken, "--format", "json");
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as {
      summary: { mandatory: number };
      violations: {
        policy: string;
        path: string[];
        resourceName?: string;
        url?: string;
        remediation?: string;
      }[];
    };
    assert.ok(j.summary.mandatory > 0);
    const walk = j.violations.find((v) => v.policy === "tollgate-routing-follow-the-packet");
    // Attached to the route whose change fixes it (the subnet is named in the path).
    assert.equal(walk?.resourceName, "tollgate-ns-workload-default-us-east-1a");
    assert.ok((walk?.path.length ?? 0) >= 3);
    assert.match(walk?.url ?? "", /^https:\/\/docs\.aws\.amazon\.com\//);
    assert.ok((walk?.remediation ?? "").length > 0);
  });

  it("reads `pulumi preview --json` output (steps[].newState)", async () => {
    const r = await cli("check", join(dir, "preview.json"));
    assert.equal(r.code, 1);
    assert.match(r.out, /\(preview, \d+ resources\)/);
  });

  it("a preview whose planned creates carry no outputs is checked on their inputs", async () => {
    const r = await cli("check", join(dir, "preview-bare.json"), "--format", "json");
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as { violations: { policy: string; resourceName?: string }[] };
    assert.ok(
      j.violations.some(
        (v) =>
          v.policy === "tollgate-routing-follow-the-packet" &&
          v.resourceName === "tollgate-ns-workload-default-us-east-1a",
      ),
    );
  });

  it("--config downgrades a policy to advisory (exit 0 when nothing mandatory is left)", async () => {
    const cfg = join(dir, "cfg.json");
    writeFileSync(cfg, JSON.stringify({ all: "advisory" }));
    const r = await cli("check", broken, "--config", cfg);
    assert.equal(r.code, 0);
    assert.match(r.out, /! tollgate-routing-follow-the-packet \[advisory/);
  });

  for (const [file, re] of [
    ["not-json.txt", /is not JSON/],
    ["version-2.json", /version 2; only version 3/],
    [
      "missing-fields.json",
      /not a valid deployment:\n\s+deployment\.resources\[0\]\.type: .*\n\s+deployment\.resources\[1\]\.urn/,
    ],
    ["does-not-exist.json", /no such file/],
  ] as const) {
    it(`exits 2 with a clear message for ${file}`, async () => {
      const r = await cli("check", join(FIX, file));
      assert.equal(r.code, 2);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    });
  }

  it("exits 2 on a bad policy config, naming the key", async () => {
    const r = await cli("check", clean, "--config", join(FIX, "bad-config.json"));
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown key "exemptSubnet"/);
  });

  it("the installed bin runs as a process: exit codes and no stack trace", () => {
    const ok = spawnSync(process.execPath, [BIN, "check", clean], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    const bad = spawnSync(process.execPath, [BIN, "check", join(FIX, "not-json.txt")], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^tollgate-policy: .*is not JSON/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    const usage = spawnSync(process.execPath, [BIN, "check"], { encoding: "utf8" });
    assert.equal(usage.status, 2);
    const piped = spawnSync(process.execPath, [BIN, "check", "-"], {
      encoding: "utf8",
      input: readFileSync(broken, "utf8"),
    });
    assert.equal(piped.status, 1, piped.stderr);
    assert.match(piped.stdout, /standard input \(stack export/);
  });
});
