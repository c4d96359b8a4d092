import { inspectedSubnets, SubnetNode } from "../model/topology";
import { AWS_DOCS, reportOn, topologyPolicy } from "./common";

/**
 * Every Availability Zone that has inspected subnets has a GWLB endpoint in the same VPC.
 *
 * Severity: high. AWS: {@link AWS_DOCS.gwlbRouting}
 */
export const routingAzCoverage = topologyPolicy(
  {
    name: "tollgate-routing-az-coverage",
    description:
      "Every Availability Zone with inspected subnets must have a GWLB endpoint in that VPC.",
    severity: "high",
    url: AWS_DOCS.gwlbRouting,
    remediationSteps:
      "Add a GWLB endpoint (in a dedicated endpoint subnet) in each AZ that hosts inspected subnets, and route those subnets to it.",
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    const missing = new Map<string, SubnetNode[]>();
    const covered = new Map<string, Set<string>>();
    for (const s of inspectedSubnets(t)) {
      // An endpoint whose AZ is unknown could be the one covering this AZ: do not guess.
      if (!s.az || s.vpc.endpoints.some((e) => e.az === undefined)) continue;
      let azs = covered.get(s.vpc.key);
      if (!azs) {
        azs = new Set(s.vpc.endpoints.map((e) => e.az).filter((a): a is string => a !== undefined));
        covered.set(s.vpc.key, azs);
      }
      if (azs.has(s.az)) continue;
      const key = `${s.vpc.key}|${s.az}`;
      const list = missing.get(key) ?? [];
      list.push(s);
      missing.set(key, list);
    }
    for (const list of missing.values()) {
      const first = list[0];
      if (!first) continue;
      reportOn(
        report,
        first,
        `${first.vpc.label} has inspected subnets in ${first.az} (${list.map((s) => s.label).join(", ")}) but no GWLB endpoint in ${first.az}.`,
      );
    }
  },
);
