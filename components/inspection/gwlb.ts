import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GENEVE_PORT } from "@tollgate/appliance";
import { ResolvedInspectionArgs, stickinessAttribute } from "./args";

export interface Gwlb {
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly listener: aws.lb.Listener;
}

/**
 * Gateway Load Balancer, its GENEVE target group and the forwarding listener. AWS allows these
 * names 32 characters including Pulumi's 8-character random suffix, which is why the stack's
 * `namePrefix` is limited to 8 characters (`<prefix>-inspection-gwlb` + suffix <= 32).
 */
export function buildGwlb(
  parent: pulumi.Resource,
  name: string,
  args: ResolvedInspectionArgs,
  vpcId: pulumi.Input<string>,
  subnetIds: pulumi.Input<string>[],
  tags: (name: string) => Record<string, string>,
): Gwlb {
  const p = { parent };
  const loadBalancer = new aws.lb.LoadBalancer(
    `${name}-gwlb`,
    {
      loadBalancerType: "gateway",
      subnets: subnetIds,
      ipAddressType: args.ipv6 ? "dualstack" : "ipv4",
      enableCrossZoneLoadBalancing: args.crossZoneLoadBalancing,
      enableDeletionProtection: args.deletionProtection,
      tags: tags(`${name}-gwlb`),
    },
    p,
  );
  const hc = args.healthCheck;
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-tg`,
    {
      vpcId,
      protocol: "GENEVE",
      port: GENEVE_PORT,
      targetType: "instance",
      deregistrationDelay: args.deregistrationDelaySeconds,
      healthCheck: {
        enabled: true,
        protocol: "HTTP",
        port: String(hc.port),
        path: hc.path,
        interval: hc.intervalSeconds,
        timeout: hc.timeoutSeconds,
        healthyThreshold: hc.healthyThreshold,
        unhealthyThreshold: hc.unhealthyThreshold,
      },
      // AWS stores these attributes in snake_case; both values must be equal.
      targetFailovers: [
        { onDeregistration: args.targetFailover, onUnhealthy: args.targetFailover },
      ],
      stickiness: stickinessAttribute(args.stickiness),
      tags: tags(`${name}-tg`),
    },
    p,
  );
  const listener = new aws.lb.Listener(
    `${name}-listener`,
    {
      loadBalancerArn: loadBalancer.arn,
      defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
      tcpIdleTimeoutSeconds: args.tcpIdleTimeoutSeconds,
      tags: tags(`${name}-listener`),
    },
    p,
  );
  return { loadBalancer, targetGroup, listener };
}
