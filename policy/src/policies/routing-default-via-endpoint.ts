import { DEFAULT_V4, DEFAULT_V6, EndpointNode, inspectedSubnets, lookup } from "../model/topology";
import { AWS_DOCS, exemptSubnetsSchema, isListed, reportOn, topologyPolicy } from "./common";

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
      if (!s.rt) {
        // No explicit association: the subnet uses its VPC's main route table. For a VPC created in
        // this stack that table holds only the local route (unless managed, then s.rt is set); for
        // a VPC outside the stack it is unknown, so nothing is reported.
        if (cfg.requireDefaultRoute !== false && s.vpc.res) {
          reportOn(
            report,
            s,
            `${s.label} has no route table association, so it uses the main route table of ${s.vpc.label} (local route only) instead of a default route to the GWLB endpoint in ${s.az ?? "its AZ"}.`,
          );
        }
        continue;
      }
      for (const [family, dest] of [
        [4, DEFAULT_V4],
        [6, DEFAULT_V6],
      ] as const) {
        if (family === 6 && !s.hasIpv6) continue;
        const r = lookup(s.rt, dest);
        if (r?.target.kind === "unknown") continue;
        if (!r || r.target.kind === "local") {
          if (cfg.requireDefaultRoute !== false) {
            reportOn(
              report,
              s,
              `${s.label} has no ${dest.text} route in ${s.rt.label}; it must target the GWLB endpoint in ${s.az ?? "its AZ"}.`,
            );
          }
          continue;
        }
        if (r.target.kind !== "gwlbe") {
          reportOn(
            report,
            r.source.urn ? r.source : s,
            `${s.label}: ${s.rt.label} sends ${dest.text} to ${r.target.label}, not to a GWLB endpoint, so traffic skips inspection.`,
          );
          continue;
        }
        const e = r.target.node as EndpointNode | undefined;
        if (e?.az && s.az && e.az !== s.az) {
          reportOn(
            report,
            r.source.urn ? r.source : s,
            `${s.label} is in ${s.az} but ${s.rt.label} sends ${dest.text} to ${e.label} in ${e.az}; use the endpoint in ${s.az}.`,
          );
        }
      }
    }
  },
);
