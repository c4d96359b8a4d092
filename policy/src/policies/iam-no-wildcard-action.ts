import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";
import { documentsOf, IAM_DOC_TYPES, stmtName } from "./iam-document";

/**
 * IAM policies of the stack allow no `Action: "*"`, no `service:*` and no `NotAction`.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.leastPrivilege}
 */
export const iamNoWildcardAction: ResourceValidationPolicy = {
  name: "tollgate-iam-no-wildcard-action",
  description: 'IAM policies must not allow Action "*", "service:*" or use NotAction with Allow.',
  severity: "critical",
  url: AWS_DOCS.leastPrivilege,
  remediationSteps:
    "List the exact actions the appliance needs (for example s3:GetObject, logs:PutLogEvents).",
  enforcementLevel: "mandatory",
  validateResource: forTypes(IAM_DOC_TYPES, (props, args, report) => {
    for (const doc of documentsOf(args.type, args.name, props)) {
      if (doc.error) {
        report(`${doc.error}.`);
        continue;
      }
      doc.statements.forEach((s, i) => {
        if (s.effect !== "Allow") return;
        if (s.notAction) {
          report(
            `${doc.where} ${stmtName(s, i)} allows NotAction [${s.actions.join(", ")}], i.e. every other action.`,
          );
          return;
        }
        for (const a of s.actions) {
          if (a === "*" || /^[A-Za-z0-9-]+:\*$/.test(a)) {
            report(`${doc.where} ${stmtName(s, i)} allows wildcard action "${a}".`);
          }
        }
      });
    }
  }),
};
