import { DEFAULT_V4, DEFAULT_V6, lookup } from "../model/topology";
import { blameRoute } from "../model/blame";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

/**
 * A GWLB endpoint subnet never sends its default route back into a GWLB endpoint (a loop that
 * drops or re-inspects every flow).
 *
 * Severity: critical. AWS: {@link AWS_DOCS.gwlbRouting}
 */
export const routingEndpointSubnetNoLoop = topologyPolicy(
  {
    name: "tollgate-routing-endpoint-subnet-no-loop",
    description: "A GWLB endpoint subnet's default route must not target a GWLB endpoint.",
    severity: "critical",
    url: AWS_DOCS.gwlbRouting,
    remediationSteps:
      "Point the endpoint subnet's 0.0.0.0/0 (and ::/0) at the internet gateway (north-south) or the NAT gateway of the same AZ (centralized egress).",
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    for (const s of t.subnets) {
      if (s.role !== "gwlbe" || !s.rt) continue;
      for (const dest of [DEFAULT_V4, DEFAULT_V6]) {
        const r = lookup(s.rt, dest);
        if (r?.target.kind === "gwlbe") {
          reportBlame(
            report,
            blameRoute(
              s,
              s.rt,
              r,
              `${dest.text} -> the internet gateway or the same-AZ NAT gateway`,
            ),
            s,
            `${s.label} hosts a GWLB endpoint, but ${s.rt.label} sends ${dest.text} back into ${r.target.label}: a routing loop.`,
          );
        }
      }
    }
  },
);
