import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { refuseDisabled, tagsFor } from "../common";
import { flowLogDelivery, FlowLogsWiring, vpcFlowLog } from "../flow-logs";
import { sectionArgs } from "../schema/parse";
import { egressSchema } from "../schema/stack";
import { EndpointServiceRef, gwlbEndpoint } from "../gwlbe";
import { EgressArgs, resolveEgressArgs } from "./args";
import { buildSpoke } from "./spoke";

export * from "./args";

/** What the program supplies besides the `tollgate:egress` settings. */
export interface EgressWiring extends FlowLogsWiring {
  /** The endpoint service the GWLB endpoints connect to. Required. */
  readonly endpointService: EndpointServiceRef;
  /** Tags on every resource. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** {@link EgressArgs} (`tollgate:egress`), resolved by the component, plus the wiring. */
export interface EgressComponentArgs extends EgressArgs, EgressWiring {
  /** AZs to span (plain: decides how many subnets, endpoints and NAT gateways exist). Required. */
  readonly availabilityZones: string[];
}

/** One spoke workload subnet, as exported by the component. */
export interface SpokeSubnetInfo {
  readonly spoke: string;
  readonly id: string;
  readonly availabilityZone: string;
  readonly cidr: string;
  readonly routeTableId: string;
}

/**
 * Centralized egress: spokes -> TGW -> hub (inspection) VPC -> GWLBe -> NAT -> IGW, and back the
 * same way, every leg in one AZ.
 *
 *   attachment rt:  0.0.0.0/0 -> GWLBe (same AZ)
 *   endpoint rt:    0.0.0.0/0 -> NAT (same AZ); spoke CIDRs -> TGW
 *   public rt:      0.0.0.0/0 -> IGW;           spoke CIDRs -> GWLBe (same AZ)
 *   TGW spoke rt:   0.0.0.0/0 -> hub attachment (appliance mode on)
 *   TGW hub rt:     propagations from every spoke attachment
 */
export class Egress extends pulumi.ComponentResource {
  readonly transitGatewayId: pulumi.Output<string>;
  readonly hubVpcId: pulumi.Output<string>;
  readonly hubAttachmentId: pulumi.Output<string>;
  readonly spokeVpcIds: Record<string, pulumi.Output<string>>;
  readonly natPublicIps: pulumi.Output<string>[];
  /** Spoke workload subnets (read by `npm run plan`). */
  readonly spokeSubnets: pulumi.Output<SpokeSubnetInfo>[];

  constructor(name: string, args: EgressComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tollgate:egress:Egress", name, {}, opts);
    refuseDisabled("egress", args.enabled);
    const s = resolveEgressArgs(sectionArgs(egressSchema, args), args.availabilityZones);
    const tags = (n: string): Record<string, string> => tagsFor(args.tags, n, "egress");
    const p = { parent: this };

    const tgw = new aws.ec2transitgateway.TransitGateway(
      `${name}-tgw`,
      {
        description: "Tollgate centralized egress",
        amazonSideAsn: s.amazonSideAsn,
        defaultRouteTableAssociation: "disable",
        defaultRouteTablePropagation: "disable",
        dnsSupport: "enable",
        vpnEcmpSupport: "enable",
        tags: tags(`${name}-tgw`),
      },
      p,
    );
    const vpc = new aws.ec2.Vpc(
      `${name}-hub-vpc`,
      {
        cidrBlock: s.vpcCidr.text,
        enableDnsSupport: true,
        enableDnsHostnames: true,
        tags: tags(`${name}-hub-vpc`),
      },
      p,
    );
    const flowLogs = flowLogDelivery(this, name, args, tags);
    vpcFlowLog(this, `${name}-hub-vpc`, vpc.id, flowLogs);
    const igw = new aws.ec2.InternetGateway(
      `${name}-hub-igw`,
      { vpcId: vpc.id, tags: tags(`${name}-hub-igw`) },
      p,
    );

    const azs = s.availabilityZones;
    const attachSubnets = azs.map(
      (az, i) =>
        new aws.ec2.Subnet(
          `${name}-attachment-${az}`,
          {
            vpcId: vpc.id,
            availabilityZone: az,
            cidrBlock: s.attachmentSubnets[i]!.text,
            tags: tags(`${name}-attachment-${az}`),
          },
          p,
        ),
    );
    const hubAttachment = new aws.ec2transitgateway.VpcAttachment(
      `${name}-hub-attach`,
      {
        transitGatewayId: tgw.id,
        vpcId: vpc.id,
        subnetIds: attachSubnets.map((sn) => sn.id),
        applianceModeSupport: "enable",
        transitGatewayDefaultRouteTableAssociation: false,
        transitGatewayDefaultRouteTablePropagation: false,
        tags: tags(`${name}-hub-attach`),
      },
      p,
    );

    const natPublicIps: pulumi.Output<string>[] = [];
    azs.forEach((az, i) => {
      const epSubnet = new aws.ec2.Subnet(
        `${name}-endpoint-${az}`,
        {
          vpcId: vpc.id,
          availabilityZone: az,
          cidrBlock: s.endpointSubnets[i]!.text,
          tags: tags(`${name}-endpoint-${az}`),
        },
        p,
      );
      const pubSubnet = new aws.ec2.Subnet(
        `${name}-public-${az}`,
        {
          vpcId: vpc.id,
          availabilityZone: az,
          cidrBlock: s.publicSubnets[i]!.text,
          mapPublicIpOnLaunch: false,
          tags: tags(`${name}-public-${az}`),
        },
        p,
      );
      const eip = new aws.ec2.Eip(
        `${name}-nat-eip-${az}`,
        { domain: "vpc", tags: tags(`${name}-nat-eip-${az}`) },
        { parent: this, dependsOn: [igw] },
      );
      const nat = new aws.ec2.NatGateway(
        `${name}-nat-${az}`,
        {
          allocationId: eip.allocationId,
          subnetId: pubSubnet.id,
          connectivityType: "public",
          tags: tags(`${name}-nat-${az}`),
        },
        { parent: this, dependsOn: [igw] },
      );
      natPublicIps.push(eip.publicIp);
      const gwlbe = gwlbEndpoint(
        this,
        `${name}-gwlbe-${az}`,
        vpc.id,
        epSubnet.id,
        args.endpointService,
        false,
        tags(`${name}-gwlbe-${az}`),
      );
      const viaEndpoint = { parent: this, dependsOn: gwlbe.ready };

      const attRt = new aws.ec2.RouteTable(
        `${name}-attachment-rt-${az}`,
        { vpcId: vpc.id, tags: tags(`${name}-attachment-rt-${az}`) },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-attachment-rta-${az}`,
        { routeTableId: attRt.id, subnetId: attachSubnets[i]!.id },
        p,
      );
      new aws.ec2.Route(
        `${name}-attachment-default-${az}`,
        {
          routeTableId: attRt.id,
          destinationCidrBlock: "0.0.0.0/0",
          vpcEndpointId: gwlbe.endpoint.id,
        },
        viaEndpoint,
      );

      const epRt = new aws.ec2.RouteTable(
        `${name}-endpoint-rt-${az}`,
        { vpcId: vpc.id, tags: tags(`${name}-endpoint-rt-${az}`) },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-endpoint-rta-${az}`,
        { routeTableId: epRt.id, subnetId: epSubnet.id },
        p,
      );
      new aws.ec2.Route(
        `${name}-endpoint-default-${az}`,
        { routeTableId: epRt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
        p,
      );

      const pubRt = new aws.ec2.RouteTable(
        `${name}-public-rt-${az}`,
        { vpcId: vpc.id, tags: tags(`${name}-public-rt-${az}`) },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-rta-${az}`,
        { routeTableId: pubRt.id, subnetId: pubSubnet.id },
        p,
      );
      new aws.ec2.Route(
        `${name}-public-default-${az}`,
        { routeTableId: pubRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
        p,
      );

      for (const sp of s.spokes) {
        new aws.ec2.Route(
          `${name}-endpoint-${sp.name}-${az}`,
          { routeTableId: epRt.id, destinationCidrBlock: sp.cidr.text, transitGatewayId: tgw.id },
          { parent: this, dependsOn: [hubAttachment] },
        );
        new aws.ec2.Route(
          `${name}-public-${sp.name}-${az}`,
          {
            routeTableId: pubRt.id,
            destinationCidrBlock: sp.cidr.text,
            vpcEndpointId: gwlbe.endpoint.id,
          },
          viaEndpoint,
        );
      }
    });

    // TGW routing: spokes default to the hub; the hub learns every spoke by propagation.
    const spokeRt = new aws.ec2transitgateway.RouteTable(
      `${name}-tgw-spoke-rt`,
      { transitGatewayId: tgw.id, tags: tags(`${name}-tgw-spoke-rt`) },
      p,
    );
    const hubRt = new aws.ec2transitgateway.RouteTable(
      `${name}-tgw-hub-rt`,
      { transitGatewayId: tgw.id, tags: tags(`${name}-tgw-hub-rt`) },
      p,
    );
    new aws.ec2transitgateway.RouteTableAssociation(
      `${name}-tgw-hub-assoc`,
      { transitGatewayAttachmentId: hubAttachment.id, transitGatewayRouteTableId: hubRt.id },
      p,
    );
    new aws.ec2transitgateway.Route(
      `${name}-tgw-spoke-default`,
      {
        transitGatewayRouteTableId: spokeRt.id,
        destinationCidrBlock: "0.0.0.0/0",
        transitGatewayAttachmentId: hubAttachment.id,
      },
      p,
    );

    this.spokeVpcIds = {};
    this.spokeSubnets = [];
    for (const sp of s.spokes) {
      const spoke = buildSpoke(this, name, sp, azs, tgw.id, tags);
      this.spokeVpcIds[sp.name] = spoke.vpc.id;
      vpcFlowLog(this, `${name}-spoke-${sp.name}-vpc`, spoke.vpc.id, flowLogs);
      for (const sub of spoke.subnets)
        this.spokeSubnets.push(sub.apply((x) => ({ spoke: sp.name, ...x })));
      new aws.ec2transitgateway.RouteTableAssociation(
        `${name}-tgw-spoke-assoc-${sp.name}`,
        { transitGatewayAttachmentId: spoke.attachment.id, transitGatewayRouteTableId: spokeRt.id },
        p,
      );
      new aws.ec2transitgateway.RouteTablePropagation(
        `${name}-tgw-hub-prop-${sp.name}`,
        { transitGatewayAttachmentId: spoke.attachment.id, transitGatewayRouteTableId: hubRt.id },
        p,
      );
    }

    this.transitGatewayId = tgw.id;
    this.hubVpcId = vpc.id;
    this.hubAttachmentId = hubAttachment.id;
    this.natPublicIps = natPublicIps;
    this.registerOutputs({
      transitGatewayId: this.transitGatewayId,
      hubVpcId: this.hubVpcId,
      hubAttachmentId: this.hubAttachmentId,
      spokeVpcIds: this.spokeVpcIds,
      natPublicIps: this.natPublicIps,
      spokeSubnets: this.spokeSubnets,
    });
  }
}
