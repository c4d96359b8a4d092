import {
  endpointsByLoadBalancer,
  listOf,
  strandedFleets,
  vpcOfLoadBalancer,
} from "../model/backing";
import type { Blame } from "../model/blame";
import type { FleetNode, LoadBalancerNode, TargetGroupNode, Topology } from "../model/topology";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

const CROSS_ZONE = "enable cross-zone load balancing (enableCrossZoneLoadBalancing: true)";

/** What to change when `az` of `lb` has no appliance of `tg`. */
function missingAzBlame(
  t: Topology,
  lb: LoadBalancerNode,
  tg: TargetGroupNode,
  fleets: readonly FleetNode[],
  az: string,
): Blame {
  const stranded = strandedFleets(t, vpcOfLoadBalancer(lb)).find((f) => f.azs?.includes(az));
  if (stranded) {
    return {
      nodes: [stranded, tg],
      fix: `register ${stranded.label} (appliances in ${az}) in ${tg.label} (targetGroupArns), or ${CROSS_ZONE} on ${lb.label}.`,
    };
  }
  // A per-AZ fleet named for the AZ whose subnets are elsewhere, or the only fleet.
  const named = fleets.find((f) => f.res?.name.includes(az) && !f.azs?.includes(az));
  const only = fleets.length === 1 ? fleets[0] : undefined;
  const fleet = named ?? only;
  if (fleet) {
    return {
      nodes: [fleet, lb],
      fix: `place ${fleet.label} in a subnet of ${az} (vpcZoneIdentifiers; it is in ${listOf(fleet.azs ?? [])}), or ${CROSS_ZONE} on ${lb.label}.`,
    };
  }
  return {
    nodes: [lb],
    fix: `${CROSS_ZONE} on ${lb.label}, or add appliances in ${az} registered in ${tg.label} (an Auto Scaling group in a subnet of ${az}), or remove ${az}'s subnet from ${lb.label}.`,
  };
}

/**
 * With cross-zone load balancing off (the GWLB default), each load balancer node only sends to
 * appliances in its own AZ: every AZ the Gateway Load Balancer spans needs appliances registered
 * in each target group its listeners forward to, or that AZ's endpoints are blackholed.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.crossZone}
 */
export const gwlbZonalFleet = topologyPolicy(
  {
    name: "tollgate-gwlb-zonal-fleet",
    description:
      "With cross-zone load balancing off, every Availability Zone the Gateway Load Balancer spans must have appliances registered in its target group.",
    severity: "critical",
    url: AWS_DOCS.crossZone,
    remediationSteps:
      "Run appliances in every AZ of the Gateway Load Balancer (an Auto Scaling group per AZ, or one spanning all of them, registered in the target group), or turn on enableCrossZoneLoadBalancing.",
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    if (t.unresolvedRegistrations > 0) return;
    const byLb = endpointsByLoadBalancer(t);
    for (const lb of t.loadBalancers) {
      if (lb.crossZone !== false || !lb.azs) continue;
      for (const l of lb.listeners) {
        if (l.targetsOutside) continue;
        for (const tg of l.targetGroups) {
          const fleets = tg.fleets.filter((f) => !f.empty);
          if (tg.crossZoneOn || fleets.length === 0 || fleets.some((f) => !f.azs)) continue;
          const covered = new Set(fleets.flatMap((f) => f.azs ?? []));
          for (const az of lb.azs) {
            if (covered.has(az)) continue;
            const endpoints = (byLb.get(lb) ?? []).filter((e) => e.az === az);
            const hit = endpoints.length
              ? `GWLB endpoints in ${az} (${listOf(endpoints.map((e) => e.label))}) are blackholed`
              : `flows reaching its ${az} node are blackholed`;
            reportBlame(
              report,
              missingAzBlame(t, lb, tg, fleets, az),
              lb,
              `${lb.label} spans ${az} with cross-zone load balancing off, but ${tg.label} has no appliance in ${az} (${listOf(fleets.map((f) => `${f.label} in ${listOf(f.azs ?? [])}`))}): ${hit}.`,
            );
          }
        }
      }
    }
  },
);
