import { AWS_DOCS, reportOn, topologyPolicy } from "./common";

/**
 * Every Transit Gateway VPC attachment to an inspection VPC (one hosting GWLB endpoints or the
 * appliance fleet) has `applianceModeSupport: "enable"`, so both directions of a flow use the same AZ.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.applianceMode}
 */
export const routingApplianceMode = topologyPolicy(
  {
    name: "tollgate-routing-appliance-mode",
    description:
      'Every Transit Gateway attachment to the inspection VPC must have applianceModeSupport "enable".',
    severity: "critical",
    url: AWS_DOCS.applianceMode,
    remediationSteps:
      'Set applianceModeSupport: "enable" on the ec2transitgateway.VpcAttachment of the inspection VPC.',
    enforcementLevel: "mandatory",
  },
  (t, _args, report) => {
    for (const a of t.attachments) {
      const inspection =
        a.vpc.endpoints.length > 0 || a.vpc.subnets.some((s) => s.role === "appliance");
      if (!inspection || a.applianceMode === "(unknown)") continue;
      if (a.applianceMode !== "enable") {
        reportOn(
          report,
          a,
          `${a.label} attaches inspection ${a.vpc.label} with applianceModeSupport ${a.applianceMode ? `"${a.applianceMode}"` : "unset"}; the return flow may use another AZ's endpoint and be dropped.`,
        );
      }
    }
  },
);
