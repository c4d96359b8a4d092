/**
 * Which resource to change. A wrong or missing route met by a subnet's traffic is fixed either in
 * the route (or its table) or in the subnet's association: when the table also serves subnets for
 * which that route is right (another AZ's workload subnets, an endpoint or NAT subnet), changing
 * the route would break them, so the association is the mistake.
 */
import { DEFAULT_V4, lookup } from "./lookup";
import type { Dest, Node, RouteEntry, RouteTableNode, SubnetNode } from "./nodes";

/** The resources whose change fixes a problem (the first is where it is reported) and how. */
export interface Blame {
  readonly nodes: readonly Node[];
  readonly fix: string;
}

const azOf = (s: SubnetNode): string => (s.az ? ` in ${s.az}` : "");

/** True when `r` (or, undefined, no route) is plausibly right for subnet `o`. */
function rightFor(o: SubnetNode, r: RouteEntry | undefined): boolean {
  const routed = o.role === "workload" || o.role === "attachment";
  const inspected = routed && o.vpc.endpoints.length > 0;
  const spoke = routed && !inspected;
  if (!r || r.target.kind === "local") return !routed;
  const az = (r.target.node as { az?: string } | undefined)?.az;
  if (az && o.az && az !== o.az) return false;
  if (r.target.kind === "gwlbe") return inspected;
  return spoke ? r.target.kind === "tgw" : !inspected;
}

/** Subnets other than `s` that `rt` serves and for which `r` is right: the table is theirs. */
export function otherOwners(
  s: SubnetNode,
  rt: RouteTableNode,
  r: RouteEntry | undefined,
): SubnetNode[] {
  return rt.subnets.filter((o) => o !== s && rightFor(o, r));
}

/**
 * The route table `s` should use instead of `not`: one serving another subnet of its role and AZ,
 * else one of its VPC whose route for `dest` is right for `s`.
 */
function betterTable(s: SubnetNode, not: RouteTableNode, dest: Dest): RouteTableNode | undefined {
  const sibling = s.vpc.subnets.find(
    (o) => o !== s && o.role === s.role && o.az === s.az && o.rt !== undefined && o.rt !== not,
  )?.rt;
  if (sibling) return sibling;
  return s.vpc.routeTables.find((t) => {
    if (t === not || t.edgeGateways.length > 0) return false;
    const e = lookup(t, dest);
    return e !== undefined && e.target.kind !== "local" && rightFor(s, e);
  });
}

/** The association of `s` with `rt` is the mistake (or, without one, the subnet's lack of one). */
function blameAssociation(
  s: SubnetNode,
  rt: RouteTableNode,
  owners: SubnetNode[],
  dest: Dest,
): Blame {
  const sibling = betterTable(s, rt, dest);
  const use = sibling ? sibling.label : `a route table for ${s.role} subnets${azOf(s)}`;
  const serves = owners
    .slice(0, 3)
    .map((o) => `${o.label} (${o.role}${azOf(o)})`)
    .join(", ");
  const why = owners.length > 0 ? `, which is right for ${serves}` : "";
  if (s.assoc) {
    return {
      nodes: [s.assoc, rt],
      fix: `${s.assoc.label} associates ${s.label} (${s.role}${azOf(s)}) with ${rt.label}${why}; associate ${s.label} with ${use} instead.`,
    };
  }
  return {
    nodes: [s, rt],
    fix: `${s.label} has no route table association, so it uses ${rt.label}${why}; add a RouteTableAssociation of ${s.label} with ${use}.`,
  };
}

/**
 * What to change when traffic of subnet `s` meets the wrong entry `r` (or, without `r`, no entry)
 * in `rt`. `s` is the subnet whose own table `rt` is (undefined for gateway edge tables).
 */
export function blameRoute(
  s: SubnetNode | undefined,
  rt: RouteTableNode,
  r: RouteEntry | undefined,
  want: string,
): Blame {
  if (s && s.rt === rt) {
    const owners = otherOwners(s, rt, r);
    // Without an association the subnet falls back to the VPC's original main table: the missing
    // association is the mistake, not that table's routes (which serve whatever else uses it).
    if (owners.length > 0 || (!s.assoc && rt === s.vpc.defaultRt)) {
      return blameAssociation(s, rt, owners, r?.dest.cidr ? r.dest : DEFAULT_V4);
    }
  }
  const implicit = !r || r.source === rt || r.target.kind === "local";
  if (r && !implicit && r.source.urn) {
    return {
      nodes: [r.source],
      fix: `change ${r.source.label} (${r.dest.text} -> ${r.target.label}) to ${want}.`,
    };
  }
  if (r && r.source === rt && r.target.kind !== "local" && rt.urn) {
    return {
      nodes: [rt],
      fix: `change the inline route ${r.dest.text} -> ${r.target.label} of ${rt.label} to ${want}.`,
    };
  }
  return {
    nodes: rt.urn ? [rt] : s ? [s] : [],
    fix: `add a route to ${rt.label}: ${want}.`,
  };
}
