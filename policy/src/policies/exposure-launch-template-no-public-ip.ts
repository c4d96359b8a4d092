import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * Launch templates never associate a public IP address with appliance instances.
 *
 * Severity: high. AWS: {@link AWS_DOCS.publicIp}
 */
export const exposureLaunchTemplateNoPublicIp: ResourceValidationPolicy = {
  name: "tollgate-exposure-launch-template-no-public-ip",
  description: "Launch templates must not associate public IP addresses.",
  severity: "high",
  url: AWS_DOCS.publicIp,
  remediationSteps:
    'Set networkInterfaces[].associatePublicIpAddress to "false" (appliances sit in private subnets).',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.launchTemplate], (props, args, report) => {
    const nis = (props.networkInterfaces as Record<string, unknown>[] | undefined) ?? [];
    nis.forEach((ni, i) => {
      const v = ni.associatePublicIpAddress;
      if (v === true || v === "true") {
        report(
          `launch template "${args.name}" networkInterfaces[${i}] associates a public IP address.`,
        );
      }
    });
  }),
};
