import * as assert from "assert";
import fc from "fast-check";
import { captureStack } from "../../scripts/capture";
import { planPaths } from "../../scripts/plan";

/**
 * Property: for any valid topology (1-6 AZs, IPv4 or dual stack, 0-4 spokes, created or adopted
 * north-south VPC), every packet path is inspected, stays in its AZ and is delivered.
 */
describe("routing properties over random valid configs", function () {
  this.timeout(120000);

  it("every path of every generated stack is inspected, same-AZ and delivered", async () => {
    const config = fc.record({
      azCount: fc.integer({ min: 1, max: 6 }),
      ipv6: fc.boolean(),
      spokes: fc.integer({ min: 0, max: 4 }),
      egress: fc.boolean(),
      adopt: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(config, async (c) => {
        const azs = ["a", "b", "c", "d", "e", "f"].slice(0, c.azCount).map((x) => `us-east-1${x}`);
        const adopt = c.adopt
          ? {
              vpcId: "vpc-0d1b2c3d4e5f60718",
              internetGatewayId: "igw-0d1b2c3d4e5f60718",
              vpcCidr: "10.70.0.0/16",
              ipv6CidrBlock: c.ipv6 ? "2600:1f18:aaaa:1100::/56" : undefined,
              workloadSubnets: azs.map((az, i) => ({
                id: `subnet-0ddd00000000000${i}`,
                cidr: `10.70.${i * 16}.0/20`,
                availabilityZone: az,
                ...(c.ipv6 ? { ipv6Cidr: `2600:1f18:aaaa:110${i}::/64` } : {}),
              })),
              endpointSubnets: azs.map((az, i) => ({
                availabilityZone: az,
                cidr: `10.70.255.${i * 16}/28`,
                ...(c.ipv6 ? { ipv6Cidr: `2600:1f18:aaaa:11f${i}::/64` } : {}),
              })),
            }
          : undefined;
        const dep = await captureStack({
          config: {
            "aws:region": "us-east-1",
            azCount: c.azCount,
            ipv6: c.ipv6,
            northSouth: adopt ? { adopt } : {},
            egress: {
              enabled: c.egress,
              spokes: Array.from({ length: c.spokes }, (_, i) => ({
                name: `s${i}`,
                cidr: `10.${20 + i}.0.0/16`,
              })),
            },
          },
        });
        const paths = planPaths(dep);
        // North-south: per workload subnet, out and back per family. Egress: per TGW attachment
        // subnet (one per AZ), out to the internet and back to each spoke; per spoke subnet (one
        // per spoke and AZ), out through the TGW and back.
        const expected =
          c.azCount * (c.ipv6 ? 4 : 2) +
          (c.egress ? c.azCount * (1 + c.spokes) + c.spokes * c.azCount * 2 : 0);
        assert.strictEqual(paths.length, expected);
        for (const { path: p, verdict: v } of paths) {
          assert.ok(
            v.inspected && v.sameAz && v.delivered,
            `${p.subnet.label} ${p.direction} ${p.dest.text}: ${p.hops.join(" | ")}`,
          );
        }
      }),
      { numRuns: 10, seed: 4242 },
    );
  });
});
