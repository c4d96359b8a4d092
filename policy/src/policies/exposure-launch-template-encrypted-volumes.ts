import { T } from "../model/types";
import { AWS_DOCS, forTypes, ResourceValidationPolicy } from "./common";

/**
 * Launch templates declare their EBS volumes (at least the root device) encrypted.
 *
 * Severity: high. AWS: {@link AWS_DOCS.ebsEncryption}
 */
export const exposureLaunchTemplateEncryptedVolumes: ResourceValidationPolicy = {
  name: "tollgate-exposure-launch-template-encrypted-volumes",
  description:
    "Launch templates must declare every EBS volume (at least the root volume) encrypted.",
  severity: "high",
  url: AWS_DOCS.ebsEncryption,
  remediationSteps:
    'Add blockDeviceMappings: [{ deviceName: "<root device>", ebs: { encrypted: "true", volumeType: "gp3" } }].',
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requireBlockDeviceMappings: {
        type: "boolean",
        default: true,
        description:
          "Report templates without blockDeviceMappings (their root volume follows the AMI/account default).",
      },
    },
  },
  validateResource: forTypes([T.launchTemplate], (props, args, report) => {
    const { requireBlockDeviceMappings = true } = args.getConfig<{
      requireBlockDeviceMappings?: boolean;
    }>();
    const bdms = (props.blockDeviceMappings as Record<string, unknown>[] | undefined) ?? [];
    if (bdms.length === 0) {
      if (requireBlockDeviceMappings) {
        report(
          `launch template "${args.name}" declares no blockDeviceMappings, so the root volume is not explicitly encrypted.`,
        );
      }
      return;
    }
    bdms.forEach((b, i) => {
      const ebs = b.ebs as Record<string, unknown> | undefined;
      if (!ebs) return; // instance-store / NoDevice mapping
      if (!(ebs.encrypted === true || ebs.encrypted === "true")) {
        report(
          `launch template "${args.name}" volume ${String(b.deviceName ?? `#${i + 1}`)} is not encrypted.`,
        );
      }
    });
  }),
};
