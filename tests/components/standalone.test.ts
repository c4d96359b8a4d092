import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { Egress, EndpointService, InspectedVpc } from "@tollgate/components";

function value<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Components take their documented XArgs directly and resolve / validate them themselves. */
describe("components used on their own (documented args)", () => {
  const registered: string[] = [];
  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => {
          registered.push(`${a.type}::${a.name}`);
          return {
            id: `${a.name}-id`,
            state: { ...a.inputs, serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-x" },
          };
        },
        call: () => ({}),
      },
      "standalone",
      "test",
    );
  });

  const service = {
    serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-x",
    serviceId: "vpce-svc-x",
    acceptanceRequired: false,
  };

  it("InspectedVpc applies its defaults", async () => {
    const ns = new InspectedVpc("solo", {
      availabilityZones: ["us-east-1a"],
      endpointService: service,
    });
    assert.strictEqual(await value(ns.vpcId), "solo-vpc-id");
    const subnets = await value(pulumi.all(ns.workloadSubnets));
    assert.deepStrictEqual(
      subnets.map((s) => [s.availabilityZone, s.cidr]),
      [["us-east-1a", "10.1.0.0/24"]],
    );
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    assert.ok(registered.includes("aws:ec2/route:Route::solo-igw-edge-us-east-1a"));
    assert.ok(
      !registered.some((r) => r.includes("VpcEndpointConnectionAccepter")),
      "no acceptance when the service does not require it",
    );
  });

  it("refuses enabled: false instead of building what it was told not to", () => {
    assert.throws(
      () =>
        new InspectedVpc("off", {
          availabilityZones: ["us-east-1a"],
          endpointService: service,
          enabled: false,
        }),
      /tollgate:northSouth\.enabled: is false but the component is being constructed\. Fix: do not construct the component/,
    );
    assert.throws(
      () =>
        new Egress("off", {
          availabilityZones: ["us-east-1a"],
          endpointService: service,
          enabled: false,
        }),
      /tollgate:egress\.enabled: is false/,
    );
  });

  it("rejects bad args with the config key before declaring anything", () => {
    const before = registered.length;
    assert.throws(
      () =>
        new InspectedVpc("bad", {
          availabilityZones: ["us-east-1a"],
          vpcCidr: "10.1.0.0/33",
          endpointService: service,
        }),
      /tollgate:northSouth.vpcCidr: "10.1.0.0\/33" is not a CIDR block/,
    );
    assert.throws(
      () =>
        new Egress("bad", {
          availabilityZones: ["us-east-1a"],
          endpointService: service,
          spokes: [{ name: "a", cidr: "10.200.0.0/20" }],
        }),
      /overlaps 10.200.0.0\/16 \(tollgate:egress.vpcCidr\)/,
    );
    assert.throws(
      () =>
        new EndpointService("bad", {
          gatewayLoadBalancerArn: "arn:x",
          accountId: "123456789012",
          allowedPrincipals: ["*"],
        }),
      /allowedPrincipals\[0\]/,
    );
    // Only the (empty) component resources themselves were registered.
    assert.ok(registered.slice(before).every((r) => r.startsWith("tollgate:")));
  });

  it("EndpointService defaults to this account only", async () => {
    const svc = new EndpointService("svc", {
      gatewayLoadBalancerArn:
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/gwy/x/1",
      accountId: "123456789012",
    });
    assert.strictEqual(svc.acceptanceRequired, true);
    assert.strictEqual(await value(svc.serviceId), "svc-service-id");
  });
});
