import * as assert from "assert";
import fc from "fast-check";
import {
  assertDisjoint,
  contains,
  ipv6Subnet64,
  overlaps,
  parseCidr,
  subnet,
} from "@tollgate/components";

describe("components/net: CIDR math", () => {
  it("parses IPv4 and IPv6 blocks", () => {
    const c = parseCidr("k", "10.0.0.0/16");
    assert.strictEqual(c.text, "10.0.0.0/16");
    assert.strictEqual(c.last - c.first + 1n, 65536n);
    assert.strictEqual(
      parseCidr("k", "2600:1f18:1234:5600::/56", "ipv6").text,
      "2600:1f18:1234:5600::/56",
    );
  });

  it("rejects text that is not a CIDR, naming the key", () => {
    assert.throws(
      () => parseCidr("inspection.vpcCidr", "10.0.0.0"),
      /^ConfigError: tollgate:inspection.vpcCidr: "10.0.0.0" is not a CIDR block\. Fix: use a block such as 10\.0\.0\.0\/16\.$/,
    );
    assert.throws(() => parseCidr("x", 42), /42 is not a CIDR block/);
    assert.throws(() => parseCidr("x", "10.0.0.0/33"), /is not a CIDR block/);
  });

  it("rejects host bits and proposes the network address", () => {
    assert.throws(
      () => parseCidr("egress.vpcCidr", "10.1.2.3/16"),
      /tollgate:egress.vpcCidr: 10.1.2.3\/16 has host bits set\. Fix: use 10\.1\.0\.0\/16\./,
    );
  });

  it("rejects the wrong family", () => {
    assert.throws(() => parseCidr("k", "2600::/56"), /is an ipv6 block, expected ipv4/);
    assert.throws(() => parseCidr("k", "10.0.0.0/8", "ipv6"), /is an ipv4 block, expected ipv6/);
  });

  it("carves subnets like cidrsubnet", () => {
    const vpc = parseCidr("k", "10.1.0.0/16");
    assert.strictEqual(subnet(vpc, 24, 0).text, "10.1.0.0/24");
    assert.strictEqual(subnet(vpc, 24, 9).text, "10.1.9.0/24");
    assert.strictEqual(subnet(vpc, 28, 1).text, "10.1.0.16/28");
    assert.throws(() => subnet(vpc, 24, 256), RangeError);
    assert.throws(() => subnet(vpc, 15, 0), RangeError);
    assert.strictEqual(ipv6Subnet64("2600:1f18:abcd:1200::/56", 3), "2600:1f18:abcd:1203::/64");
  });

  it("subnets are disjoint and inside their parent (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 24 }),
        fc.integer({ min: 0, max: 6 }),
        fc.nat(),
        fc.nat(),
        (prefix, extra, a, b) => {
          const vpc = parseCidr("k", subnet(parseCidr("k", "10.0.0.0/8"), prefix, 0).text);
          const len = prefix + extra;
          const n = 2 ** extra;
          const sa = subnet(vpc, len, a % n);
          const sb = subnet(vpc, len, b % n);
          assert.ok(contains(vpc, sa) && contains(vpc, sb));
          assert.strictEqual(overlaps(sa, sb), a % n === b % n);
        },
      ),
    );
  });

  it("assertDisjoint names the later key and the block it overlaps", () => {
    const a = { key: "egress.vpcCidr", cidr: parseCidr("k", "10.0.0.0/16") };
    const b = { key: "egress.spokes[1].cidr", cidr: parseCidr("k", "10.0.128.0/17") };
    assert.throws(
      () => assertDisjoint([a, b]),
      /^ConfigError: tollgate:egress.spokes\[1\].cidr: 10.0.128.0\/17 overlaps 10.0.0.0\/16 \(tollgate:egress.vpcCidr\)\. Fix: give every VPC and subnet its own non-overlapping range\.$/,
    );
    assert.doesNotThrow(() =>
      assertDisjoint([a, { key: "x", cidr: parseCidr("k", "10.1.0.0/16") }]),
    );
  });
});
