import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ipv6Subnet64 } from "../net";
import { AZ_SLOTS } from "../layout";
import { ResolvedInspectionArgs } from "./args";

export interface InspectionNetwork {
  readonly vpc: aws.ec2.Vpc;
  readonly applianceSubnets: aws.ec2.Subnet[];
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly natGateways: aws.ec2.NatGateway[];
  readonly applianceRouteTables: aws.ec2.RouteTable[];
}

/**
 * Inspection VPC: per AZ a private appliance subnet (default route to the NAT gateway of the same
 * AZ, S3 through a gateway endpoint) and a public subnet holding that NAT gateway.
 */
export function buildInspectionNetwork(
  parent: pulumi.Resource,
  name: string,
  args: ResolvedInspectionArgs,
  tags: (name: string) => Record<string, string>,
  region: string,
): InspectionNetwork {
  const p = { parent };
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: args.vpcCidr.text,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      assignGeneratedIpv6CidrBlock: args.ipv6 || undefined,
      tags: tags(`${name}-vpc`),
    },
    p,
  );
  const igw = new aws.ec2.InternetGateway(
    `${name}-igw`,
    { vpcId: vpc.id, tags: tags(`${name}-igw`) },
    p,
  );
  const v6 = (slot: number): pulumi.Output<string> | undefined =>
    args.ipv6 ? vpc.ipv6CidrBlock.apply((c) => ipv6Subnet64(c, slot)) : undefined;

  const applianceSubnets: aws.ec2.Subnet[] = [];
  const publicSubnets: aws.ec2.Subnet[] = [];
  const natGateways: aws.ec2.NatGateway[] = [];
  const applianceRouteTables: aws.ec2.RouteTable[] = [];

  args.availabilityZones.forEach((az, i) => {
    const pub = new aws.ec2.Subnet(
      `${name}-public-${az}`,
      {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: args.publicSubnets[i]!.text,
        ipv6CidrBlock: v6(AZ_SLOTS + i),
        mapPublicIpOnLaunch: false,
        tags: tags(`${name}-public-${az}`),
      },
      p,
    );
    const app = new aws.ec2.Subnet(
      `${name}-appliance-${az}`,
      {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: args.applianceSubnets[i]!.text,
        ipv6CidrBlock: v6(i),
        mapPublicIpOnLaunch: false,
        tags: tags(`${name}-appliance-${az}`),
      },
      p,
    );
    const eip = new aws.ec2.Eip(
      `${name}-nat-eip-${az}`,
      { domain: "vpc", tags: tags(`${name}-nat-eip-${az}`) },
      { parent, dependsOn: [igw] },
    );
    const nat = new aws.ec2.NatGateway(
      `${name}-nat-${az}`,
      {
        allocationId: eip.allocationId,
        subnetId: pub.id,
        connectivityType: "public",
        tags: tags(`${name}-nat-${az}`),
      },
      { parent, dependsOn: [igw] },
    );

    const pubRt = new aws.ec2.RouteTable(
      `${name}-public-rt-${az}`,
      { vpcId: vpc.id, tags: tags(`${name}-public-rt-${az}`) },
      p,
    );
    new aws.ec2.Route(
      `${name}-public-default-${az}`,
      { routeTableId: pubRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      p,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-public-rta-${az}`,
      { routeTableId: pubRt.id, subnetId: pub.id },
      p,
    );

    const appRt = new aws.ec2.RouteTable(
      `${name}-appliance-rt-${az}`,
      { vpcId: vpc.id, tags: tags(`${name}-appliance-rt-${az}`) },
      p,
    );
    new aws.ec2.Route(
      `${name}-appliance-default-${az}`,
      { routeTableId: appRt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
      p,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-appliance-rta-${az}`,
      { routeTableId: appRt.id, subnetId: app.id },
      p,
    );

    applianceSubnets.push(app);
    publicSubnets.push(pub);
    natGateways.push(nat);
    applianceRouteTables.push(appRt);
  });

  new aws.ec2.VpcEndpoint(
    `${name}-s3`,
    {
      vpcId: vpc.id,
      serviceName: `com.amazonaws.${region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: applianceRouteTables.map((rt) => rt.id),
      tags: tags(`${name}-s3`),
    },
    p,
  );
  return { vpc, applianceSubnets, publicSubnets, natGateways, applianceRouteTables };
}
