import * as assert from "assert";
import fc from "fast-check";
import { drainSecondsFor } from "@tollgate/components";
import { Stack } from "./helpers";
import { captureStack } from "../../scripts/capture";

/**
 * Property: for any valid fleet and GWLB settings, every AZ of the GWLB has its own Auto Scaling
 * group (in that AZ's GWLB subnet only, at least one instance, launch before terminate), the drain
 * time covers the flow idle timeout, and only the GWLB's subnets may send GENEVE and health checks.
 */
describe("fleet properties over random valid configs", function () {
  this.timeout(120000);

  it("every GWLB AZ is served, replacements keep capacity, GENEVE only from the GWLB subnets", async () => {
    const config = fc.record({
      azCount: fc.integer({ min: 1, max: 4 }),
      ipv6: fc.boolean(),
      crossZoneLoadBalancing: fc.boolean(),
      minSizePerAz: fc.integer({ min: 1, max: 3 }),
      extraMax: fc.integer({ min: 0, max: 3 }),
      tcpIdleTimeoutSeconds: fc.option(fc.integer({ min: 60, max: 6000 }), { nil: undefined }),
      healthPort: fc.integer({ min: 1024, max: 9999 }).filter((p) => p !== 6081),
    });
    await fc.assert(
      fc.asyncProperty(config, async (c) => {
        const s = new Stack(
          await captureStack({
            config: {
              "aws:region": "us-east-1",
              azCount: c.azCount,
              ipv6: c.ipv6,
              inspection: {
                crossZoneLoadBalancing: c.crossZoneLoadBalancing,
                tcpIdleTimeoutSeconds: c.tcpIdleTimeoutSeconds,
                healthCheck: { port: c.healthPort },
              },
              fleet: {
                minSizePerAz: c.minSizePerAz,
                maxSizePerAz: c.minSizePerAz + c.extraMax,
              },
            },
          }),
        );
        const lb = s.ofType("aws:lb/loadBalancer:LoadBalancer")[0]!;
        const lbSubnets = (lb.inputs.subnets as string[]).map((id) => s.byId(id)!);
        const lbAzs = lbSubnets.map((x) => String(x.inputs.availabilityZone));
        assert.strictEqual(new Set(lbAzs).size, c.azCount);

        const groups = s.ofType("aws:autoscaling/group:Group");
        assert.deepStrictEqual(
          groups
            .map((g) => {
              const ids = g.inputs.vpcZoneIdentifiers as string[];
              assert.strictEqual(ids.length, 1, "one AZ per group");
              assert.ok(
                lbSubnets.some((x) => x.id === ids[0]),
                "the group lives in a GWLB subnet",
              );
              return s.azOfSubnet(ids[0]!);
            })
            .sort(),
          [...lbAzs].sort(),
          "exactly one group per GWLB AZ",
        );
        for (const g of groups) {
          assert.strictEqual(g.inputs.minSize, c.minSizePerAz);
          assert.ok((g.inputs.minSize as number) >= 1);
          assert.strictEqual(g.inputs.maxSize, c.minSizePerAz + c.extraMax);
          assert.deepStrictEqual(g.inputs.instanceMaintenancePolicy, {
            minHealthyPercentage: 100,
            maxHealthyPercentage: 200,
          });
          const prefs = (g.inputs.instanceRefresh as { preferences: Record<string, unknown> })
            .preferences;
          assert.strictEqual(prefs.minHealthyPercentage, 100);
        }
        assert.strictEqual(s.ofType("aws:autoscaling/policy:Policy").length, c.azCount);

        const tg = s.ofType("aws:lb/targetGroup:TargetGroup")[0]!;
        const drain = tg.inputs.deregistrationDelay as number;
        assert.strictEqual(drain, drainSecondsFor(c.tcpIdleTimeoutSeconds));
        assert.ok(drain >= Math.min(3600, c.tcpIdleTimeoutSeconds ?? 350) && drain >= 120);

        const gwlbCidrs = lbSubnets.map((x) => String(x.inputs.cidrBlock));
        const sg = s.ofType("aws:ec2/securityGroup:SecurityGroup")[0]!;
        const ingress = sg.inputs.ingress as {
          protocol: string;
          fromPort: number;
          cidrBlocks: string[];
          ipv6CidrBlocks?: string[];
        }[];
        assert.deepStrictEqual(
          ingress.map((r) => [r.protocol, r.fromPort, r.cidrBlocks, r.ipv6CidrBlocks]),
          [
            ["udp", 6081, gwlbCidrs, undefined],
            ["tcp", c.healthPort, gwlbCidrs, undefined],
          ],
        );
      }),
      { numRuns: 8, seed: 9090 },
    );
  });
});
