import * as pulumi from "@pulumi/pulumi";
import { AwsContext, tagsFor } from "../common";
import { flowLogDelivery, FlowLogsWiring, vpcFlowLog } from "../flow-logs";
import { sectionArgs } from "../schema/parse";
import { inspectionSchema } from "../schema/stack";
import { InspectionArgs, resolveInspectionArgs, ResolvedInspectionArgs } from "./args";
import { buildFleet, FleetArtifacts } from "./fleet";
import { FleetArgs, resolveFleetArgs, ResolvedFleetArgs } from "./fleet-args";
import { buildGwlb } from "./gwlb";
import { buildInspectionNetwork } from "./network";

export * from "./args";
export * from "./fleet-args";
export type { FleetArtifacts } from "./fleet";
export { LAUNCH_BEFORE_TERMINATE, targetTracking } from "./fleet";

/** What the program supplies besides the `tollgate:inspection` and `tollgate:fleet` settings. */
export interface InspectionWiring extends FlowLogsWiring {
  /** Region, account and partition. Required. */
  readonly aws: AwsContext;
  /** The delivered package and rules (outputs of the ApplianceDelivery component). Required. */
  readonly artifacts: FleetArtifacts;
  /** Tags on every resource. Defaults to none. */
  readonly tags?: Record<string, string>;
}

/** {@link InspectionArgs} (`tollgate:inspection`) and the fleet, resolved by the component, plus the wiring. */
export interface InspectionComponentArgs extends InspectionArgs, InspectionWiring {
  /** AZs to span (plain: decides how many subnets exist). Required. */
  readonly availabilityZones: string[];
  /** Dual-stack GWLB and subnets. Defaults to false. */
  readonly ipv6?: boolean;
  /** Appliance fleet (`tollgate:fleet`). Defaults: see `FleetArgs`. */
  readonly fleet?: FleetArgs;
}

/** The resolved inspection and fleet settings of the component's args. */
function resolvedInspection(args: InspectionComponentArgs): {
  readonly inspection: ResolvedInspectionArgs;
  readonly fleet: ResolvedFleetArgs;
} {
  return {
    inspection: resolveInspectionArgs(
      sectionArgs(inspectionSchema, args),
      args.availabilityZones,
      args.ipv6 ?? false,
    ),
    fleet: resolveFleetArgs(args.fleet ?? {}),
  };
}

/** Inspection VPC, Gateway Load Balancer (GENEVE target group + listener) and the appliance fleet. */
export class Inspection extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly applianceSubnetIds: pulumi.Output<string>[];
  readonly gatewayLoadBalancerArn: pulumi.Output<string>;
  readonly targetGroupArn: pulumi.Output<string>;
  /** Name of each AZ's appliance Auto Scaling group, keyed by AZ. */
  readonly autoScalingGroupNames: Record<string, pulumi.Output<string>>;
  readonly applianceRoleArn: pulumi.Output<string>;
  readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: InspectionComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tollgate:inspection:Inspection", name, {}, opts);
    const { inspection: settings, fleet: fleetSettings } = resolvedInspection(args);
    const tags = (n: string): Record<string, string> => tagsFor(args.tags, n, "inspection");
    const net = buildInspectionNetwork(this, name, settings, tags, args.aws.region);
    const flowLogs = flowLogDelivery(this, name, args, tags);
    vpcFlowLog(this, `${name}-vpc`, net.vpc.id, flowLogs);
    const subnetIds = net.applianceSubnets.map((s) => s.id);
    const gwlb = buildGwlb(this, name, settings, net.vpc.id, subnetIds, tags);
    const fleet = buildFleet({
      parent: this,
      name,
      net: settings,
      fleet: fleetSettings,
      aws: args.aws,
      vpcId: net.vpc.id,
      subnetIds,
      targetGroupArn: gwlb.targetGroup.arn,
      artifacts: args.artifacts,
      tags,
    });

    this.vpcId = net.vpc.id;
    this.applianceSubnetIds = subnetIds;
    this.gatewayLoadBalancerArn = gwlb.loadBalancer.arn;
    this.targetGroupArn = gwlb.targetGroup.arn;
    this.autoScalingGroupNames = Object.fromEntries(
      Object.entries(fleet.autoScalingGroups).map(([az, g]) => [az, g.name]),
    );
    this.applianceRoleArn = fleet.role.arn;
    this.logGroupName = fleet.logGroup.name;
    this.registerOutputs({
      vpcId: this.vpcId,
      applianceSubnetIds: this.applianceSubnetIds,
      gatewayLoadBalancerArn: this.gatewayLoadBalancerArn,
      targetGroupArn: this.targetGroupArn,
      autoScalingGroupNames: this.autoScalingGroupNames,
      applianceRoleArn: this.applianceRoleArn,
      logGroupName: this.logGroupName,
    });
  }
}
