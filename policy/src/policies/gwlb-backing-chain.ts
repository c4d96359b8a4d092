import {
  endpointsByLoadBalancer,
  listOf,
  strandedFleets,
  vpcOfLoadBalancer,
} from "../model/backing";
import type { Blame } from "../model/blame";
import type { EndpointNode, ListenerNode, TargetGroupNode, Topology } from "../model/topology";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

/** What to change when a listener forwards to a target group without appliances. */
function emptyGroupBlame(
  t: Topology,
  l: ListenerNode,
  tg: TargetGroupNode,
  vpcOf: () => ReturnType<typeof vpcOfLoadBalancer>,
): Blame {
  const zero = tg.fleets.filter((f) => f.empty);
  if (zero.length > 0) {
    return {
      nodes: zero,
      fix: `${listOf(zero.map((f) => f.label))} registered in ${tg.label} can hold no appliance (maxSize 0); raise maxSize.`,
    };
  }
  const stranded = strandedFleets(t, vpcOf());
  const unregistered = stranded.find((f) => f.targetGroups.length === 0);
  if (unregistered) {
    return {
      nodes: [unregistered, tg],
      fix: `register ${unregistered.label} in ${tg.label} (targetGroupArns: [${tg.label}'s arn]).`,
    };
  }
  const elsewhere = stranded[0];
  if (elsewhere) {
    const other = elsewhere.targetGroups.map((g) => g.label).join(", ");
    return {
      nodes: [l, elsewhere],
      fix: `${l.label} forwards to ${tg.label}, but the appliances of ${elsewhere.label} are registered in ${other}, which no listener uses: forward ${l.label} to ${other}, or register ${elsewhere.label} in ${tg.label}.`,
    };
  }
  return {
    nodes: [tg],
    fix: `register the appliance fleet in ${tg.label}: an Auto Scaling group with targetGroupArns naming it, or aws.lb.TargetGroupAttachment resources.`,
  };
}

const endpointsText = (es: readonly EndpointNode[]): string => listOf(es.map((e) => e.label));

/**
 * The whole backing chain of every GWLB endpoint the stack declares: endpoint -> endpoint service
 * -> Gateway Load Balancer -> listener -> target group -> appliances registered in it. A broken link
 * blackholes every flow routed to the endpoint, however right the routes are.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.gwlbListeners}
 */
export const gwlbBackingChain = topologyPolicy(
  {
    name: "tollgate-gwlb-backing-chain",
    description:
      "Every GWLB endpoint must be backed by a Gateway Load Balancer with a listener forwarding to a target group that has appliances registered (an Auto Scaling group's targetGroupArns or target group attachments).",
    severity: "critical",
    url: AWS_DOCS.gwlbListeners,
    remediationSteps:
      "Give the endpoint service's Gateway Load Balancer an aws.lb.Listener whose default action forwards to the GENEVE target group, and register the appliance Auto Scaling group in that target group (targetGroupArns).",
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    for (const e of t.endpoints) {
      const svc = e.service;
      if (svc && svc.lbs.length === 0 && !svc.lbsOutside) {
        reportBlame(
          report,
          {
            nodes: [svc],
            fix: `set gatewayLoadBalancerArns of ${svc.label} to the Gateway Load Balancer.`,
          },
          e,
          `${e.label} connects to ${svc.label}, which names no Gateway Load Balancer: traffic routed to the endpoint is blackholed.`,
        );
      }
    }
    const byLb = endpointsByLoadBalancer(t);
    for (const [lb, endpoints] of byLb) {
      const chain = `${endpointsText(endpoints)} -> ${endpoints[0]?.service?.label ?? "endpoint service"} -> ${lb.label}`;
      if (lb.listeners.length === 0) {
        if (t.unresolvedListeners > 0) continue;
        const stray = t.loadBalancers.find(
          (o) => o !== lb && o.listeners.length > 0 && !byLb.has(o),
        )?.listeners[0];
        reportBlame(
          report,
          stray
            ? {
                nodes: [stray, lb],
                fix: `${stray.label} is attached to another load balancer; set its loadBalancerArn to ${lb.label}.`,
              }
            : {
                nodes: [lb],
                fix: `add an aws.lb.Listener with loadBalancerArn ${lb.label} forwarding to the appliance target group.`,
              },
          endpoints[0],
          `${chain}: ${lb.label} has no listener, so flows sent to the endpoints are blackholed.`,
        );
        continue;
      }
      if (t.unresolvedRegistrations > 0) continue;
      for (const l of lb.listeners) {
        if (l.targetsOutside) continue;
        for (const tg of l.targetGroups) {
          if (tg.fleets.some((f) => !f.empty)) continue;
          reportBlame(
            report,
            emptyGroupBlame(t, l, tg, () => vpcOfLoadBalancer(lb)),
            tg,
            `${chain} -> ${l.label} -> ${tg.label}: no appliance is registered in ${tg.label}, so flows sent to the endpoints are blackholed.`,
          );
        }
      }
    }
  },
);
