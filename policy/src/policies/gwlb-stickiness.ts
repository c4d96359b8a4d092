import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

const VALID = new Set(["source_ip_dest_ip", "source_ip_dest_ip_proto"]);

/**
 * GWLB flow stickiness: when set, the type is 2-tuple (`source_ip_dest_ip`) or 3-tuple
 * (`source_ip_dest_ip_proto`); 5-tuple is the default with stickiness disabled.
 *
 * Severity: medium. AWS: {@link AWS_DOCS.targetGroups}
 */
export const gwlbStickiness: ResourceValidationPolicy = {
  name: "tollgate-gwlb-stickiness",
  description:
    'GWLB target group stickiness type must be "source_ip_dest_ip" or "source_ip_dest_ip_proto".',
  severity: "medium",
  url: `${AWS_DOCS.targetGroups}#flow-stickiness`,
  remediationSteps:
    'Omit stickiness for 5-tuple (default), or set stickiness: { enabled: true, type: "source_ip_dest_ip_proto" } (3-tuple) or "source_ip_dest_ip" (2-tuple).',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.targetGroup], (props, args, report) => {
    if (props.protocol !== "GENEVE") return;
    const st = props.stickiness as Record<string, unknown> | undefined;
    if (!st) return;
    const enabled = st.enabled === true || st.enabled === "true" || st.enabled === undefined;
    const type = st.type === undefined ? undefined : String(st.type);
    if (type !== undefined && !VALID.has(type)) {
      report(
        `target group "${args.name}" stickiness type "${type}" is not valid for a GWLB; use "source_ip_dest_ip" or "source_ip_dest_ip_proto".`,
      );
    } else if (enabled && type === undefined) {
      report(
        `target group "${args.name}" enables stickiness without a type; use "source_ip_dest_ip" or "source_ip_dest_ip_proto".`,
      );
    }
  }),
};
