import { Cidr } from "../model/cidr";
import {
  EndpointNode,
  inspectedSubnets,
  lookup,
  partiallyKnown,
  subnetDest,
  VpcNode,
} from "../model/topology";
import { blameRoute } from "../model/blame";
import {
  AWS_DOCS,
  exemptSubnetsSchema,
  isListed,
  reportBlame,
  reportOn,
  topologyPolicy,
} from "./common";

const key = (c: Cidr): string => `${c.family}:${c.net.toString(16)}/${c.len}`;

/**
 * IGW edge route tables (gateway route tables): only the targets AWS allows there (local, a GWLB
 * endpoint, a network interface), only the VPC CIDR or whole subnet CIDRs as destinations, and each
 * inspected subnet's CIDR sent to the GWLB endpoint of that subnet's AZ.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.edgeRouteTables}
 */
export const routingEdgeTable = topologyPolicy(
  {
    name: "tollgate-routing-edge-table",
    description:
      "An IGW edge route table may only target local, a GWLB endpoint or an ENI, with the VPC CIDR or whole subnet CIDRs as destinations, and must send each inspected subnet's CIDR to the GWLB endpoint of that subnet's AZ.",
    severity: "critical",
    url: AWS_DOCS.edgeRouteTables,
    remediationSteps:
      "Associate a route table with the internet gateway (RouteTableAssociation with gatewayId) holding one route per inspected subnet CIDR (IPv4 and IPv6) to the GWLB endpoint in that subnet's AZ; remove routes to other targets or partial CIDRs.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...exemptSubnetsSchema } },
  },
  (t, args, report) => {
    const cfg = args.getConfig<{ exemptSubnets?: string[] }>();
    const blocks = new Map<VpcNode, Set<string>>();
    const blocksOf = (v: VpcNode): Set<string> => {
      let set = blocks.get(v);
      if (!set) {
        set = new Set(v.cidrs.map(key));
        for (const s of v.subnets) {
          if (s.cidr) set.add(key(s.cidr));
          if (s.ipv6) set.add(key(s.ipv6));
        }
        blocks.set(v, set);
      }
      return set;
    };
    for (const rt of t.routeTables) {
      if (rt.edgeGateways.length === 0) continue;
      const gw = rt.edgeGateways.map((g) => g.label).join(", ");
      for (const r of rt.routes) {
        const where = r.source.urn ? r.source : rt;
        if (!["local", "gwlbe", "eni", "unknown"].includes(r.target.kind)) {
          reportOn(
            report,
            where,
            `${rt.label} is the edge route table of ${gw}; its route ${r.dest.text} -> ${r.target.label} uses a target AWS does not allow there (only local, a GWLB endpoint or a network interface).`,
          );
        }
        if (r.dest.prefixList) {
          reportOn(
            report,
            where,
            `${rt.label} (edge route table of ${gw}) routes prefix list ${r.dest.prefixList}; only the VPC CIDR or whole subnet CIDRs are allowed.`,
          );
        } else if (
          r.dest.cidr &&
          !blocksOf(rt.vpc).has(key(r.dest.cidr)) &&
          !partiallyKnown(rt.vpc)
        ) {
          reportOn(
            report,
            where,
            `${rt.label} (edge route table of ${gw}) routes ${r.dest.text}, which is neither the VPC CIDR nor a whole subnet CIDR of ${rt.vpc.label}.`,
          );
        }
      }
    }
    for (const s of inspectedSubnets(t)) {
      if (s.role !== "workload" || isListed(s, cfg.exemptSubnets)) continue;
      for (const g of s.vpc.igws) {
        if (!g.edgeRt) {
          reportOn(
            report,
            g.urn ? g : s,
            `${g.label} carries traffic of inspected ${s.label} but has no edge route table, so replies skip inspection.`,
          );
          continue;
        }
        const edge = g.edgeRt;
        for (const family of [4, 6] as const) {
          const d = subnetDest(s, family);
          if (!d) continue;
          const r = lookup(edge, d);
          if (r?.target.kind === "unknown") continue;
          const want = `${d.text} -> the GWLB endpoint in ${s.az ?? "the subnet's AZ"}`;
          if (!r || r.target.kind !== "gwlbe") {
            reportBlame(
              report,
              blameRoute(undefined, edge, r, want),
              edge,
              `${edge.label} (edge route table of ${g.label}) sends replies for ${s.label} (${d.text}) to ${r ? r.target.label : "nowhere"} instead of the GWLB endpoint in ${s.az ?? "its AZ"}.`,
            );
            continue;
          }
          const e = r.target.node as EndpointNode | undefined;
          if (e?.az && s.az && e.az !== s.az) {
            reportBlame(
              report,
              blameRoute(undefined, edge, r, want),
              edge,
              `${edge.label} sends replies for ${s.label} (${s.az}) to ${e.label} in ${e.az}; use the endpoint in ${s.az}.`,
            );
          }
        }
      }
    }
  },
);
