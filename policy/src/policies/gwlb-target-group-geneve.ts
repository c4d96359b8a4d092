import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * GWLB target groups use GENEVE on port 6081 (the only protocol/port a GWLB speaks to targets).
 *
 * Severity: high. AWS: {@link AWS_DOCS.targetGroups}
 */
export const gwlbTargetGroupGeneve: ResourceValidationPolicy = {
  name: "tollgate-gwlb-target-group-geneve",
  description: "GWLB target groups must use protocol GENEVE on port 6081.",
  severity: "high",
  url: AWS_DOCS.targetGroups,
  remediationSteps:
    'Set protocol: "GENEVE" and port: 6081 on the lb.TargetGroup of the appliance fleet.',
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      exemptTargetGroups: {
        type: "array",
        items: { type: "string" },
        default: [],
        description: "Target groups (resource names) that are not GWLB target groups.",
      },
    },
  },
  validateResource: forTypes([T.targetGroup], (props, args, report) => {
    const cfg = args.getConfig<{ exemptTargetGroups?: string[] }>();
    if (cfg.exemptTargetGroups?.includes(args.name)) return;
    const protocol = props.protocol;
    const port = props.port;
    if (protocol !== "GENEVE" || Number(port) !== 6081) {
      report(
        `target group "${args.name}" uses ${String(protocol ?? "no protocol")} on port ${String(port ?? "(unset)")}; a GWLB target group must be GENEVE on 6081.`,
      );
    }
  }),
};
