import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { configError, toRunError } from "@tollgate/components";
import { captureStack, EXAMPLE_CONFIGS, flattenConfig } from "../../scripts/capture";
import { example } from "./helpers";

const ID_SHAPES: Record<string, RegExp> = {
  "aws:ec2/vpc:Vpc": /^vpc-[0-9a-f]{17}$/,
  "aws:ec2/subnet:Subnet": /^subnet-[0-9a-f]{17}$/,
  "aws:ec2/routeTable:RouteTable": /^rtb-[0-9a-f]{17}$/,
  "aws:ec2/internetGateway:InternetGateway": /^igw-[0-9a-f]{17}$/,
  "aws:ec2/vpcEndpoint:VpcEndpoint": /^vpce-[0-9a-f]{17}$/,
  "aws:ec2/vpcEndpointService:VpcEndpointService": /^vpce-svc-[0-9a-f]{17}$/,
  "aws:ec2/natGateway:NatGateway": /^nat-[0-9a-f]{17}$/,
  "aws:ec2transitgateway/vpcAttachment:VpcAttachment": /^tgw-attach-[0-9a-f]{17}$/,
  "aws:ec2transitgateway/transitGateway:TransitGateway": /^tgw-[0-9a-f]{17}$/,
  "aws:lb/loadBalancer:LoadBalancer":
    /^arn:aws:elasticloadbalancing:[a-z0-9-]+:123456789012:loadbalancer\/gwy\//,
};

describe("capture helper (deployment v3)", function () {
  this.timeout(60000);

  it("has the shape of pulumi stack export", async () => {
    const s = await example("both-3az");
    const dep = s.dep;
    assert.strictEqual(dep.version, 3);
    const rs = dep.deployment.resources;
    assert.strictEqual(rs[0]!.type, "pulumi:pulumi:Stack");
    assert.strictEqual(rs[0]!.urn, "urn:pulumi:dev::tollgate::pulumi:pulumi:Stack::tollgate-dev");
    assert.strictEqual(rs[1]!.type, "pulumi:providers:aws");
    const urns = new Set(rs.map((r) => r.urn));
    assert.strictEqual(urns.size, rs.length, "URNs are unique");
    for (const r of rs.slice(2)) {
      assert.ok(r.parent && urns.has(r.parent), `${r.urn}: parent recorded`);
      for (const d of r.dependencies ?? [])
        assert.ok(urns.has(d), `${r.urn}: dependency ${d} exists`);
      for (const deps of Object.values(r.propertyDependencies ?? {}))
        for (const d of deps) assert.ok(urns.has(d));
      if (r.custom) {
        assert.ok(r.id, `${r.urn}: has an id`);
        assert.ok(
          r.provider?.startsWith(
            "urn:pulumi:dev::tollgate::pulumi:providers:aws::default_7_48_0::",
          ),
        );
        const shape = ID_SHAPES[r.type];
        if (shape) assert.match(r.id!, shape);
      }
    }
  });

  it("records parents and property dependencies from the resource registrations", async () => {
    const s = await example("north-south-2az-ipv4");
    const route = s.named("tollgate-ns-workload-default-us-east-1a");
    assert.strictEqual(route.parent, s.component("tollgate:inspectedVpc:InspectedVpc").urn);
    const rt = s.named("tollgate-ns-workload-rt-us-east-1a");
    const ep = s.named("tollgate-ns-gwlbe-us-east-1a");
    assert.deepStrictEqual(route.propertyDependencies?.routeTableId, [rt.urn]);
    assert.deepStrictEqual(route.propertyDependencies?.vpcEndpointId, [ep.urn]);
    assert.ok(route.dependencies?.includes(s.named("tollgate-ns-gwlbe-us-east-1a-accept").urn));
    const comp = s.component("tollgate:inspection:Inspection");
    assert.strictEqual(comp.custom, false);
    assert.ok(
      String(comp.outputs.gatewayLoadBalancerArn).startsWith("arn:aws:elasticloadbalancing:"),
    );
  });

  it("captures the same config twice identically (deterministic ids, many runs per process)", async () => {
    const a = await captureStack({ config: EXAMPLE_CONFIGS["egress-2az"]! });
    const b = await captureStack({ config: EXAMPLE_CONFIGS["egress-2az"]! });
    assert.deepStrictEqual(a, b);
  });

  it("uses the stack and project names in URNs", async () => {
    const d = await captureStack({ config: { azCount: 2 }, stack: "prod", project: "edge" });
    assert.ok(d.deployment.resources.every((r) => r.urn.startsWith("urn:pulumi:prod::edge::")));
    assert.strictEqual(d.deployment.resources.length > 50, true);
  });

  it("rejects a bad config with the ConfigError and recovers for the next capture", async () => {
    await assert.rejects(
      captureStack({ config: { fleet: { minSizePerAz: 3, maxSizePerAz: 1 } } }),
      /tollgate:fleet.minSizePerAz: 3 is greater than tollgate:fleet.maxSizePerAz \(1\)/,
    );
    const ok = await captureStack({ config: { azCount: 2 } });
    assert.ok(ok.deployment.resources.length > 50);
  });

  it("flattens config like Pulumi stores it", () => {
    assert.deepStrictEqual(
      flattenConfig(
        { azCount: 2, "aws:region": "eu-west-1", fleet: { minSizePerAz: 1 }, namePrefix: "x" },
        "tollgate",
      ),
      {
        "tollgate:azCount": "2",
        "aws:region": "eu-west-1",
        "tollgate:fleet": '{"minSizePerAz":1}',
        "tollgate:namePrefix": "x",
      },
    );
  });

  it("index.ts exports the stack function; config errors become one-line RunErrors", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../../index") as unknown;
    assert.strictEqual(typeof program, "function");
    const run = toRunError(configError("azCount", "0 is bad", "use 2"));
    assert.ok(pulumi.RunError.isInstance(run));
    assert.strictEqual((run as Error).message, "tollgate:azCount: 0 is bad. Fix: use 2.");
    const other = new Error("x");
    assert.strictEqual(toRunError(other), other);
  });
});
