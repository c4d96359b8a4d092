import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";
import { actionMatches, documentsOf, IAM_DOC_TYPES, stmtName } from "./iam-document";

/**
 * No `iam:PassRole` (directly or through a wildcard action) on `*` or on every role.
 *
 * Severity: critical. AWS: {@link AWS_DOCS.passRole}
 */
export const iamNoPassroleWildcard: ResourceValidationPolicy = {
  name: "tollgate-iam-no-passrole-wildcard",
  description: 'IAM policies must not allow iam:PassRole on Resource "*" (or on every role).',
  severity: "critical",
  url: AWS_DOCS.passRole,
  remediationSteps:
    "Name the exact role ARNs that may be passed, and add an iam:PassedToService condition.",
  enforcementLevel: "mandatory",
  validateResource: forTypes(IAM_DOC_TYPES, (props, args, report) => {
    for (const doc of documentsOf(args.type, args.name, props)) {
      doc.statements.forEach((s, i) => {
        if (s.effect !== "Allow" || s.notAction) return;
        if (!s.actions.some((a) => actionMatches(a, "iam:PassRole"))) return;
        const wide = s.notResource
          ? ["NotResource"]
          : s.resources.filter((r) => r === "*" || /:role\/\*$/.test(r));
        if (wide.length > 0) {
          report(`${doc.where} ${stmtName(s, i)} allows iam:PassRole on ${wide.join(", ")}.`);
        }
      });
    }
  }),
};
