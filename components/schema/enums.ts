/**
 * The string choices of the stack config, as `as const` objects with a type of the same name: the
 * form Pulumi's schema inference (`pulumi package add`, PulumiPlugin.yaml) turns into enums of the
 * generated Python, Go and C# SDKs. The schema (stack.ts) takes its `enumOf` values from here.
 */

/** Every value of an `as const` choice object, as the non-empty tuple `enumOf` takes. */
export function choices<T extends Readonly<Record<string, string>>>(
  e: T,
): [T[keyof T], ...T[keyof T][]] {
  return Object.values(e) as [T[keyof T], ...T[keyof T][]];
}

/** GWLB flow stickiness: 5-tuple (AWS default), 3-tuple or 2-tuple. */
export const Stickiness = {
  FiveTuple: "5-tuple",
  ThreeTuple: "3-tuple",
  TwoTuple: "2-tuple",
} as const;
export type Stickiness = (typeof Stickiness)[keyof typeof Stickiness];

/** What the GWLB does with existing flows when a target deregisters or turns unhealthy. */
export const TargetFailover = { Rebalance: "rebalance", NoRebalance: "no_rebalance" } as const;
export type TargetFailover = (typeof TargetFailover)[keyof typeof TargetFailover];

/** CPU architecture of the appliance AMI (and of the release built for it). */
export const Architecture = { X86_64: "x86_64", Arm64: "arm64" } as const;
export type Architecture = (typeof Architecture)[keyof typeof Architecture];

/** AMI family looked up by name filter. */
export const AmiFamily = {
  Ubuntu2204: "ubuntu-22.04",
  Al2023: "al2023",
  Debian12: "debian-12",
} as const;
export type AmiFamily = (typeof AmiFamily)[keyof typeof AmiFamily];

/** Target-tracking metric of each AZ's appliance group. */
export const ScalingMetric = {
  DatapathCpu: "datapath-cpu",
  Cpu: "cpu",
  NetworkIn: "network-in",
} as const;
export type ScalingMetric = (typeof ScalingMetric)[keyof typeof ScalingMetric];

/** Where VPC flow logs are delivered. */
export const FlowLogDestination = { CloudWatchLogs: "cloud-watch-logs", S3: "s3" } as const;
export type FlowLogDestination = (typeof FlowLogDestination)[keyof typeof FlowLogDestination];

/** Which flows VPC flow logs record. */
export const FlowLogTrafficType = { All: "ALL", Accept: "ACCEPT", Reject: "REJECT" } as const;
export type FlowLogTrafficType = (typeof FlowLogTrafficType)[keyof typeof FlowLogTrafficType];
