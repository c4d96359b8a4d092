/**
 * An "existing" VPC shaped like what `awsx.ec2.Vpc` builds with
 * `subnetSpecs: [{ type: "Isolated", cidrBlocks: [...] }]` and `natGateways: { strategy: "None" }`:
 * per AZ an isolated subnet with its own route table (no default route), explicitly associated,
 * ids exposed as `Output<string[]>` the way awsx exposes them. @pulumi/awsx itself is not a
 * dependency here: it pulls Docker providers and the AWS SDK, and its Vpc is a remote component
 * that Pulumi's mocks cannot expand into the subnets the policy pack walks. With awsx the same
 * values are `vpc.vpcId`, `vpc.isolatedSubnetIds` and the isolated subnets' route tables from
 * `vpc.routeTableAssociations` (see README.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AwsxStyleVpcArgs {
  /** The VPC's CIDR, e.g. 10.60.0.0/16. */
  readonly cidrBlock: string;
  readonly availabilityZones: readonly string[];
  /** Per AZ, the isolated subnet's CIDR (like awsx's `cidrBlocks` of the subnet spec). */
  readonly isolatedCidrs: readonly string[];
}

/** What the program reads from the VPC (the subset of `awsx.ec2.Vpc`'s outputs). */
export interface AwsxStyleVpc {
  readonly vpcId: pulumi.Output<string>;
  readonly isolatedSubnetIds: pulumi.Output<string[]>;
  /** Route table of each isolated subnet, in the order of `isolatedSubnetIds`. */
  readonly isolatedRouteTableIds: pulumi.Output<string[]>;
}

export function awsxStyleVpc(name: string, args: AwsxStyleVpcArgs): AwsxStyleVpc {
  const vpc = new aws.ec2.Vpc(name, {
    cidrBlock: args.cidrBlock,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    tags: { Name: name },
  });
  const isolated = args.availabilityZones.map((az, i) => {
    const n = `${name}-isolated-${i + 1}`;
    const subnet = new aws.ec2.Subnet(n, {
      vpcId: vpc.id,
      availabilityZone: az,
      cidrBlock: args.isolatedCidrs[i]!,
      tags: { Name: n },
    });
    const routeTable = new aws.ec2.RouteTable(n, { vpcId: vpc.id, tags: { Name: n } });
    new aws.ec2.RouteTableAssociation(n, { subnetId: subnet.id, routeTableId: routeTable.id });
    return { subnet, routeTable };
  });
  return {
    vpcId: vpc.id,
    isolatedSubnetIds: pulumi.all(isolated.map((p) => p.subnet.id)),
    isolatedRouteTableIds: pulumi.all(isolated.map((p) => p.routeTable.id)),
  };
}
