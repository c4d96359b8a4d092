import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";
import { documentsOf, IAM_DOC_TYPES, isReadOnly, stmtName } from "./iam-document";

/** Actions that do not support resource-level permissions and need `Resource: "*"`. */
export const DEFAULT_WILDCARD_RESOURCE_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
  "ec2messages:AcknowledgeMessage",
  "ec2messages:DeleteMessage",
  "ec2messages:FailMessage",
  "ec2messages:GetEndpoint",
  "ec2messages:GetMessages",
  "ec2messages:SendReply",
  "cloudwatch:PutMetricData",
];

const SELF = ["${ec2:SourceInstanceARN}", "${ec2:InstanceID}"];

/**
 * No mutating action on `Resource: "*"` unless the statement is conditioned to the calling instance
 * itself (a condition value of `${ec2:SourceInstanceARN}`), or the action has no resource-level
 * permissions at all (config `wildcardResourceActions`).
 *
 * Severity: critical. AWS: {@link AWS_DOCS.leastPrivilege}
 */
export const iamNoWildcardResourceMutation: ResourceValidationPolicy = {
  name: "tollgate-iam-no-wildcard-resource-mutation",
  description:
    'IAM policies must not allow a mutating action on Resource "*" unless conditioned to the instance itself.',
  severity: "critical",
  url: AWS_DOCS.leastPrivilege,
  remediationSteps:
    'Scope the statement to the exact ARNs (bucket object, log group), or add a condition such as { StringEquals: { "aws:ARN": "${ec2:SourceInstanceARN}" } } for instance-self actions like ec2:ModifyInstanceAttribute.',
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      wildcardResourceActions: {
        type: "array",
        items: { type: "string" },
        default: DEFAULT_WILDCARD_RESOURCE_ACTIONS,
        description:
          'Actions allowed on Resource "*" because they support no resource-level permissions.',
      },
    },
  },
  validateResource: forTypes(IAM_DOC_TYPES, (props, args, report) => {
    const { wildcardResourceActions = DEFAULT_WILDCARD_RESOURCE_ACTIONS } = args.getConfig<{
      wildcardResourceActions?: string[];
    }>();
    const allowed = new Set(wildcardResourceActions.map((a) => a.toLowerCase()));
    for (const doc of documentsOf(args.type, args.name, props)) {
      doc.statements.forEach((s, i) => {
        if (s.effect !== "Allow" || s.notAction) return;
        const star = s.notResource || s.resources.includes("*");
        if (!star) return;
        const cond = s.condition === undefined ? "" : JSON.stringify(s.condition);
        if (SELF.some((v) => cond.includes(v))) return;
        const bad = s.actions.filter((a) => !isReadOnly(a) && !allowed.has(a.toLowerCase()));
        if (bad.length > 0) {
          report(
            `${doc.where} ${stmtName(s, i)} allows mutating action${bad.length > 1 ? "s" : ""} ${bad.join(", ")} on Resource "*" without a condition to the instance itself.`,
          );
        }
      });
    }
  }),
};
