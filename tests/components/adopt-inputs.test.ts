import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { checkedId, resolveInspectedVpcArgs } from "@tollgate/components";

const AZS = ["us-east-1a", "us-east-1b"];

/** The value of an Output outside a deployment (Output#promise is internal API). */
function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
  return (pulumi.output(o) as unknown as { promise(): Promise<T> }).promise();
}

function adopt(ids: { vpc: pulumi.Input<string>; subnets: pulumi.Input<string>[] }) {
  return {
    adopt: {
      vpcId: ids.vpc,
      internetGatewayId: pulumi.output("igw-0a1b2c3d"),
      vpcCidr: "10.60.0.0/16",
      workloadSubnets: ids.subnets.map((id, i) => ({
        id,
        cidr: `10.60.${i * 16}.0/20`,
        availabilityZone: AZS[i === 2 ? 0 : i]!,
        routeTableId: i === 0 ? pulumi.output("rtb-0aaa") : undefined,
      })),
      endpointSubnets: AZS.map((az, i) => ({
        availabilityZone: az,
        cidr: `10.60.255.${i * 16}/28`,
      })),
    },
  };
}

describe("adopt with pulumi.Input ids (a VPC of the same program)", () => {
  it("plans from the plain CIDRs and AZs; names subnets <az>-<n> when the id is not known yet", async () => {
    const r = resolveInspectedVpcArgs(
      adopt({
        vpc: pulumi.output("vpc-0a1b2c3d"),
        subnets: [pulumi.output("subnet-01"), Promise.resolve("subnet-02"), "subnet-03"],
      }),
      AZS,
      false,
    );
    assert.equal(r.mode, "adopt");
    assert.deepEqual(
      r.azs.map((a) => [a.az, a.workloadSubnets.map((w) => w.label)]),
      [
        ["us-east-1a", ["us-east-1a-1", "subnet-03"]],
        ["us-east-1b", ["us-east-1b-1"]],
      ],
    );
    assert.equal(await valueOf(r.vpcId!), "vpc-0a1b2c3d");
    assert.equal(await valueOf(r.azs[0]!.workloadSubnets[0]!.routeTableId!), "rtb-0aaa");
  });

  it("an id that resolves to the wrong kind fails when known, naming the key and the fix", async () => {
    const r = resolveInspectedVpcArgs(
      adopt({ vpc: pulumi.output("subnet-0a1b"), subnets: [pulumi.output("subnet-01")] }),
      AZS,
      false,
    );
    await assert.rejects(
      valueOf(r.vpcId!),
      /tollgate:northSouth\.adopt\.vpcId: resolved to "subnet-0a1b", which is not a VPC id\. Fix: pass the vpc-… id of the resource/,
    );
    await assert.rejects(
      valueOf(checkedId("k", "rtb", "a route table id", Promise.resolve("igw-1"))),
      /tollgate:k: resolved to "igw-1", which is not a route table id/,
    );
  });

  it("plain ids are still checked at once; other values are refused", () => {
    assert.throws(
      () => resolveInspectedVpcArgs(adopt({ vpc: "vpc-0a1b", subnets: ["sub-1"] }), AZS, false),
      /tollgate:northSouth\.adopt\.workloadSubnets\[0\]\.id: "sub-1" is not a subnet id\. Fix: use the id, e.g\. subnet-0123456789abcdef0/,
    );
    assert.throws(
      () =>
        resolveInspectedVpcArgs(
          adopt({ vpc: 42 as unknown as string, subnets: ["subnet-01"] }),
          AZS,
          false,
        ),
      /tollgate:northSouth\.adopt\.vpcId: must be a string, got number 42\. Fix: quote the value/,
    );
  });
});
