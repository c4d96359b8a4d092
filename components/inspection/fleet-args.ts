import { ConfigError } from "../errors";
import { checkInt } from "../layout";

export type AmiFamily = "ubuntu-22.04" | "al2023" | "debian-12";
export type Architecture = "x86_64" | "arm64";
export type ScalingMetric = "datapath-cpu" | "cpu" | "network-in";

/** What a scaling metric measures, its default target (if it has one) and the targets it accepts. */
interface ScalingMetricSpec {
  readonly unit: string;
  readonly defaultTarget: number | undefined;
  readonly min: number;
  readonly max: number;
  /** The fix when the target is missing or out of range. */
  readonly fix: string;
}

/**
 * The scaling metrics. Only `datapath-cpu` has a default target: the other two measure something
 * whose saturation point depends on the instance type, so their target must be given explicitly
 * (a target carried over from another metric would silently mean something else, e.g. 60 bytes).
 */
export const SCALING_METRICS: Readonly<Record<ScalingMetric, ScalingMetricSpec>> = {
  "datapath-cpu": {
    unit: "percent of one core used by the tollgate process",
    // One core is what saturates the single-threaded data path; 60% leaves room for the load to
    // grow by 1/0.6 = 1.67x while new instances boot (docs/configuration.md#scaling).
    defaultTarget: 60,
    min: 1,
    max: 100,
    fix: "use a percentage of one core from 1 to 100, e.g. 60",
  },
  cpu: {
    unit: "percent of all vCPUs, instance average",
    defaultTarget: undefined,
    min: 1,
    max: 100,
    fix: "set it explicitly: the data path is one thread, so a saturated data path reads 100/<vCPUs> percent (50 on a 2-vCPU instance); e.g. 30 on c6in.large, or use metric datapath-cpu",
  },
  "network-in": {
    unit: "bytes received per instance per minute",
    defaultTarget: undefined,
    min: 1_000_000,
    max: Number.MAX_SAFE_INTEGER,
    fix: "set it explicitly in bytes per instance per minute, at least 1000000, e.g. 3000000000 (about 400 Mbit/s)",
  },
};

/** Target-tracking scaling of each AZ's appliance group. */
export interface ScalingArgs {
  /**
   * Metric to track: `datapath-cpu` (the tollgate process's CPU as a percentage of one core,
   * published by the appliance's CloudWatch agent), `cpu` (instance CPU averaged over all vCPUs)
   * or `network-in` (bytes received per instance per minute). Defaults to `datapath-cpu`.
   */
  readonly metric?: ScalingMetric;
  /** Target value in the metric's unit. Defaults to 60 for `datapath-cpu`; required otherwise. */
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
  /**
   * Minimum instances in each AZ (the fleet is one Auto Scaling group per AZ, so every AZ of the
   * GWLB always has an appliance). At least 1. Defaults to 1.
   */
  readonly minSizePerAz?: number;
  /** Maximum instances in each AZ. Defaults to 3 (or `minSizePerAz` if larger). */
  readonly maxSizePerAz?: number;
  /** Initial desired instances in each AZ. Defaults to `minSizePerAz`. */
  readonly desiredCapacityPerAz?: number;
  /** Root volume size in GiB (always gp3, encrypted). Defaults to 20. */
  readonly rootVolumeSizeGiB?: number;
  /** KMS key ARN for the root volume. Defaults to the account's EBS default key. */
  readonly ebsKmsKeyArn?: string;
  /**
   * Seconds an Auto Scaling group waits before ELB health counts; also the instance warm-up of
   * scaling, instance refresh and replacements. Defaults to 300.
   */
  readonly healthCheckGracePeriodSeconds?: number;
  /** Target-tracking scaling. Defaults: see {@link ScalingArgs}. */
  readonly scaling?: ScalingArgs;
  /** Days the appliance log group keeps events. Defaults to 30. */
  readonly logRetentionDays?: number;
  /**
   * Extra arguments appended to the appliance's `tollgate run` command line (through
   * /etc/tollgate/tollgate.env; one word per item, no whitespace). Defaults to none.
   */
  readonly extraApplianceArgs?: readonly string[];
}

export interface ResolvedFleetArgs {
  readonly instanceType: string;
  readonly architecture: Architecture;
  readonly amiFamily: AmiFamily;
  readonly amiId: string | undefined;
  readonly minSizePerAz: number;
  readonly maxSizePerAz: number;
  readonly desiredCapacityPerAz: number;
  readonly rootVolumeSizeGiB: number;
  readonly ebsKmsKeyArn: string | undefined;
  readonly healthCheckGracePeriodSeconds: number;
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
  // At least 1: an AZ without an appliance blackholes its endpoints' flows (cross-zone off), and
  // a group at 0 has no instance to publish the metric that would scale it out again.
  const minSizePerAz = checkInt(`${K}.minSizePerAz`, args.minSizePerAz ?? 1, 1, 100);
  const maxSizePerAz = checkInt(
    `${K}.maxSizePerAz`,
    args.maxSizePerAz ?? Math.max(3, minSizePerAz),
    1,
    100,
  );
  if (minSizePerAz > maxSizePerAz) {
    throw new ConfigError(
      `${K}.minSizePerAz`,
      `${minSizePerAz} is greater than tollgate:${K}.maxSizePerAz (${maxSizePerAz})`,
      `lower minSizePerAz or raise maxSizePerAz to at least ${minSizePerAz}`,
    );
  }
  const desiredCapacityPerAz = checkInt(
    `${K}.desiredCapacityPerAz`,
    args.desiredCapacityPerAz ?? minSizePerAz,
    1,
    100,
  );
  if (desiredCapacityPerAz < minSizePerAz || desiredCapacityPerAz > maxSizePerAz) {
    throw new ConfigError(
      `${K}.desiredCapacityPerAz`,
      `${desiredCapacityPerAz} is outside ${minSizePerAz}..${maxSizePerAz}`,
      "pick a value between tollgate:fleet.minSizePerAz and tollgate:fleet.maxSizePerAz",
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
  const scaling = resolveScaling(args.scaling ?? {});
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
  const extraApplianceArgs = args.extraApplianceArgs ?? [];
  const spaced = extraApplianceArgs.find((a) => a === "" || /\s/.test(a));
  if (spaced !== undefined) {
    throw new ConfigError(
      `${K}.extraApplianceArgs`,
      `${JSON.stringify(spaced)} is empty or contains whitespace (the unit splits TOLLGATE_ARGS at whitespace)`,
      "give each word separately, e.g. --log-level debug as two items, or use --option=value",
    );
  }
  return {
    instanceType,
    architecture,
    amiFamily: args.amiFamily ?? "ubuntu-22.04",
    amiId: args.amiId,
    minSizePerAz,
    maxSizePerAz,
    desiredCapacityPerAz,
    rootVolumeSizeGiB: checkInt(`${K}.rootVolumeSizeGiB`, args.rootVolumeSizeGiB ?? 20, 8, 16384),
    ebsKmsKeyArn: args.ebsKmsKeyArn,
    healthCheckGracePeriodSeconds: checkInt(
      `${K}.healthCheckGracePeriodSeconds`,
      args.healthCheckGracePeriodSeconds ?? 300,
      0,
      7200,
    ),
    scaling,
    logRetentionDays,
    extraApplianceArgs,
  };
}

function resolveScaling(args: ScalingArgs): {
  readonly metric: ScalingMetric;
  readonly targetValue: number;
} {
  const metric = args.metric ?? "datapath-cpu";
  const spec = SCALING_METRICS[metric];
  const targetValue = args.targetValue ?? spec.defaultTarget;
  if (targetValue === undefined) {
    throw new ConfigError(
      `${K}.scaling.targetValue`,
      `is required with metric ${metric} (${spec.unit})`,
      spec.fix,
    );
  }
  if (!(targetValue >= spec.min && targetValue <= spec.max)) {
    throw new ConfigError(
      `${K}.scaling.targetValue`,
      `${targetValue} is out of range for ${metric} (${spec.unit})`,
      spec.fix,
    );
  }
  return { metric, targetValue };
}

/** Name filter and owner of the newest AMI of a family (Canonical / Amazon / Debian). */
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
    case "debian-12":
      // Debian's official AMIs (wiki.debian.org/Cloud/AmazonEC2Image/Bookworm), published by the
      // Debian cloud team's account; `debian-12-<arch>-<date>-<build>` (not the backports images).
      return {
        owner: "136693071363",
        namePattern: `debian-12-${ubuntuArch}-*`,
        rootDevice: "/dev/xvda",
      };
  }
}
