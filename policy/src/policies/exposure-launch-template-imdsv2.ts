import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * Launch templates require IMDSv2 (`httpTokens: "required"`) with a hop limit of 1, so a process
 * behind the appliance's forwarding path cannot reach the instance credentials.
 *
 * Severity: high. AWS: {@link AWS_DOCS.imdsv2}
 */
export const exposureLaunchTemplateImdsv2: ResourceValidationPolicy = {
  name: "tollgate-exposure-launch-template-imdsv2",
  description:
    'Launch templates must set metadataOptions httpTokens "required" and httpPutResponseHopLimit 1.',
  severity: "high",
  url: AWS_DOCS.imdsv2,
  remediationSteps:
    'Set metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 }.',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.launchTemplate], (props, args, report) => {
    const md = props.metadataOptions as Record<string, unknown> | undefined;
    if (!md) {
      report(`launch template "${args.name}" has no metadataOptions, so IMDSv1 stays enabled.`);
      return;
    }
    if (md.httpEndpoint === "disabled") return; // no metadata service at all
    if (md.httpTokens !== "required") {
      report(
        `launch template "${args.name}" metadataOptions.httpTokens is ${md.httpTokens === undefined ? "unset" : `"${String(md.httpTokens)}"`}; IMDSv2 must be "required".`,
      );
    }
    const hop = md.httpPutResponseHopLimit;
    if (hop === undefined || Number(hop) !== 1) {
      report(
        `launch template "${args.name}" metadataOptions.httpPutResponseHopLimit is ${hop === undefined ? "unset" : String(hop)}; it must be 1.`,
      );
    }
  }),
};
