import { DEFAULT_V4, EndpointNode, lookup, NatNode } from "../model/topology";
import { spokeCidrs } from "../model/walk";
import { blameRoute } from "../model/blame";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

/**
 * Centralized egress through a Transit Gateway: in the inspection VPC, GWLB endpoint subnets send
 * the default route to the NAT gateway of their AZ and spoke CIDRs back to the TGW; NAT (public)
 * subnets send the default route to the internet gateway and spoke CIDRs to the GWLB endpoint of
 * their AZ. (Attachment subnets -> endpoint is checked by tollgate-routing-default-via-endpoint.)
 *
 * Severity: critical. AWS: {@link AWS_DOCS.centralizedEgress}
 */
export const routingEgressTgw = topologyPolicy(
  {
    name: "tollgate-routing-egress-tgw",
    description:
      "In a centralized-egress inspection VPC, endpoint subnets route 0.0.0.0/0 to the same-AZ NAT gateway and spoke CIDRs to the TGW; NAT subnets route spoke CIDRs to the same-AZ GWLB endpoint and 0.0.0.0/0 to the internet gateway.",
    severity: "critical",
    url: AWS_DOCS.centralizedEgress,
    remediationSteps:
      "Give each AZ its own route tables: endpoint subnet 0.0.0.0/0 -> NAT gateway (same AZ), spoke CIDRs -> transit gateway; NAT subnet 0.0.0.0/0 -> internet gateway, spoke CIDRs -> GWLB endpoint (same AZ).",
    enforcementLevel: "mandatory",
    configSchema: {
      properties: {
        spokeCidrs: {
          type: "array",
          items: { type: "string" },
          default: [],
          description:
            "Spoke CIDRs in addition to the CIDRs of VPCs attached to the same TGW in this stack.",
        },
      },
    },
  },
  (t, args, report) => {
    const cfg = args.getConfig<{ spokeCidrs?: string[] }>();
    for (const vpc of t.vpcs) {
      if (vpc.attachments.length === 0 || vpc.endpoints.length === 0) continue;
      const spokes = spokeCidrs(t, vpc, cfg.spokeCidrs ?? []);
      for (const s of vpc.subnets) {
        const rt = s.rt;
        if (!rt) continue;
        if (s.role === "gwlbe" && vpc.natGateways.length > 0) {
          const r = lookup(rt, DEFAULT_V4);
          const n = r?.target.node as NatNode | undefined;
          if (r?.target.kind === "unknown") {
            // undecidable during preview
          } else if (!r || r.target.kind !== "nat") {
            reportBlame(
              report,
              blameRoute(s, rt, r, `0.0.0.0/0 -> the NAT gateway in ${s.az ?? "its AZ"}`),
              s,
              `${s.label} (GWLB endpoint subnet) sends 0.0.0.0/0 to ${r ? r.target.label : "nowhere"}; it must go to the NAT gateway in ${s.az ?? "its AZ"}.`,
            );
          } else if (n?.az && s.az && n.az !== s.az) {
            reportBlame(
              report,
              blameRoute(s, rt, r, `0.0.0.0/0 -> the NAT gateway in ${s.az}`),
              s,
              `${s.label} (${s.az}) sends 0.0.0.0/0 to ${n.label} in ${n.az}; use the NAT gateway in ${s.az}.`,
            );
          }
          for (const c of spokes) {
            const sr = lookup(rt, { text: c.text, cidr: c, family: c.family });
            if (sr?.target.kind === "unknown") continue;
            if (!sr || sr.target.kind !== "tgw") {
              reportBlame(
                report,
                blameRoute(s, rt, sr, `${c.text} -> the transit gateway`),
                s,
                `${s.label} (GWLB endpoint subnet) sends spoke ${c.text} to ${sr ? sr.target.label : "nowhere"}; it must go back to the transit gateway.`,
              );
            }
          }
        }
        if (s.role === "public") {
          const r = lookup(rt, DEFAULT_V4);
          if (!r || (r.target.kind !== "unknown" && r.target.kind !== "igw")) {
            reportBlame(
              report,
              blameRoute(s, rt, r, "0.0.0.0/0 -> the internet gateway"),
              s,
              `${s.label} (NAT subnet) sends 0.0.0.0/0 to ${r ? r.target.label : "nowhere"}; it must go to the internet gateway.`,
            );
          }
          for (const c of spokes) {
            const sr = lookup(rt, { text: c.text, cidr: c, family: c.family });
            const e = sr?.target.node as EndpointNode | undefined;
            if (sr?.target.kind === "unknown") continue;
            if (!sr || sr.target.kind !== "gwlbe") {
              reportBlame(
                report,
                blameRoute(s, rt, sr, `${c.text} -> the GWLB endpoint in ${s.az ?? "its AZ"}`),
                s,
                `${s.label} (NAT subnet) sends replies to spoke ${c.text} to ${sr ? sr.target.label : "nowhere"} instead of the GWLB endpoint in ${s.az ?? "its AZ"}, so return traffic skips inspection.`,
              );
            } else if (e?.az && s.az && e.az !== s.az) {
              reportBlame(
                report,
                blameRoute(s, rt, sr, `${c.text} -> the GWLB endpoint in ${s.az}`),
                s,
                `${s.label} (${s.az}) sends replies to spoke ${c.text} to ${e.label} in ${e.az}; use the endpoint in ${s.az}.`,
              );
            }
          }
        }
      }
    }
  },
);
