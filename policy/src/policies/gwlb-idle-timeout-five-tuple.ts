import type { StackValidationPolicy } from "@pulumi/policy/policy";
import { topologyOf } from "../model/topology";
import { T } from "../model/types";
import { arr, bag, bool, num, str } from "../model/values";
import { AWS_DOCS } from "./common";

/**
 * A GWLB listener's custom TCP idle timeout (`tcpIdleTimeoutSeconds`) only applies to 5-tuple flows:
 * the target group it forwards to must not enable 2- or 3-tuple stickiness.
 *
 * Severity: medium. AWS: {@link AWS_DOCS.idleTimeout}
 */
export const gwlbIdleTimeoutFiveTuple: StackValidationPolicy = {
  name: "tollgate-gwlb-idle-timeout-five-tuple",
  description:
    "A listener with a custom tcpIdleTimeoutSeconds must forward to a target group with 5-tuple flows (no 2/3-tuple stickiness).",
  severity: "medium",
  url: AWS_DOCS.idleTimeout,
  remediationSteps:
    "Either drop tcpIdleTimeoutSeconds from the listener (350 s default) or disable stickiness on the target group (5-tuple).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const index = topologyOf(args.resources).index; // the run's shared index
    for (const l of args.resources) {
      if (l.type !== T.listener) continue;
      const p = bag(l.props);
      const timeout = num(p.tcpIdleTimeoutSeconds);
      if (timeout === undefined) continue;
      const arns = arr(p.defaultActions).map((a) => bag(a).targetGroupArn);
      for (const tg of index.refs(l, "defaultActions", arns, [T.targetGroup])) {
        const st = bag(bag(tg.props).stickiness);
        const type = str(st.type);
        if (bool(st.enabled) === true && type && type !== "five_tuple") {
          report(
            `listener "${l.name}" sets tcpIdleTimeoutSeconds ${timeout} but forwards to target group "${tg.name}" with ${type} stickiness; the custom idle timeout only applies to 5-tuple flows.`,
            l.urn,
          );
        }
      }
    }
  },
};
