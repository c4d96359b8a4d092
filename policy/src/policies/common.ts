/** Shared helpers for Tollgate policies: metadata, reporting and IAM document parsing. */
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy/policy";
import type { Blame } from "../model/blame";
import { Node, Topology, topologyOf } from "../model/topology";

export interface TollgatePolicyDef {
  /** `tollgate-<area>-<rule>`. */
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  /** AWS documentation for the rule. */
  readonly url: string;
  readonly remediationSteps: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly configSchema?: PolicyConfigSchema;
}

/** Reports a violation against a topology node (its URN, when the resource is in the stack). */
export function reportOn(report: ReportViolation, node: Node | undefined, message: string): void {
  report(message, node?.urn);
}

/**
 * Reports a problem on the resource whose change fixes it (the blame's first node with a URN, else
 * `fallback`), with the fix, in terms of that resource, appended to the message.
 */
export function reportBlame(
  report: ReportViolation,
  blame: Blame | undefined,
  fallback: Node | undefined,
  message: string,
): void {
  const where = blame?.nodes.find((n) => n.urn !== undefined) ?? fallback;
  report(blame ? `${message}\nto fix: ${blame.fix}` : message, where?.urn);
}

/** Builds a stack policy that reasons over the stack's topology. */
export function topologyPolicy(
  def: TollgatePolicyDef,
  validate: (t: Topology, args: StackValidationArgs, report: ReportViolation) => void,
): StackValidationPolicy {
  return {
    ...def,
    validateStack: (args, report) => validate(topologyOf(args.resources), args, report),
  };
}

export type { ResourceValidationPolicy, StackValidationPolicy };

/** Config schema fragment: subnets (by resource name or id) a routing policy skips. */
export const exemptSubnetsSchema = {
  exemptSubnets: {
    type: "array",
    items: { type: "string" },
    default: [],
    description: "Subnets (Pulumi resource name or subnet id) this policy does not check.",
  },
} as const;

/** True when the node's resource name or id is listed. */
export function isListed(node: Node, list: readonly string[] | undefined): boolean {
  if (!list || list.length === 0) return false;
  return (
    (node.res !== undefined && list.includes(node.res.name)) ||
    (node.id !== undefined && list.includes(node.id))
  );
}

export const AWS_DOCS = {
  gwlbRouting:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/getting-started.html#configure-routing",
  edgeRouteTables: "https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html",
  applianceMode:
    "https://docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-appliance-scenario.html",
  centralizedEgress:
    "https://docs.aws.amazon.com/whitepapers/latest/building-scalable-secure-multi-vpc-network-infrastructure/centralized-egress-to-internet.html",
  targetGroups:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/target-groups.html",
  healthChecks:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/health-checks.html",
  idleTimeout:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/gateway-load-balancers.html",
  leastPrivilege:
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
  passRole: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
  managedPolicies:
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html",
  securityGroups: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html",
  applianceSecurityGroups:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/target-groups.html#target-security-groups",
  imdsv2:
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html",
  publicIp: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-ip-addressing.html",
  ebsEncryption: "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html",
  endpointService:
    "https://docs.aws.amazon.com/vpc/latest/privatelink/configure-endpoint-service.html",
  gwlbListeners:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/gateway-listeners.html",
  crossZone:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/gateway-load-balancers.html#cross-zone-load-balancing",
  stickinessApplianceMode:
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/target-groups.html#flow-stickiness",
  flowLogs: "https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html",
} as const;

type Props = Record<string, unknown>;

/**
 * A resource validation that only runs for `types`. Like @pulumi/policy's validateResourceOfType,
 * a single type is attached as `__pulumiType` so the engine can skip other resources cheaply.
 */
export function forTypes(
  types: readonly string[],
  validate: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
  const fn = ((args: ResourceValidationArgs, report: ReportViolation) => {
    if (!types.includes(args.type)) return;
    validate(args.props as Props, args, report);
  }) as ResourceValidation & { __pulumiType?: string };
  if (types.length === 1) fn.__pulumiType = types[0];
  return fn;
}
