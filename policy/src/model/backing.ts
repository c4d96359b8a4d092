/**
 * Queries over the backing chain of GWLB endpoints (built by chain.ts): which endpoints each
 * Gateway Load Balancer serves, and which fleets are registered nowhere a listener forwards to.
 */
import type { EndpointNode, FleetNode, LoadBalancerNode, Topology, VpcNode } from "./nodes";

/** GWLB endpoints by the load balancer behind their endpoint service. */
export function endpointsByLoadBalancer(t: Topology): Map<LoadBalancerNode, EndpointNode[]> {
  const out = new Map<LoadBalancerNode, EndpointNode[]>();
  for (const e of t.endpoints) {
    for (const lb of e.service?.lbs ?? []) {
      const list = out.get(lb) ?? [];
      list.push(e);
      out.set(lb, list);
    }
  }
  return out;
}

/** The VPC of a load balancer (its first subnet's), when known. */
export function vpcOfLoadBalancer(lb: LoadBalancerNode): VpcNode | undefined {
  return lb.subnets[0]?.vpc;
}

/** Fleets that no listener reaches (unregistered, or registered only in groups without a listener). */
export function strandedFleets(t: Topology, vpc: VpcNode | undefined): FleetNode[] {
  return t.fleets.filter(
    (f) =>
      !f.empty &&
      !f.targetsUnresolved &&
      f.targetGroups.every((tg) => tg.listeners.length === 0) &&
      (vpc === undefined || f.subnets.length === 0 || f.subnets.some((s) => s.vpc === vpc)),
  );
}

/** "a, b, c and 2 more" over labels. */
export function listOf(labels: readonly string[], max = 3): string {
  const shown = labels.slice(0, max).join(", ");
  return labels.length > max ? `${shown} and ${labels.length - max} more` : shown;
}
