import { isUnknown, unwrap } from "../model/values";
import { AWS_DOCS, reportBlame, topologyPolicy } from "./common";

/** Flow log fields that show a packet's path through the GWLB endpoint. */
export const PATH_FIELDS = [
  "flow-direction",
  "traffic-path",
  "pkt-src-aws-service",
  "pkt-dst-aws-service",
] as const;

/**
 * Inspected VPCs (VPCs hosting GWLB endpoints) the stack creates have VPC flow logs whose format
 * includes the fields that show the path through the endpoint. Advisory: flow logs are evidence,
 * not routing.
 *
 * Severity: medium. AWS: {@link AWS_DOCS.flowLogs}
 */
export const vpcFlowLogs = topologyPolicy(
  {
    name: "tollgate-vpc-flow-logs",
    description:
      "Every inspected VPC should have VPC flow logs with a format including flow-direction, traffic-path, pkt-src-aws-service and pkt-dst-aws-service.",
    severity: "medium",
    url: AWS_DOCS.flowLogs,
    remediationSteps:
      "Turn on the flow logs option of the InspectedVpc component (or add an aws.ec2.FlowLog with vpcId and a logFormat that includes ${flow-direction} ${traffic-path} ${pkt-src-aws-service} ${pkt-dst-aws-service}).",
    enforcementLevel: "advisory",
  },
  (t, _args, report) => {
    for (const vpc of t.vpcs) {
      if (!vpc.res || vpc.endpoints.length === 0) continue; // adopted VPCs: unknown to the pack
      if (vpc.flowLogs.length === 0) {
        reportBlame(
          report,
          undefined,
          vpc,
          `${vpc.label} hosts GWLB endpoints but has no VPC flow logs, so nothing records which flows crossed the endpoint.`,
        );
        continue;
      }
      for (const f of vpc.flowLogs) {
        const raw = unwrap(f.p.logFormat);
        if ((raw !== undefined && typeof raw !== "string") || isUnknown(raw)) continue;
        const missing = PATH_FIELDS.filter((x) => !(raw ?? "").includes(`\${${x}}`));
        if (missing.length === 0) continue;
        reportBlame(
          report,
          undefined,
          f,
          `${f.label} of ${vpc.label} uses ${raw === undefined ? "the default format" : "a log format"} without ${missing.map((m) => `\${${m}}`).join(", ")}: the records do not show the path through the GWLB endpoint.`,
        );
      }
    }
  },
);
