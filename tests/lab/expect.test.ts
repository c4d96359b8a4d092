import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseRules, tunNames } from "@tollgate/appliance";
import { blockedPorts, effectiveRules, expectVerdict, type ProbeSpec } from "@tollgate/lab";

const EP = 0x1ab2c3d4e5f60718n;
const GWI = tunNames(EP).gwi;

function rules(yaml: string) {
  const r = parseRules(yaml, "t.yaml");
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return effectiveRules(r.rules, GWI);
}

const tcp = (port: number): ProbeSpec => ({
  proto: "tcp",
  src: "10.10.1.10",
  dst: "198.51.100.10",
  port,
});
const udp = (port: number): ProbeSpec => ({
  proto: "udp",
  src: "10.10.1.10",
  dst: "198.51.100.10",
  port,
});
const ping: ProbeSpec = { proto: "icmp", src: "10.10.1.10", dst: "198.51.100.10", icmpType: 8 };

describe("lab demo expectations from the rules file", () => {
  const base = `
version: 1
defaults: { mode: inspect, policy: drop }
rules:
  - { action: drop, proto: tcp, ports: [23, "8000-8100"], comment: blocked }
  - { action: allow, proto: tcp, ports: [80, 8080] }
  - { action: reject, proto: udp, ports: 53 }
  - { action: allow, proto: udp, dst: 198.51.100.0/24, ports: 7 }
  - { action: allow, proto: icmp, icmpType: echo-request }
`;

  it("evaluates first match, then the default policy", () => {
    const e = rules(base);
    assert.deepEqual(expectVerdict(e, tcp(23)), { verdict: "drop", because: "rules[0] (blocked)" });
    assert.deepEqual(
      expectVerdict(e, tcp(8080)),
      { verdict: "drop", because: "rules[0] (blocked)" },
      "range 8000-8100 shadows the allow",
    );
    assert.deepEqual(expectVerdict(e, tcp(80)), { verdict: "allow", because: "rules[1]" });
    assert.deepEqual(expectVerdict(e, udp(53)), { verdict: "reject", because: "rules[2]" });
    assert.deepEqual(expectVerdict(e, udp(7)), { verdict: "allow", because: "rules[3]" });
    assert.deepEqual(expectVerdict(e, { ...udp(7), dst: "203.0.113.1" }), {
      verdict: "drop",
      because: "default policy drop",
    });
    assert.deepEqual(expectVerdict(e, ping), { verdict: "allow", because: "rules[4]" });
    assert.deepEqual(expectVerdict(e, tcp(7)), { verdict: "drop", because: "default policy drop" });
  });

  it("puts the endpoint's own rules before the global ones, and honours inherit: false", () => {
    const e = rules(`${base}
endpoints:
  vpce-${EP.toString(16).padStart(17, "0")}:
    rules:
      - { action: allow, proto: tcp, ports: 23 }
`);
    assert.equal(expectVerdict(e, tcp(23)).verdict, "allow");
    assert.match(expectVerdict(e, tcp(23)).because, /^endpoints\.vpce-.*\.rules\[0\]$/);
    const noInherit = rules(`version: 1
defaults: { policy: allow }
rules: [{ action: drop, proto: tcp, ports: 80 }]
endpoints:
  ${GWI}: { inherit: false, policy: reject }
`);
    assert.deepEqual(expectVerdict(noInherit, tcp(80)), {
      verdict: "reject",
      because: "default policy reject",
    });
  });

  it("allows everything in passthrough mode and resolves sets", () => {
    assert.equal(
      expectVerdict(rules(`version: 1\ndefaults: { mode: passthrough, policy: drop }\n`), tcp(1))
        .verdict,
      "allow",
    );
    const e = rules(`version: 1
defaults: { policy: allow }
sets:
  bad: { type: net, entries: [198.51.100.0/24] }
  web: { type: port, entries: [80] }
rules:
  - { action: drop, proto: tcp, dst: "@bad", ports: "@web" }
`);
    assert.equal(expectVerdict(e, tcp(80)).verdict, "drop");
    assert.equal(expectVerdict(e, tcp(81)).verdict, "allow");
  });

  it("evaluates IPv6 probes: family, ICMPv6 types, IPv6 CIDRs", () => {
    const e = rules(`version: 1
defaults: { policy: drop }
rules:
  - { action: allow, family: ipv4, proto: tcp, ports: 80 }
  - { action: allow, proto: tcp, dst: 2001:db8:100::/64, ports: 443 }
  - { action: allow, proto: icmpv6, icmpType: echo-request }
`);
    const v6 = { family: 6 as const, src: "fd00:10:1::10", dst: "2001:db8:100::10" };
    assert.equal(
      expectVerdict(e, { ...v6, proto: "tcp", port: 80 }).verdict,
      "drop",
      "ipv4-only rule",
    );
    assert.equal(expectVerdict(e, { ...v6, proto: "tcp", port: 443 }).verdict, "allow");
    assert.equal(expectVerdict(e, { ...v6, proto: "icmp", icmpType: 128 }).verdict, "allow");
    assert.equal(expectVerdict(e, { ...ping }).verdict, "drop", "ICMPv4 echo is not ICMPv6");
    const off = rules(`version: 1\ndefaults: { ipv6: false, policy: drop }\n`);
    assert.equal(expectVerdict(off, { ...v6, proto: "tcp", port: 80 }).verdict, "unknown");
  });

  it("says unknown where it cannot decide from outside", () => {
    const e = rules(`version: 1
defaults: { policy: allow }
rules:
  - { action: redirect, proto: tcp, ports: 80, toPort: 3128 }
  - { action: drop, proto: udp, sourcePorts: 5353, ports: 7 }
`);
    assert.equal(expectVerdict(e, tcp(80)).verdict, "unknown");
    assert.equal(expectVerdict(e, udp(7)).verdict, "unknown", "source ports are not probed");
  });

  it("finds blocked ports that are not shadowed, TCP first", () => {
    const e = rules(`version: 1
defaults: { policy: allow }
rules:
  - { action: allow, proto: tcp, ports: 22 }
  - { action: drop, proto: udp, ports: 5000 }
  - { action: drop, proto: tcp, ports: [22, 23] }
  - { action: reject, proto: tcp, ports: 25 }
`);
    assert.deepEqual(
      blockedPorts(e, "10.10.1.10", "198.51.100.10", 3).map(
        (b) => `${b.proto}/${b.port}/${b.expectation.verdict}`,
      ),
      ["tcp/23/drop", "tcp/25/reject", "udp/5000/drop"],
    );
  });

  it("the shipped lab rules allow HTTP, UDP echo and ping and block a TCP port", () => {
    const file = path.resolve(__dirname, "..", "..", "..", "examples", "rules", "lab.yaml");
    const e = rules(fs.readFileSync(file, "utf8"));
    assert.equal(expectVerdict(e, tcp(80)).verdict, "allow");
    assert.equal(expectVerdict(e, udp(7)).verdict, "allow");
    assert.equal(expectVerdict(e, ping).verdict, "allow");
    assert.ok(blockedPorts(e, "10.10.1.10", "198.51.100.10").length >= 1);
  });
});
