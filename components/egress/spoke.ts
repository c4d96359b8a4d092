import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ResolvedSpoke } from "./args";

export interface Spoke {
  readonly vpc: aws.ec2.Vpc;
  /** Workload subnets (read by `npm run plan`). */
  readonly subnets: pulumi.Output<{
    id: string;
    availabilityZone: string;
    cidr: string;
    routeTableId: string;
  }>[];
  readonly attachment: aws.ec2transitgateway.VpcAttachment;
}

/** One spoke VPC: a workload subnet per AZ, default route to the TGW, TGW attachment. */
export function buildSpoke(
  parent: pulumi.Resource,
  name: string,
  spoke: ResolvedSpoke,
  azs: readonly string[],
  tgwId: pulumi.Input<string>,
  tags: (name: string) => Record<string, string>,
): Spoke {
  const p = { parent };
  const n = `${name}-spoke-${spoke.name}`;
  const vpc = new aws.ec2.Vpc(
    `${n}-vpc`,
    {
      cidrBlock: spoke.cidr.text,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: tags(`${n}-vpc`),
    },
    p,
  );
  const rt = new aws.ec2.RouteTable(`${n}-rt`, { vpcId: vpc.id, tags: tags(`${n}-rt`) }, p);
  const subnets = azs.map((az, i) => {
    const sub = new aws.ec2.Subnet(
      `${n}-workload-${az}`,
      {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: spoke.subnets[i]!.text,
        tags: tags(`${n}-workload-${az}`),
      },
      p,
    );
    new aws.ec2.RouteTableAssociation(
      `${n}-workload-rta-${az}`,
      { routeTableId: rt.id, subnetId: sub.id },
      p,
    );
    return sub;
  });
  const attachment = new aws.ec2transitgateway.VpcAttachment(
    `${n}-attach`,
    {
      transitGatewayId: tgwId,
      vpcId: vpc.id,
      subnetIds: subnets.map((s) => s.id),
      transitGatewayDefaultRouteTableAssociation: false,
      transitGatewayDefaultRouteTablePropagation: false,
      tags: tags(`${n}-attach`),
    },
    p,
  );
  new aws.ec2.Route(
    `${n}-default`,
    { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", transitGatewayId: tgwId },
    { parent, dependsOn: [attachment] },
  );
  return {
    vpc,
    attachment,
    subnets: subnets.map((sub, i) =>
      pulumi.all([sub.id, rt.id]).apply(([id, routeTableId]) => ({
        id,
        availabilityZone: azs[i]!,
        cidr: spoke.subnets[i]!.text,
        routeTableId,
      })),
    ),
  };
}
