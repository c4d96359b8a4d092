import { DEFAULT_V4, DEFAULT_V6, EndpointNode, inspectedSubnets, lookup } from "../model/topology";
import { Blame, blameRoute } from "../model/blame";
import { AWS_DOCS, exemptSubnetsSchema, isListed, reportBlame, topologyPolicy } from "./common";

/**
 * Every inspected subnet's default route (IPv4, and IPv6 when the subnet has IPv6) targets the
 * GWLB endpoint in the subnet's own Availability Zone.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.gwlbRouting}
 */
export const routingDefaultViaEndpoint = topologyPolicy(
  {
    name: "tollgate-routing-default-via-endpoint",
    description:
      "Every inspected subnet's default route (0.0.0.0/0 and ::/0) must target the GWLB endpoint in the subnet's own Availability Zone.",
    severity: "critical",
    url: AWS_DOCS.gwlbRouting,
    remediationSteps:
      "In the subnet's route table, point 0.0.0.0/0 (and ::/0 for dual stack) at the GWLB endpoint (vpcEndpointId) that lives in the same AZ as the subnet.",
    enforcementLevel: "mandatory",
    configSchema: {
      properties: {
        ...exemptSubnetsSchema,
        requireDefaultRoute: {
          type: "boolean",
          default: true,
          description: "Report inspected subnets that have no default route at all.",
        },
      },
    },
  },
  (t, args, report) => {
    const cfg = args.getConfig<{ exemptSubnets?: string[]; requireDefaultRoute?: boolean }>();
    for (const s of inspectedSubnets(t)) {
      if (isListed(s, cfg.exemptSubnets)) continue;
      const rt = s.rt;
      if (!rt) continue; // main route table of a VPC outside the stack: unknown
      const main = rt.implicitMain ? ` (no route table association, so the main route table)` : "";
      const want = `the GWLB endpoint in ${s.az ?? "its AZ"}`;
      for (const [family, dest] of [
        [4, DEFAULT_V4],
        [6, DEFAULT_V6],
      ] as const) {
        if (family === 6 && !s.hasIpv6) continue;
        const r = lookup(rt, dest);
        if (r?.target.kind === "unknown") continue;
        const route = (entry: typeof r): Blame =>
          blameRoute(s, rt, entry, `${dest.text} -> ${want}`);
        if (!r || r.target.kind === "local") {
          if (cfg.requireDefaultRoute !== false) {
            reportBlame(
              report,
              route(undefined),
              s,
              `${s.label} has no ${dest.text} route in ${rt.label}${main}; it must target ${want}.`,
            );
          }
          continue;
        }
        if (r.target.kind !== "gwlbe") {
          reportBlame(
            report,
            route(r),
            s,
            `${s.label}: ${rt.label}${main} sends ${dest.text} to ${r.target.label}, not to a GWLB endpoint, so traffic skips inspection.`,
          );
          continue;
        }
        const e = r.target.node as EndpointNode | undefined;
        if (e?.az && s.az && e.az !== s.az) {
          reportBlame(
            report,
            route(r),
            s,
            `${s.label} is in ${s.az} but ${rt.label} sends ${dest.text} to ${e.label} in ${e.az}; use the endpoint in ${s.az}.`,
          );
        }
      }
    }
  },
);
