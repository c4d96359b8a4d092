import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

const PROTOCOLS = new Set(["HTTP", "HTTPS", "TCP"]);

/**
 * GWLB target groups have an enabled health check (HTTP, HTTPS or TCP) on a port other than 6081:
 * the appliance answers health checks on its own port, never on the GENEVE data port.
 *
 * Severity: high. AWS: {@link AWS_DOCS.healthChecks}
 */
export const gwlbHealthCheck: ResourceValidationPolicy = {
  name: "tollgate-gwlb-health-check",
  description:
    "GWLB target groups must have an enabled HTTP/HTTPS/TCP health check on the appliance health port (not 6081).",
  severity: "high",
  url: AWS_DOCS.healthChecks,
  remediationSteps:
    'Set healthCheck: { enabled: true, protocol: "HTTP", port: "<appliance health port>", path: "/healthz" } on the target group; never use 6081 or "traffic-port".',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.targetGroup], (props, args, report) => {
    if (props.protocol !== "GENEVE") return;
    const hc = props.healthCheck as Record<string, unknown> | undefined;
    if (!hc) {
      report(
        `target group "${args.name}" has no healthCheck; the default checks the GENEVE traffic port 6081.`,
      );
      return;
    }
    if (hc.enabled === false || hc.enabled === "false") {
      report(
        `target group "${args.name}" disables its health check; unhealthy appliances keep receiving flows.`,
      );
      return;
    }
    const port = hc.port === undefined ? "traffic-port" : String(hc.port);
    if (port === "traffic-port" || port === "6081") {
      report(
        `target group "${args.name}" health check uses port ${port} (the GENEVE port); use the appliance's health port.`,
      );
    }
    const protocol = hc.protocol === undefined ? "TCP" : String(hc.protocol);
    if (!PROTOCOLS.has(protocol)) {
      report(
        `target group "${args.name}" health check protocol ${protocol} is not supported by GWLB (HTTP, HTTPS or TCP).`,
      );
    }
  }),
};
