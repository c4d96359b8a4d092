import { z } from "zod";
import { sameShape } from "../common";
import { collecting, configError, Problems } from "../errors";
import { architectureOf, DEFAULT_INSTANCE_TYPES } from "../instance-types";
import { AmiFamily, Architecture, ScalingMetric } from "../schema/enums";
import { parseInto } from "../schema/parse";
import { fleetSchema, LOG_RETENTION_DAYS, RETIRED_KEYS, scalingSchema } from "../schema/stack";

export { AmiFamily, Architecture, ScalingMetric };

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

/** Target-tracking scaling of each AZ's appliance group (`tollgate:fleet.scaling`). */
export interface ScalingArgs {
  /** The metric each AZ's group tracks. Defaults to `datapath-cpu`. */
  readonly metric?: ScalingMetric;
  /** Target in the metric's unit (60 for `datapath-cpu`; required for the others). */
  readonly targetValue?: number;
}

/**
 * Appliance fleet settings (`tollgate:fleet`); every key, its default and range: {@link fleetSchema}
 * and docs/configuration.md.
 */
export interface FleetArgs {
  /** EC2 instance type (@pulumi/aws's list); its family decides the architecture. Defaults to `c6in.large` (`c7gn.large` with `architecture: arm64`). */
  readonly instanceType?: string;
  /** CPU architecture; derived from `instanceType`, must agree with it when both are set. Defaults to `x86_64` without `instanceType`. */
  readonly architecture?: Architecture;
  /** AMI family looked up by name. Defaults to `ubuntu-22.04`. */
  readonly amiFamily?: AmiFamily;
  /** An exact AMI id instead of the lookup. */
  readonly amiId?: string;
  /** Instances each AZ keeps (at least 1). Defaults to 1. */
  readonly minSizePerAz?: number;
  /** Most instances in each AZ. Defaults to 3 (or `minSizePerAz` if larger). */
  readonly maxSizePerAz?: number;
  /** Initial instances in each AZ. Defaults to `minSizePerAz`. */
  readonly desiredCapacityPerAz?: number;
  /** Root volume size in GiB (gp3, encrypted). Defaults to 20. */
  readonly rootVolumeSizeGiB?: number;
  /** Customer managed key of the root volume. Defaults to the account's EBS key. */
  readonly ebsKmsKeyArn?: string;
  /** Seconds before ELB health counts (also the scaling warm-up). Defaults to 300. */
  readonly healthCheckGracePeriodSeconds?: number;
  /** Target-tracking scaling. */
  readonly scaling?: ScalingArgs;
  /** Retention of the appliance log group (a CloudWatch value). Defaults to 30. */
  readonly logRetentionDays?: number;
  /** Extra `tollgate run` arguments. Defaults to none. */
  readonly extraApplianceArgs?: string[];
}
sameShape<ScalingArgs, z.input<typeof scalingSchema>>(true);
sameShape<FleetArgs, z.input<typeof fleetSchema>>(true);

/** {@link FleetArgs} with every default applied and validated. */
export type ResolvedFleetArgs = Readonly<
  Omit<
    z.output<typeof fleetSchema>,
    "instanceType" | "architecture" | "maxSizePerAz" | "desiredCapacityPerAz" | "scaling"
  > & {
    readonly instanceType: string;
    readonly architecture: Architecture;
    readonly maxSizePerAz: number;
    readonly desiredCapacityPerAz: number;
    readonly scaling: { readonly metric: ScalingMetric; readonly targetValue: number };
  }
>;

export { LOG_RETENTION_DAYS };

const K = "fleet";

/** Applies every default of {@link FleetArgs} and validates it. Pure. */
export function resolveFleetArgs(args: FleetArgs): ResolvedFleetArgs {
  return collecting((p) => {
    const a = parseInto(p, fleetSchema, args, K, RETIRED_KEYS);
    const minSizePerAz = a.minSizePerAz;
    const maxSizePerAz = a.maxSizePerAz ?? Math.max(3, minSizePerAz);
    const desiredCapacityPerAz = a.desiredCapacityPerAz ?? minSizePerAz;
    if (minSizePerAz > maxSizePerAz) {
      p.add(
        configError(
          `${K}.minSizePerAz`,
          `${minSizePerAz} is greater than tollgate:${K}.maxSizePerAz (${maxSizePerAz})`,
          `lower minSizePerAz or raise maxSizePerAz to at least ${minSizePerAz}`,
        ),
      );
    } else if (desiredCapacityPerAz < minSizePerAz || desiredCapacityPerAz > maxSizePerAz) {
      p.add(
        configError(
          `${K}.desiredCapacityPerAz`,
          `${desiredCapacityPerAz} is outside ${minSizePerAz}..${maxSizePerAz}`,
          "pick a value between tollgate:fleet.minSizePerAz and tollgate:fleet.maxSizePerAz",
        ),
      );
    }
    const machine = resolveMachine(a.instanceType, a.architecture, p);
    const scaling = p.check(() => resolveScaling(a.scaling));
    p.throwIfAny();
    return {
      ...a,
      amiId: a.amiId,
      ebsKmsKeyArn: a.ebsKmsKeyArn,
      ...machine,
      maxSizePerAz,
      desiredCapacityPerAz,
      scaling: scaling!,
    };
  });
}

/**
 * The instance type and the architecture it implies (the AMI and the release follow it): the
 * architecture comes from the type's family; an explicit `architecture` only picks the default type
 * and must otherwise agree with the type.
 */
export function resolveMachine(
  instanceType: string | undefined,
  architecture: Architecture | undefined,
  p: Problems,
): { instanceType: string; architecture: Architecture } {
  if (instanceType === undefined) {
    const arch = architecture ?? "x86_64";
    return { instanceType: DEFAULT_INSTANCE_TYPES[arch], architecture: arch };
  }
  const derived = architectureOf(instanceType);
  if (typeof derived !== "string") {
    p.add(
      configError(
        `${K}.instanceType`,
        `${instanceType} ${derived.unsupported}`,
        `use an x86_64 or Graviton type such as ${DEFAULT_INSTANCE_TYPES.x86_64} or ${DEFAULT_INSTANCE_TYPES.arm64}`,
      ),
    );
    return { instanceType, architecture: architecture ?? "x86_64" };
  }
  if (architecture !== undefined && architecture !== derived) {
    p.add(
      configError(
        `${K}.architecture`,
        `is ${architecture} but tollgate:${K}.instanceType ${instanceType} is ${derived} (${derived === "arm64" ? "AWS Graviton" : "Intel/AMD"}): the ${architecture} AMI and release cannot boot on it`,
        `remove tollgate:${K}.architecture (it follows the instance type), or pick a ${architecture} type such as ${DEFAULT_INSTANCE_TYPES[architecture]}`,
      ),
    );
  }
  return { instanceType, architecture: derived };
}

function resolveScaling(args: z.output<typeof scalingSchema>): {
  readonly metric: ScalingMetric;
  readonly targetValue: number;
} {
  const metric = args.metric;
  const spec = SCALING_METRICS[metric];
  const targetValue = args.targetValue ?? spec.defaultTarget;
  if (targetValue === undefined) {
    throw configError(
      `${K}.scaling.targetValue`,
      `is required with metric ${metric} (${spec.unit})`,
      spec.fix,
    );
  }
  if (!(targetValue >= spec.min && targetValue <= spec.max)) {
    throw configError(
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
