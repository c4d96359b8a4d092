/** Route lookups over the routing model: longest-prefix match, implicit local route, defaults. */
import { Cidr, contains, parseCidr } from "./cidr";
import type { Dest, RouteEntry, RouteTableNode, SubnetNode, Topology, VpcNode } from "./nodes";

/** True when some of the VPC's blocks are unknown to the pack (VPC or subnets outside the stack). */
export function partiallyKnown(vpc: VpcNode): boolean {
  return !vpc.res || vpc.subnets.some((s) => s.external && !s.cidr);
}

/** Inspected subnets: workload and TGW-attachment subnets of VPCs that host GWLB endpoints. */
export function inspectedSubnets(t: Topology): SubnetNode[] {
  return t.subnets.filter(
    (s) => (s.role === "workload" || s.role === "attachment") && s.vpc.endpoints.length > 0,
  );
}

/** True when `c` lies inside one of the VPC's CIDRs (or, when those are unknown, a subnet's). */
export function withinVpc(vpc: VpcNode, c: Cidr): boolean {
  if (vpc.cidrs.some((v) => contains(v, c))) return true;
  if (vpc.cidrs.some((v) => v.family === c.family)) return false;
  const minLen = c.family === 6 ? 56 : 16;
  return vpc.subnets.some((s) => {
    const sc = c.family === 6 ? s.ipv6 : s.cidr;
    return sc !== undefined && (contains(sc, c) || (c.len >= minLen && contains(c, sc)));
  });
}

/** Longest-prefix match of `dest` in a route table; symbolic subnet destinations match exactly. */
export function lookup(rt: RouteTableNode, dest: Dest): RouteEntry | undefined {
  let best: RouteEntry | undefined;
  let bestLen = -1;
  let undecided = false;
  for (const r of rt.routes) {
    if (
      !r.dest.cidr &&
      !r.dest.subnet &&
      !r.dest.prefixList &&
      (r.dest.family ?? dest.family) === dest.family
    ) {
      undecided = true; // a destination unknown during preview might match
      continue;
    }
    if (dest.prefixList) {
      if (dest.prefixList === r.dest.prefixList) return r;
      continue;
    }
    let len = -1;
    if (r.dest.prefixList) {
      // A prefix list the stack defines matches through its entries; a static route of the same
      // length wins over it (AWS route priority). Lists the pack cannot see are not walked.
      for (const c of r.dest.entries ?? []) {
        if (dest.cidr && contains(c, dest.cidr) && c.len - 0.5 > len) len = c.len - 0.5;
      }
    } else if (r.dest.cidr && dest.cidr) {
      if (contains(r.dest.cidr, dest.cidr)) len = r.dest.cidr.len;
    } else if (
      r.dest.subnet &&
      dest.subnet &&
      r.dest.subnet === dest.subnet &&
      r.dest.family === dest.family
    ) {
      len = dest.family === 6 ? 64 : 32;
    } else if (
      r.dest.cidr &&
      !dest.cidr &&
      dest.family === r.dest.cidr.family &&
      r.dest.cidr.len === 0
    ) {
      len = 0; // a default route matches any destination of its family
    } else if (r.dest.cidr && dest.subnet && !dest.cidr) {
      const sc = dest.family === 6 ? dest.subnet.ipv6 : dest.subnet.cidr;
      if (sc && contains(r.dest.cidr, sc)) len = r.dest.cidr.len;
    } else if (r.dest.subnet && dest.cidr) {
      const sc = r.dest.family === 6 ? r.dest.subnet.ipv6 : r.dest.subnet.cidr;
      if (sc && contains(sc, dest.cidr)) len = sc.len;
    }
    if (len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  const unknown: RouteEntry = {
    table: rt,
    dest,
    target: { kind: "unknown", label: "(unknown during preview)" },
    source: rt,
  };
  if (undecided && (!best || (!dest.cidr && bestLen < 0))) return unknown;
  if (
    !dest.cidr &&
    !dest.prefixList &&
    dest.subnet &&
    !(dest.family === 6 ? dest.subnet.ipv6 : dest.subnet.cidr) &&
    !best &&
    dest.subnet.vpc !== rt.vpc
  ) {
    return unknown;
  }
  // The implicit local route covers the VPC's own blocks.
  if (dest.cidr && withinVpc(rt.vpc, dest.cidr)) {
    const localLen = rt.vpc.cidrs.find((c) => dest.cidr && contains(c, dest.cidr))?.len ?? 16;
    if (localLen > bestLen) {
      return {
        table: rt,
        dest: { text: dest.text, cidr: dest.cidr },
        target: { kind: "local", label: "local" },
        source: rt,
      };
    }
  }
  // A subnet of this VPC whose block is unknown: the local route (the VPC block, at least a /56 or
  // /16) beats anything less specific, such as a default route.
  if (!dest.cidr && dest.subnet && dest.subnet.vpc === rt.vpc) {
    const vpcBlock = rt.vpc.cidrs.find((c) => c.family === dest.family);
    const localLen = vpcBlock?.len ?? (dest.family === 6 ? 56 : 16);
    if (bestLen < localLen)
      return { table: rt, dest, target: { kind: "local", label: "local" }, source: rt };
  }
  return best;
}

/** Destination for a subnet's own block (v4 or v6), symbolic when unknown. */
export function subnetDest(s: SubnetNode, family: 4 | 6): Dest | undefined {
  const c = family === 4 ? s.cidr : s.ipv6;
  if (c) return { text: c.text, cidr: c, family };
  if (s.external || (family === 6 && !s.hasIpv6)) return undefined;
  return { text: `${family === 6 ? "IPv6 block" : "block"} of ${s.label}`, family, subnet: s };
}

export const DEFAULT_V4: Dest = { text: "0.0.0.0/0", cidr: parseCidr("0.0.0.0/0"), family: 4 };
export const DEFAULT_V6: Dest = { text: "::/0", cidr: parseCidr("::/0"), family: 6 };
