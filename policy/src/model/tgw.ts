/**
 * The Transit Gateway leg of a path: from a VPC's attachment, through the route table the
 * attachment is associated with, to the attachment (and its subnet in the packet's AZ) on the
 * other side. Map lookups only, like the rest of the walk.
 */
import { contains } from "./cidr";
import type {
  AttachmentNode,
  Node,
  Dest,
  SubnetNode,
  TgwRouteEntry,
  TgwRouteTableNode,
  Topology,
  VpcNode,
} from "./nodes";
import type { PacketPath, Problem } from "./walk";

/** Longest-prefix match in a Transit Gateway route table. */
export function tgwLookup(rt: TgwRouteTableNode, dest: Dest): TgwRouteEntry | undefined {
  let best: TgwRouteEntry | undefined;
  for (const r of rt.routes) {
    if (!r.dest.cidr || !dest.cidr || !contains(r.dest.cidr, dest.cidr)) continue;
    if (!best || r.dest.cidr.len > (best.dest.cidr?.len ?? -1)) best = r;
  }
  return best;
}

/**
 * Spoke subnets: subnets (not endpoint, NAT or appliance subnets) of VPCs without GWLB endpoints
 * that are attached to a Transit Gateway which also attaches a VPC with GWLB endpoints.
 */
export function spokeSubnets(t: Topology): SubnetNode[] {
  const inspects = (a: AttachmentNode): boolean =>
    (t.tgwVpcs.get(a.tgwKey) ?? []).some((v) => v.endpoints.length > 0);
  return t.subnets.filter(
    (s) =>
      !s.external &&
      (s.role === "workload" || s.role === "attachment") &&
      s.vpc.endpoints.length === 0 &&
      s.vpc.attachments.some(inspects),
  );
}

export interface TgwLeg {
  readonly hops: string[];
  readonly hopNodes: PacketPath["hopNodes"];
  readonly problems: PacketPath["problems"];
  /** The subnet of the receiving attachment where the packet enters the next VPC. */
  readonly to?: SubnetNode;
  /** The TGW route table that chose the receiving attachment. */
  readonly rt?: TgwRouteTableNode;
}

/** Crosses the Transit Gateway from `from` towards `dest`, entering in `az` when possible. */
export function crossTgw(from: VpcNode, dest: Dest, az: string | undefined): TgwLeg {
  const leg = {
    hops: [] as string[],
    hopNodes: [] as PacketPath["hopNodes"],
    problems: [] as Problem[],
  };
  const hop = (text: string, node?: Node): void => {
    leg.hops.push(text);
    leg.hopNodes.push(node);
  };
  const a = from.attachments[0];
  if (!a) {
    hop(`${from.label} has no Transit Gateway attachment (dropped)`);
    return leg;
  }
  hop(`transit gateway via ${a.label}`, a);
  if (!a.tgwRt) {
    hop(`${a.label} is associated with no TGW route table (dropped)`, a);
    return leg;
  }
  const r = tgwLookup(a.tgwRt, dest);
  if (!r?.attachment) {
    hop(`${a.tgwRt.label}: no route for ${dest.text} (dropped)`, a.tgwRt);
    return leg;
  }
  const to = r.attachment;
  const notes = [
    ...(r.propagated ? ["propagated"] : []),
    ...(to.applianceMode === "enable" ? ["appliance mode"] : []),
  ];
  hop(
    `${a.tgwRt.label}: ${r.dest.text} -> ${to.label}${notes.length ? ` (${notes.join(", ")})` : ""}`,
    a.tgwRt,
  );
  const sub = to.subnets.find((s) => s.az !== undefined && s.az === az) ?? to.subnets[0];
  if (!sub) {
    hop(`${to.label} has no subnet (dropped)`, to);
    return leg;
  }
  if (az && sub.az && sub.az !== az) {
    leg.problems.push({
      kind: "crosses-az",
      text: `${to.label} has no subnet in ${az}; the packet enters ${sub.label} in ${sub.az}`,
      hop: leg.hops.length - 1,
      blame: {
        nodes: to.urn ? [to] : [],
        fix: `add a subnet in ${az} to ${to.label} (subnetIds).`,
      },
    });
  }
  return { ...leg, to: sub, rt: a.tgwRt };
}
