import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy/policy";
import { topologyOf } from "../model/topology";
import { T } from "../model/types";
import { arr, bag, str } from "../model/values";
import { AWS_DOCS } from "./common";

export const DEFAULT_MANAGED_POLICIES = ["AmazonSSMManagedInstanceCore"];

function allowedArn(arn: string, allow: readonly string[]): boolean {
  const m = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(arn);
  const name = m?.[1];
  return allow.some(
    (a) => a === arn || (name !== undefined && (a === name || a.endsWith(`/${name}`))),
  );
}

/**
 * Managed policy attachments (RolePolicyAttachment, PolicyAttachment, Role.managedPolicyArns) are
 * limited to an allow-list from config; customer-managed policies created in this stack are allowed
 * (their documents are checked by the other IAM policies).
 *
 * Severity: high. AWS: {@link AWS_DOCS.managedPolicies}
 */
export const iamManagedPolicyAllowlist: StackValidationPolicy = {
  name: "tollgate-iam-managed-policy-allowlist",
  description:
    "Managed policies attached to roles must be on the configured allow-list (or be created in this stack).",
  severity: "high",
  url: AWS_DOCS.managedPolicies,
  remediationSteps:
    "Attach only the allowed managed policies (default AmazonSSMManagedInstanceCore); grant anything else with a narrow inline or stack-created policy, or extend allowedManagedPolicies in the policy config.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedManagedPolicies: {
        type: "array",
        items: { type: "string" },
        default: DEFAULT_MANAGED_POLICIES,
        description: "AWS managed policy names or full policy ARNs that may be attached.",
      },
      allowStackPolicies: {
        type: "boolean",
        default: true,
        description: "Allow attaching customer-managed policies created in the same stack.",
      },
    },
  },
  validateStack: (args, report: ReportViolation) => {
    const cfg = args.getConfig<{
      allowedManagedPolicies?: string[];
      allowStackPolicies?: boolean;
    }>();
    const allow = cfg.allowedManagedPolicies ?? DEFAULT_MANAGED_POLICIES;
    const index = topologyOf(args.resources).index; // the run's shared index
    const check = (r: PolicyResource, prop: string, value: unknown, what: string): void => {
      if (cfg.allowStackPolicies !== false && index.ref(r, prop, value, [T.policy])) return;
      const arn = str(value);
      if (!arn) return; // unknown during preview and not linked to a stack policy
      if (!allowedArn(arn, allow)) {
        report(
          `${what} attaches ${arn}, which is not in allowedManagedPolicies [${allow.join(", ")}].`,
          r.urn,
        );
      }
    };
    for (const r of args.resources) {
      const p = bag(r.props);
      if (r.type === T.rolePolicyAttachment || r.type === T.policyAttachment) {
        check(
          r,
          "policyArn",
          p.policyArn,
          `${r.type === T.rolePolicyAttachment ? "role policy attachment" : "policy attachment"} "${r.name}"`,
        );
      } else if (r.type === T.role) {
        const arns = arr(p.managedPolicyArns);
        if (arns.length === 1) check(r, "managedPolicyArns", arns[0], `role "${r.name}"`);
        else for (const a of arns) check(r, "", a, `role "${r.name}"`);
      }
    }
  },
};
