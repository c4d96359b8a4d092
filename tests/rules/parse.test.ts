/** Rules file validation: line-precise errors, endpoint keys, set references. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  endpointInfo,
  parseCapabilities,
  parseRules,
  resolveEndpointKey,
} from "@tollgate/appliance";

function errors(yaml: string): string[] {
  const r = parseRules(yaml, "rules.yaml");
  assert.equal(r.ok, false, "expected the file to be refused");
  return r.ok ? [] : r.errors;
}

describe("rules file parsing", () => {
  it("points at the exact line and column of a bad port in an endpoint section", () => {
    const yaml = [
      "version: 1",
      "endpoints:",
      "  vpce-0123456789abcdef0:",
      "    rules:",
      "      - action: drop",
      "        proto: tcp",
      '        ports: "70000"',
    ].join("\n");
    assert.deepEqual(errors(yaml), [
      'rules.yaml:7:16: endpoints.vpce-0123456789abcdef0.rules[0].ports: "70000" is not a port. Fix: write a port 1-65535 or a range "8000-8100" or @name of a port set.',
    ]);
  });

  it("reports every error, each with its own position", () => {
    const yaml = [
      "version: 1",
      "rules:",
      "  - action: allow",
      "    proto: tcp",
      "    ports: [22, 0]",
      "    colour: red",
      "  - action: drop",
      "    src: 10.0.0.300/8",
      "  - action: teleport",
    ].join("\n");
    assert.deepEqual(errors(yaml), [
      'rules.yaml:5:17: rules[0].ports[1]: "0" is not a port. Fix: write a port 1-65535 or a range "8000-8100" or @name of a port set.',
      'rules.yaml:6:5: rules[0].colour: unknown key "colour". Fix: remove it (keys here: action, comment, proto, family, src, dst, ports, sourcePorts, icmpType, direction, state, log, limit, rejectWith, toPort, method, to, queue, bypass).',
      'rules.yaml:8:10: rules[1].src: "10.0.0.300/8" is not an address or a CIDR. Fix: write @name of a net set, an address (192.0.2.1, 2001:db8::1) or a CIDR (10.0.0.0/8, 2001:db8::/32).',
      'rules.yaml:9:13: rules[2].action: "teleport" is not allowed here. Fix: use one of allow, drop, reject, log, queue, redirect, mirror.',
    ]);
  });

  it("checks keys that only make sense with one action", () => {
    const e = errors(
      "version: 1\nrules:\n  - { action: allow, toPort: 3128 }\n  - { action: redirect, proto: tcp }\n  - { action: mirror, state: [new] }\n",
    );
    assert.ok(
      e.some((x) =>
        /rules\[0\]\.toPort: toPort only works with action: redirect\. Fix: remove toPort/.test(x),
      ),
      e.join("\n"),
    );
    assert.ok(e.some((x) => /rules\[1\]\.toPort: redirect needs toPort/.test(x)));
    assert.ok(e.some((x) => /rules\[2\]\.to: mirror needs an interface\. Fix: add to: /.test(x)));
    assert.ok(e.some((x) => /rules\[2\]\.state: mirror rules run in tc/.test(x)));
  });

  it("requires protocols for ports and ICMP types", () => {
    const e = errors(
      "version: 1\nrules:\n  - { action: drop, ports: 80 }\n  - { action: drop, icmpType: 8 }\n",
    );
    assert.match(e[0]!, /rules\.yaml:3:28: rules\[0\]\.ports: ports need proto tcp, udp or sctp/);
    assert.match(e[1]!, /rules\[1\]\.icmpType: icmpType needs proto icmp or icmpv6/);
  });

  it("refuses unknown endpoint keys, duplicates, unknown sets and wrong set types", () => {
    const e = errors(
      [
        "version: 1",
        "sets:",
        "  ports: { type: port, entries: [22] }",
        "endpoints:",
        "  vpce-12:",
        "    mode: inspect",
        "  vpce-00000000000000001: {}",
        "  gwo-1: {}",
        "rules:",
        '  - { action: drop, src: "@nope" }',
        '  - { action: drop, dst: "@ports" }',
      ].join("\n"),
    );
    assert.deepEqual(e, [
      'rules.yaml:5:3: endpoints.vpce-12: "vpce-12" is not an endpoint. Fix: an endpoint id has 17 hex digits, this has 2: copy it from the VPC endpoint.',
      'rules.yaml:8:3: endpoints.gwo-1: same endpoint as "vpce-00000000000000001". Fix: merge the two sections into one.',
      'rules.yaml:10:26: rules[0].src: unknown set "nope". Fix: declare it under sets: nope: { type: net, entries: [...] }.',
      'rules.yaml:11:26: rules[1].dst: set "ports" has type port, not net. Fix: use a net set here.',
    ]);
  });

  it("reports YAML syntax errors and duplicate keys with positions", () => {
    assert.match(errors("version: 1\nrules: [\n")[0]!, /^rules\.yaml:\d+:\d+: /);
    assert.match(
      errors("version: 1\nversion: 1\n")[0]!,
      /^rules\.yaml:2:1: Map keys must be unique/,
    );
    assert.match(errors("version: 2\n")[0]!, /^rules\.yaml:1:10: version: /);
  });

  it("accepts every example file", () => {
    const dir = path.resolve(__dirname, "../../../examples/rules");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    assert.ok(files.includes("lab.yaml"));
    for (const f of files) {
      const r = parseRules(fs.readFileSync(path.join(dir, f), "utf8"), f);
      assert.ok(r.ok, r.ok ? "" : r.errors.join("\n"));
    }
  });

  it("resolves endpoint keys to the daemon's interface names", () => {
    const info = endpointInfo(0x0123456789abcdef0n);
    for (const key of [`vpce-${info.idHex17}`, info.idHex17, info.gwi, info.gwo]) {
      assert.deepEqual(
        resolveEndpointKey(key),
        { suffix: info.gwi.slice(4), gwi: info.gwi, gwo: info.gwo },
        key,
      );
    }
    assert.equal(resolveEndpointKey("gwi-00"), undefined, "non-canonical base 60");
    assert.equal(resolveEndpointKey("vpce-xyz"), undefined);
    assert.equal(resolveEndpointKey("fffffffffffffffff"), undefined, "beyond 64 bits");
  });

  it("parses --capabilities lists and refuses unknown names", () => {
    const c = parseCapabilities("u32,mirred,ipset");
    assert.equal(c.u32 && c.mirred && c.ipset && c.tcIngress, true);
    assert.equal(c.flower, false);
    assert.throws(() => parseCapabilities("u32,warp"), /unknown capability "warp"/);
  });
});
