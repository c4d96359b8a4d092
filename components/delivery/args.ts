import { ConfigError } from "../errors";

/** Appliance delivery settings (`tollgate:appliance`). */
export interface DeliveryArgs {
  /** Directory of the appliance package, built into a release at deploy time. Defaults to `appliance`. */
  readonly packageDir?: string;
  /**
   * Rules file delivered next to the release. Defaults to {@link DEFAULT_RULES_FILE}: traffic is
   * inspected by the kernel and allowed, so a first deploy passes traffic and shows it in metrics.
   */
  readonly rulesFile?: string;
  /** KMS key ARN for bucket encryption (SSE-KMS). Defaults to SSE-S3 (AES256). */
  readonly bucketKmsKeyArn?: string;
  /** Let `pulumi destroy` delete a non-empty bucket. Defaults to false. */
  readonly forceDestroyBucket?: boolean;
}

/** The rules file delivered when `tollgate:appliance.rulesFile` is not set (relative to the repository). */
export const DEFAULT_RULES_FILE = "examples/rules/default.yaml";

export interface ResolvedDeliveryArgs {
  readonly packageDir: string;
  readonly rulesFile: string;
  readonly bucketKmsKeyArn: string | undefined;
  readonly forceDestroyBucket: boolean;
}

/** Applies every default of {@link DeliveryArgs} and validates it. Pure. */
export function resolveDeliveryArgs(args: DeliveryArgs): ResolvedDeliveryArgs {
  const packageDir = args.packageDir ?? "appliance";
  if (packageDir.trim() === "") {
    throw new ConfigError(
      "appliance.packageDir",
      "is empty",
      'use the appliance package directory, e.g. "appliance"',
    );
  }
  if (args.rulesFile !== undefined && args.rulesFile.trim() === "") {
    throw new ConfigError(
      "appliance.rulesFile",
      "is empty",
      "give the rules file path or remove the key",
    );
  }
  if (
    args.bucketKmsKeyArn !== undefined &&
    !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(args.bucketKmsKeyArn)
  ) {
    throw new ConfigError(
      "appliance.bucketKmsKeyArn",
      `${JSON.stringify(args.bucketKmsKeyArn)} is not a KMS key ARN`,
      "use arn:aws:kms:<region>:<account>:key/<key-id>",
    );
  }
  return {
    packageDir,
    rulesFile: args.rulesFile ?? DEFAULT_RULES_FILE,
    bucketKmsKeyArn: args.bucketKmsKeyArn,
    forceDestroyBucket: args.forceDestroyBucket ?? false,
  };
}
