import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

const OPEN = new Set(["0.0.0.0/0", "::/0"]);
const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)];

/**
 * No security group accepts ingress from 0.0.0.0/0 or ::/0 (inline rules, SecurityGroupRule and
 * vpc.SecurityGroupIngressRule).
 *
 * Severity: critical. AWS: {@link AWS_DOCS.securityGroups}
 */
export const exposureNoOpenIngress: ResourceValidationPolicy = {
  name: "tollgate-exposure-no-open-ingress",
  description: "Security groups must not allow ingress from 0.0.0.0/0 or ::/0.",
  severity: "critical",
  url: AWS_DOCS.securityGroups,
  remediationSteps:
    "Restrict the source to the inspection VPC CIDR (or a security group); manage instances through SSM Session Manager, not SSH.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      exemptSecurityGroups: {
        type: "array",
        items: { type: "string" },
        default: [],
        description:
          "Security groups or rules (resource names) allowed to be open to the internet.",
      },
    },
  },
  validateResource: forTypes(
    [T.securityGroup, T.sgRule, T.sgIngressRule],
    (props, args, report) => {
      const cfg = args.getConfig<{ exemptSecurityGroups?: string[] }>();
      if (cfg.exemptSecurityGroups?.includes(args.name)) return;
      const what = `${args.type === T.securityGroup ? "security group" : "security group rule"} "${args.name}"`;
      const flag = (sources: string[], port: string): void => {
        for (const c of sources)
          if (OPEN.has(c)) report(`${what} allows ingress ${port} from ${c}.`);
      };
      const ports = (from: unknown, to: unknown, proto: unknown): string =>
        `${String(proto ?? "?")} ${String(from ?? "")}${to !== undefined && to !== from ? `-${String(to)}` : ""}`;
      if (args.type === T.securityGroup) {
        for (const rule of (props.ingress as Record<string, unknown>[] | undefined) ?? []) {
          flag(
            [...list(rule.cidrBlocks), ...list(rule.ipv6CidrBlocks)],
            ports(rule.fromPort, rule.toPort, rule.protocol),
          );
        }
      } else if (args.type === T.sgRule) {
        if (props.type !== "ingress") return;
        flag(
          [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)],
          ports(props.fromPort, props.toPort, props.protocol),
        );
      } else {
        flag(
          [...list(props.cidrIpv4), ...list(props.cidrIpv6)],
          ports(props.fromPort, props.toPort, props.ipProtocol),
        );
      }
    },
  ),
};
