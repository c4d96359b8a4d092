import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { refuseDisabled, tagsFor } from "../common";
import { flowLogDelivery, FlowLogsWiring, vpcFlowLog } from "../flow-logs";
import { sectionArgs } from "../schema/parse";
import { inspectedVpcSchema } from "../schema/stack";
import { EndpointServiceRef, gwlbEndpoint } from "../gwlbe";
import { ipv6Subnet64 } from "../net";
import { InspectedVpcArgs, resolveInspectedVpcArgs } from "./args";

export * from "./args";

/** One inspected workload subnet, as exported by the component. */
export interface InspectedSubnetInfo {
  readonly id: string;
  readonly availabilityZone: string;
  readonly cidr: string;
  readonly ipv6Cidr?: string;
  readonly routeTableId: string;
}

/** What the program supplies besides the `tollgate:northSouth` settings. */
export interface InspectedVpcWiring extends FlowLogsWiring {
  /** The endpoint service the GWLB endpoints connect to. Required. */
  readonly endpointService: EndpointServiceRef;
  /** Tags on every resource. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** {@link InspectedVpcArgs} (`tollgate:northSouth`), resolved by the component, plus the wiring. */
export interface InspectedVpcComponentArgs extends InspectedVpcArgs, InspectedVpcWiring {
  /** AZs to span (plain: decides how many subnets and endpoints exist). Required. */
  readonly availabilityZones: string[];
  /** Dual stack: IPv6 subnets, dualstack endpoints, `::/0` routes. Defaults to false. */
  readonly ipv6?: boolean;
}

/**
 * North-south (distributed) inspection: every packet between the internet and a workload subnet
 * passes the GWLB endpoint of the workload's AZ, in both directions.
 *
 *   workload rt:  0.0.0.0/0 (::/0)      -> GWLBe (same AZ)
 *   endpoint rt:  0.0.0.0/0 (::/0)      -> IGW
 *   IGW edge rt:  workload subnet CIDR  -> GWLBe of that subnet's AZ
 */
export class InspectedVpc extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly endpointIds: Record<string, pulumi.Output<string>>;
  readonly workloadSubnetIds: pulumi.Output<string>[];
  readonly edgeRouteTableId: pulumi.Output<string>;
  /** Every inspected subnet with its AZ, CIDRs and route table (read by `npm run plan`). */
  readonly workloadSubnets: pulumi.Output<InspectedSubnetInfo>[];

  constructor(
    name: string,
    args: InspectedVpcComponentArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("tollgate:inspectedVpc:InspectedVpc", name, {}, opts);
    refuseDisabled("northSouth", args.enabled);
    const s = resolveInspectedVpcArgs(
      sectionArgs(inspectedVpcSchema, args),
      args.availabilityZones,
      args.ipv6 ?? false,
    );
    const tags = (n: string): Record<string, string> => tagsFor(args.tags, n, "inspected-vpc");
    const p = { parent: this };

    let vpcId: pulumi.Output<string>;
    let igwId: pulumi.Output<string>;
    let vpcV6: pulumi.Output<string> | undefined;
    if (s.mode === "create") {
      const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        {
          cidrBlock: s.vpcCidr.text,
          enableDnsSupport: true,
          enableDnsHostnames: true,
          assignGeneratedIpv6CidrBlock: s.ipv6 || undefined,
          tags: tags(`${name}-vpc`),
        },
        p,
      );
      const igw = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: tags(`${name}-igw`) },
        p,
      );
      vpcId = vpc.id;
      igwId = igw.id;
      vpcV6 = s.ipv6 ? vpc.ipv6CidrBlock : undefined;
    } else {
      vpcId = pulumi.output(s.vpcId!);
      igwId = pulumi.output(s.internetGatewayId!);
    }
    const flowLogs = flowLogDelivery(this, name, args, tags);
    vpcFlowLog(this, `${name}-vpc`, vpcId, flowLogs);
    const slot = (
      n: number | undefined,
      fixed: string | undefined,
    ): pulumi.Input<string> | undefined =>
      !s.ipv6
        ? undefined
        : fixed !== undefined
          ? fixed
          : vpcV6!.apply((c) => ipv6Subnet64(c, n ?? 0));

    const edgeRt = new aws.ec2.RouteTable(
      `${name}-igw-edge-rt`,
      { vpcId, tags: tags(`${name}-igw-edge-rt`) },
      p,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-igw-edge-rta`,
      { routeTableId: edgeRt.id, gatewayId: igwId },
      p,
    );

    this.endpointIds = {};
    this.workloadSubnetIds = [];
    this.workloadSubnets = [];
    for (const plan of s.azs) {
      const az = plan.az;
      const epSubnet = new aws.ec2.Subnet(
        `${name}-endpoint-${az}`,
        {
          vpcId,
          availabilityZone: az,
          cidrBlock: plan.endpointSubnet.cidr.text,
          ipv6CidrBlock: slot(plan.endpointSubnet.ipv6Slot, plan.endpointSubnet.ipv6Cidr),
          tags: tags(`${name}-endpoint-${az}`),
        },
        p,
      );
      const gwlbe = gwlbEndpoint(
        this,
        `${name}-gwlbe-${az}`,
        vpcId,
        epSubnet.id,
        args.endpointService,
        s.ipv6,
        tags(`${name}-gwlbe-${az}`),
      );
      this.endpointIds[az] = gwlbe.endpoint.id;
      const viaEndpoint = { parent: this, dependsOn: gwlbe.ready };

      const epRt = new aws.ec2.RouteTable(
        `${name}-endpoint-rt-${az}`,
        { vpcId, tags: tags(`${name}-endpoint-rt-${az}`) },
        p,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-endpoint-rta-${az}`,
        { routeTableId: epRt.id, subnetId: epSubnet.id },
        p,
      );
      new aws.ec2.Route(
        `${name}-endpoint-default-${az}`,
        { routeTableId: epRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igwId },
        p,
      );
      if (s.ipv6) {
        new aws.ec2.Route(
          `${name}-endpoint-default6-${az}`,
          { routeTableId: epRt.id, destinationIpv6CidrBlock: "::/0", gatewayId: igwId },
          p,
        );
      }

      for (const w of plan.workloadSubnets) {
        const label = w.label;
        let subnetId: pulumi.Input<string>;
        let workloadV6: pulumi.Input<string> | undefined;
        if (w.id === undefined) {
          const sub = new aws.ec2.Subnet(
            `${name}-workload-${label}`,
            {
              vpcId,
              availabilityZone: az,
              cidrBlock: w.cidr.text,
              ipv6CidrBlock: slot(plan.workloadIpv6Slot, undefined),
              // Dual stack: workloads get an IPv6 address so ::/0 through the endpoint is used.
              assignIpv6AddressOnCreation: s.ipv6 || undefined,
              tags: tags(`${name}-workload-${label}`),
            },
            p,
          );
          subnetId = sub.id;
          workloadV6 = s.ipv6 ? sub.ipv6CidrBlock : undefined;
          this.workloadSubnetIds.push(sub.id);
        } else {
          subnetId = w.id;
          workloadV6 = w.ipv6Cidr;
          this.workloadSubnetIds.push(pulumi.output(w.id));
        }
        let rtId: pulumi.Input<string>;
        if (w.routeTableId !== undefined) {
          rtId = w.routeTableId;
        } else {
          const rt = new aws.ec2.RouteTable(
            `${name}-workload-rt-${label}`,
            { vpcId, tags: tags(`${name}-workload-rt-${label}`) },
            p,
          );
          new aws.ec2.RouteTableAssociation(
            `${name}-workload-rta-${label}`,
            { routeTableId: rt.id, subnetId },
            p,
          );
          rtId = rt.id;
        }
        this.workloadSubnets.push(
          pulumi.all([subnetId, rtId, workloadV6]).apply(([id, routeTableId, v6]) => ({
            id,
            availabilityZone: az,
            cidr: w.cidr.text,
            ...(v6 ? { ipv6Cidr: v6 } : {}),
            routeTableId,
          })),
        );
        new aws.ec2.Route(
          `${name}-workload-default-${label}`,
          {
            routeTableId: rtId,
            destinationCidrBlock: "0.0.0.0/0",
            vpcEndpointId: gwlbe.endpoint.id,
          },
          viaEndpoint,
        );
        new aws.ec2.Route(
          `${name}-igw-edge-${label}`,
          {
            routeTableId: edgeRt.id,
            destinationCidrBlock: w.cidr.text,
            vpcEndpointId: gwlbe.endpoint.id,
          },
          viaEndpoint,
        );
        if (s.ipv6) {
          new aws.ec2.Route(
            `${name}-workload-default6-${label}`,
            {
              routeTableId: rtId,
              destinationIpv6CidrBlock: "::/0",
              vpcEndpointId: gwlbe.endpoint.id,
            },
            viaEndpoint,
          );
          new aws.ec2.Route(
            `${name}-igw-edge6-${label}`,
            {
              routeTableId: edgeRt.id,
              destinationIpv6CidrBlock: workloadV6!,
              vpcEndpointId: gwlbe.endpoint.id,
            },
            viaEndpoint,
          );
        }
      }
    }
    this.vpcId = vpcId;
    this.edgeRouteTableId = edgeRt.id;
    this.registerOutputs({
      vpcId,
      vpcCidr: s.vpcCidr.text,
      workloadSubnets: this.workloadSubnets,
      endpointIds: this.endpointIds,
      workloadSubnetIds: this.workloadSubnetIds,
      edgeRouteTableId: this.edgeRouteTableId,
    });
  }
}
