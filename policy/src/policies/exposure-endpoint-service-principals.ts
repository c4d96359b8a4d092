import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * The GWLB endpoint service either requires acceptance or names explicit principals, and never
 * allows the principal "*".
 *
 * Severity: critical. AWS: {@link AWS_DOCS.endpointService}
 */
export const exposureEndpointServicePrincipals: ResourceValidationPolicy = {
  name: "tollgate-exposure-endpoint-service-principals",
  description:
    'An endpoint service must require acceptance or list explicit allowed principals, never "*".',
  severity: "critical",
  url: AWS_DOCS.endpointService,
  remediationSteps:
    'Set acceptanceRequired: true, or allowedPrincipals to explicit ARNs (for example "arn:aws:iam::<account>:root"); never "*".',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.vpceService, T.vpceServicePrincipal], (props, args, report) => {
    if (args.type === T.vpceServicePrincipal) {
      if (props.principalArn === "*")
        report(`endpoint service principal "${args.name}" allows "*" (every AWS account).`);
      return;
    }
    const principals = ((props.allowedPrincipals as unknown[] | undefined) ?? []).map(String);
    if (principals.includes("*")) {
      report(
        `endpoint service "${args.name}" allows principal "*" (every AWS account may create endpoints).`,
      );
    }
    const acceptance = props.acceptanceRequired === true || props.acceptanceRequired === "true";
    if (!acceptance && principals.length === 0) {
      report(
        `endpoint service "${args.name}" neither requires acceptance nor lists allowed principals.`,
      );
    }
  }),
};
