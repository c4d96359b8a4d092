import { ConfigError } from "../errors";
import { checkInt } from "../layout";

export type AmiFamily = "ubuntu-22.04" | "al2023";
export type Architecture = "x86_64" | "arm64";
export type ScalingMetric = "cpu" | "network-in";

/** Target-tracking scaling of the appliance fleet. */
export interface ScalingArgs {
  /** Metric to track: average CPU (%) or average network bytes in per instance. Defaults to `cpu`. */
  readonly metric?: ScalingMetric;
  /** Target value (percent for cpu, bytes for network-in). Defaults to 60 (cpu) / 500000000 (network-in). */
  readonly targetValue?: number;
}

/** Appliance fleet settings (`tollgate:fleet`). */
export interface FleetArgs {
  /** EC2 instance type. Defaults to `c6in.large` (x86_64) or `c7gn.large` (arm64). */
  readonly instanceType?: string;
  /** CPU architecture of the AMI. Defaults to `x86_64`. */
  readonly architecture?: Architecture;
  /** AMI family looked up by name filter (newest image wins). Defaults to `ubuntu-22.04`. */
  readonly amiFamily?: AmiFamily;
  /** Pin an exact AMI id instead of the lookup. Defaults to the lookup. */
  readonly amiId?: string;
  /** Minimum instances. Defaults to 2. */
  readonly minSize?: number;
  /** Maximum instances. Defaults to 4. */
  readonly maxSize?: number;
  /** Initial desired instances. Defaults to `minSize`. */
  readonly desiredCapacity?: number;
  /** Root volume size in GiB (always gp3, encrypted). Defaults to 20. */
  readonly rootVolumeSizeGiB?: number;
  /** KMS key ARN for the root volume. Defaults to the account's EBS default key. */
  readonly ebsKmsKeyArn?: string;
  /** Node.js major version installed from NodeSource. Defaults to 20. */
  readonly nodeMajorVersion?: number;
  /** Seconds ASG waits before ELB health counts. Defaults to 300. */
  readonly healthCheckGracePeriodSeconds?: number;
  /** Minimum healthy percentage during instance refresh. Defaults to 50. */
  readonly instanceRefreshMinHealthyPercentage?: number;
  /** Target-tracking scaling. Defaults: see {@link ScalingArgs}. */
  readonly scaling?: ScalingArgs;
  /** Days the appliance log group keeps events. Defaults to 30. */
  readonly logRetentionDays?: number;
  /** Extra arguments appended to the appliance's `tollgate run` command line. Defaults to none. */
  readonly extraApplianceArgs?: readonly string[];
}

export interface ResolvedFleetArgs {
  readonly instanceType: string;
  readonly architecture: Architecture;
  readonly amiFamily: AmiFamily;
  readonly amiId: string | undefined;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly rootVolumeSizeGiB: number;
  readonly ebsKmsKeyArn: string | undefined;
  readonly nodeMajorVersion: number;
  readonly healthCheckGracePeriodSeconds: number;
  readonly instanceRefreshMinHealthyPercentage: number;
  readonly scaling: { readonly metric: ScalingMetric; readonly targetValue: number };
  readonly logRetentionDays: number;
  readonly extraApplianceArgs: readonly string[];
}

/** Retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const K = "fleet";

/** Applies every default of {@link FleetArgs} and validates it. Pure. */
export function resolveFleetArgs(args: FleetArgs): ResolvedFleetArgs {
  const architecture = args.architecture ?? "x86_64";
  const minSize = checkInt(`${K}.minSize`, args.minSize ?? 2, 0, 100);
  const maxSize = checkInt(`${K}.maxSize`, args.maxSize ?? Math.max(4, minSize), 1, 100);
  if (minSize > maxSize) {
    throw new ConfigError(
      `${K}.minSize`,
      `${minSize} is greater than tollgate:${K}.maxSize (${maxSize})`,
      `lower minSize or raise maxSize to at least ${minSize}`,
    );
  }
  const desiredCapacity = checkInt(`${K}.desiredCapacity`, args.desiredCapacity ?? minSize, 0, 100);
  if (desiredCapacity < minSize || desiredCapacity > maxSize) {
    throw new ConfigError(
      `${K}.desiredCapacity`,
      `${desiredCapacity} is outside ${minSize}..${maxSize}`,
      "pick a value between tollgate:fleet.minSize and tollgate:fleet.maxSize",
    );
  }
  if (args.amiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(args.amiId)) {
    throw new ConfigError(
      `${K}.amiId`,
      `${JSON.stringify(args.amiId)} is not an AMI id`,
      "use an id like ami-0123456789abcdef0 or remove the key to look up the newest image",
    );
  }
  const instanceType =
    args.instanceType ?? (architecture === "arm64" ? "c7gn.large" : "c6in.large");
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
    throw new ConfigError(
      `${K}.instanceType`,
      `${JSON.stringify(instanceType)} is not an instance type`,
      "use a name like c6in.large",
    );
  }
  const metric = args.scaling?.metric ?? "cpu";
  const targetValue = args.scaling?.targetValue ?? (metric === "cpu" ? 60 : 500_000_000);
  if (!(targetValue > 0) || (metric === "cpu" && targetValue > 100)) {
    throw new ConfigError(
      `${K}.scaling.targetValue`,
      `${targetValue} is out of range for ${metric}`,
      metric === "cpu" ? "use a percentage from 1 to 100" : "use a positive number of bytes",
    );
  }
  const logRetentionDays = args.logRetentionDays ?? 30;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new ConfigError(
      `${K}.logRetentionDays`,
      `${logRetentionDays} is not a CloudWatch retention value`,
      `use one of ${LOG_RETENTION_DAYS.join(", ")}`,
    );
  }
  if (args.ebsKmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:/.test(args.ebsKmsKeyArn)) {
    throw new ConfigError(
      `${K}.ebsKmsKeyArn`,
      `${JSON.stringify(args.ebsKmsKeyArn)} is not a KMS key ARN`,
      "use arn:aws:kms:<region>:<account>:key/<id>",
    );
  }
  return {
    instanceType,
    architecture,
    amiFamily: args.amiFamily ?? "ubuntu-22.04",
    amiId: args.amiId,
    minSize,
    maxSize,
    desiredCapacity,
    rootVolumeSizeGiB: checkInt(`${K}.rootVolumeSizeGiB`, args.rootVolumeSizeGiB ?? 20, 8, 16384),
    ebsKmsKeyArn: args.ebsKmsKeyArn,
    nodeMajorVersion: checkInt(`${K}.nodeMajorVersion`, args.nodeMajorVersion ?? 20, 20, 24),
    healthCheckGracePeriodSeconds: checkInt(
      `${K}.healthCheckGracePeriodSeconds`,
      args.healthCheckGracePeriodSeconds ?? 300,
      0,
      7200,
    ),
    instanceRefreshMinHealthyPercentage: checkInt(
      `${K}.instanceRefreshMinHealthyPercentage`,
      args.instanceRefreshMinHealthyPercentage ?? 50,
      0,
      100,
    ),
    scaling: { metric, targetValue },
    logRetentionDays,
    extraApplianceArgs: args.extraApplianceArgs ?? [],
  };
}

/** Name filter and owner of the newest AMI of a family (Canonical / Amazon). */
export function amiFilter(
  family: AmiFamily,
  arch: Architecture,
): { owner: string; namePattern: string; rootDevice: string } {
  const ubuntuArch = arch === "x86_64" ? "amd64" : "arm64";
  switch (family) {
    case "ubuntu-22.04":
      return {
        owner: "099720109477",
        namePattern: `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-${ubuntuArch}-server-*`,
        rootDevice: "/dev/sda1",
      };
    case "al2023":
      return {
        owner: "amazon",
        namePattern: `al2023-ami-2023.*-kernel-*-${arch}`,
        rootDevice: "/dev/xvda",
      };
  }
}
