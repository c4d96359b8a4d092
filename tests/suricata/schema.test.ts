/** The rules file's suricata: section: errors name the key and the fix; domain rules are exact. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { domainRules, parseRules, planSuricata } from "@tollgate/appliance";
import { rules } from "../rules/load";

const PATHS = { logDir: "/l", runDir: "/r" };

function errors(yaml: string): string[] {
  const r = parseRules(yaml, "t.yaml");
  assert.ok(!r.ok, "expected errors");
  return r.errors;
}

const BASE = "version: 1\ndefaults: { protected: [10.0.0.0/16] }\n";

describe("suricata: section", () => {
  it("requires failure for ips and names both choices", () => {
    const e = errors(`${BASE}suricata: { mode: ips }\n`);
    assert.match(
      e.join("\n"),
      /t\.yaml:\d+:\d+: suricata\.failure: ips needs failure: open or closed\. Fix: add failure: open .* or failure: closed/,
    );
  });

  it("refuses ips-only keys in ids mode, unknown keys, bad domains and reserved sids", () => {
    const e = errors(
      `${BASE}suricata:\n  mode: ids\n  queue: 1\n  colour: red\n  domains: { deny: ["bad domain"] }\n` +
        `  signatures: ['alert ip any any -> any any (msg:"x"; sid:9746001;)']\n`,
    );
    const text = e.join("\n");
    assert.match(text, /suricata\.queue: queue only works with mode: ips/);
    assert.match(text, /suricata\.colour: unknown key/);
    assert.match(text, /suricata\.domains\.deny\[0\]: "bad domain" is not a domain name/);
    assert.match(text, /suricata\.signatures\[0\]: sid 9746001 is in Tollgate's reserved range/);
  });

  it("checks traffic like rule matches: ports need a protocol, sets must exist", () => {
    const ports = errors(`${BASE}suricata:\n  mode: ids\n  traffic: [{ ports: 80 }]\n`);
    assert.match(
      ports.join("\n"),
      /suricata\.traffic\[0\]\.ports: ports need proto tcp, udp or sctp/,
    );
    const sets = errors(
      `${BASE}suricata:\n  mode: ids\n  traffic: [{ proto: tcp, src: "@nope" }]\n`,
    );
    assert.match(sets.join("\n"), /suricata\.traffic\[0\]\.src: unknown set "nope"/);
  });

  it("refuses a plan without HOME_NET (no protected CIDRs)", () => {
    const plan = planSuricata(rules("version: 1\nsuricata: { mode: ids }\n"), PATHS, []);
    assert.deepEqual(plan?.errors, [
      "suricata: HOME_NET comes from the protected CIDRs and there are none: set defaults.protected (your VPC's CIDRs)",
    ]);
  });

  it("HOME_NET is every protected CIDR of defaults and endpoints, canonical and deduplicated", () => {
    const loaded = rules(
      `${BASE}endpoints:\n  gwi-a1: { protected: [10.0.0.0/16, 192.168.1.0/24] }\nsuricata: { mode: ids }\n`,
    );
    assert.deepEqual(planSuricata(loaded, PATHS, [])?.homeNet, ["10.0.0.0/16", "192.168.1.0/24"]);
  });

  it("compiles deny names, suffixes and the default deny on TLS SNI and HTTP Host", () => {
    const r = domainRules(
      { deny: [".bad.example"], allow: ["ok.example", ".aws.com"], default: "deny" },
      "drop",
      1,
    );
    assert.equal(r.length, 4);
    assert.match(
      r[0]!,
      /^drop tls .*tls\.sni; dotprefix; content:"\.bad\.example"; nocase; endswith; sid:1;/,
    );
    assert.match(
      r[1]!,
      /^drop http .*http\.host; dotprefix; content:"\.bad\.example"; endswith; sid:2;/,
    );
    assert.match(
      r[2]!,
      /tls\.sni; pcre:!"\/\^\(\?:ok\\\.example\|\(\?:\.\*\\\.\)\?aws\\\.com\)\$\/i"; sid:3;/,
    );
    assert.match(r[3]!, /^drop http .*http\.host; pcre:!".*"; sid:4;/);
  });

  it("monitor mode and ids mode only alert", () => {
    const monitor = planSuricata(
      rules(
        `${BASE}suricata: { mode: ips, failure: open, domains: { mode: monitor, deny: [x.example] } }\n`,
      ),
      PATHS,
      [],
    );
    assert.doesNotMatch(monitor!.rules, /^drop/m);
    assert.match(monitor!.rules, /^alert tls .*x\.example/m);
    const ids = planSuricata(
      rules(`${BASE}suricata: { mode: ids, domains: { deny: [x.example] } }\n`),
      PATHS,
      [],
    );
    assert.doesNotMatch(ids!.rules, /^drop/m);
    assert.deepEqual(ids!.notes, [
      "suricata.domains: mode ids never blocks: denied names only raise alerts",
    ]);
  });

  it("refuses passthrough endpoints (Suricata needs netfilter)", async () => {
    const { compileRules, MINIMAL_CAPABILITIES } = await import("@tollgate/appliance");
    const c = compileRules(
      rules(
        `${BASE.replace("{ protected", "{ mode: passthrough, protected")}suricata: { mode: ids }\n`,
      ),
      [{ gwi: "gwi-a1", gwo: "gwo-a1" }],
      MINIMAL_CAPABILITIES,
    );
    assert.match(
      c.errors.join("\n"),
      /gwi-a1: suricata needs netfilter .* set its mode to inspect or egress-nat/,
    );
  });
});

describe("docs/rules.md suricata examples", () => {
  const docs = fs.readFileSync(path.resolve(__dirname, "../../../docs/rules.md"), "utf8");
  const examples = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((y) => /^suricata:/m.test(y));

  it("has the section example and both recipes", () => assert.equal(examples.length, 3));

  for (const [i, yaml] of examples.entries()) {
    it(`example ${i + 1} is a valid rules file with a plan`, () => {
      const files = (rules(yaml).file.suricata?.ruleFiles ?? []).map((name) => ({
        name,
        text: "",
      }));
      assert.deepEqual(planSuricata(rules(yaml), PATHS, files)?.errors, []);
    });
  }
});
