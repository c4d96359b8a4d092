import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * GWLB listener TCP idle timeout (`tcpIdleTimeoutSeconds`) within 60-6000 seconds (default 350).
 *
 * Severity: medium. AWS: {@link AWS_DOCS.idleTimeout}
 */
export const gwlbListenerIdleTimeout: ResourceValidationPolicy = {
  name: "tollgate-gwlb-listener-idle-timeout",
  description: "Listener tcpIdleTimeoutSeconds must be an integer within 60-6000.",
  severity: "medium",
  url: AWS_DOCS.idleTimeout,
  remediationSteps: "Set tcpIdleTimeoutSeconds between 60 and 6000 (AWS default 350), or omit it.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      minSeconds: {
        type: "integer",
        default: 60,
        minimum: 60,
        description: "Lowest accepted idle timeout.",
      },
      maxSeconds: {
        type: "integer",
        default: 6000,
        maximum: 6000,
        description: "Highest accepted idle timeout.",
      },
    },
  },
  validateResource: forTypes([T.listener], (props, args, report) => {
    const v = props.tcpIdleTimeoutSeconds;
    if (v === undefined || v === null) return;
    const { minSeconds = 60, maxSeconds = 6000 } = args.getConfig<{
      minSeconds?: number;
      maxSeconds?: number;
    }>();
    const n = Number(v);
    if (!Number.isInteger(n) || n < minSeconds || n > maxSeconds) {
      report(
        `listener "${args.name}" tcpIdleTimeoutSeconds is ${String(v)}; it must be an integer within ${minSeconds}-${maxSeconds}.`,
      );
    }
  }),
};
