import * as pulumi from "@pulumi/pulumi";
import { GENEVE_PORT } from "@tollgate/appliance";
import { z } from "zod";
import {
  bool,
  describeValue,
  documented,
  enumOf,
  int,
  message,
  num,
  objectList,
  required,
  section,
  str,
  stringList,
  stringMap,
  withRange,
} from "./fields";
import {
  AmiFamily,
  Architecture,
  choices,
  FlowLogDestination,
  FlowLogTrafficType,
  ScalingMetric,
  Stickiness,
  TargetFailover,
} from "./enums";
import { INSTANCE_TYPES, isKnownInstanceType } from "../instance-types";
import { closest, RetiredKeys } from "./parse";

/**
 * The `tollgate:` stack configuration, declared once. Types (`z.input` = the documented args a
 * user passes, `z.output` = after defaults), defaults, ranges, error messages and the reference
 * tables of docs/configuration.md (scripts/config-docs.ts) all come from here. Rules that relate
 * several keys (CIDR overlaps, AZ counts, defaults computed from other keys) live in the
 * components' `resolveXArgs`, which parse their section with these schemas first.
 */

/** AZs used when neither `azCount` nor `availabilityZones` is set. */
export const DEFAULT_AZ_COUNT = 2;
/** The rules file delivered when `tollgate:appliance.rulesFile` is not set (relative to the repository). */
export const DEFAULT_RULES_FILE = "examples/rules/default.yaml";
/** Longest deregistration delay a target group accepts. */
export const MAX_DEREGISTRATION_DELAY_SECONDS = 3600;
/** Retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** A CloudWatch Logs retention value (one of {@link LOG_RETENTION_DAYS}). */
const retentionDays = (): z.ZodNumber =>
  num().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
    error: (iss) =>
      message(
        `${String(iss.input)} is not a CloudWatch retention value`,
        `use one of ${LOG_RETENTION_DAYS.join(", ")}`,
      ),
  });

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** A string matching `pattern`; `what` names the kind ("is not <what>"). */
function matching(pattern: RegExp, what: string, fix: string): z.ZodString {
  return str().refine((v) => pattern.test(v), {
    error: (iss) => message(`${JSON.stringify(iss.input)} is not ${what}`, fix),
  });
}

/** Length of the subnets carved out of a VPC (16-28). */
const subnetPrefixLength = (): z.ZodNumber =>
  withRange(
    num().refine((v) => Number.isInteger(v) && v >= 16 && v <= 28, {
      error: (iss) =>
        message(
          `/${String(iss.input)} is not a valid VPC subnet length`,
          "use a value from 16 to 28, e.g. 24",
        ),
    }),
    16,
    28,
  );

export const healthCheckSchema = section({
  port: documented(
    int(1, 65535)
      .refine((p) => p !== GENEVE_PORT, {
        error: () =>
          message(
            `${GENEVE_PORT} is the GENEVE data port; the health check must use the appliance's HTTP health port`,
            "use the appliance's health port, e.g. 8080",
          ),
      })
      .default(8080),
    { doc: "The appliance's HTTP health port. Never 6081 (the GENEVE data port)." },
  ),
  path: documented(
    str()
      .refine((p) => p.startsWith("/") && p.length <= 1024, {
        error: (iss) =>
          message(
            `${JSON.stringify(iss.input)} is not an HTTP path`,
            "start it with /, e.g. /healthz",
          ),
      })
      .default("/healthz"),
    {
      doc: "HTTP path of the health check. The appliance answers 200 only while traffic can cross it: rule engine ready, every endpoint's rules or hook applied, and a canary crossing each endpoint's real path; otherwise 503 naming the endpoint and the failed stage ([how health is decided](../appliance/README.md#health)).",
    },
  ),
  intervalSeconds: documented(int(5, 300).default(10), { doc: "Seconds between checks." }),
  timeoutSeconds: documented(int(2, 120).default(5), {
    doc: "Seconds before a check fails (below the interval).",
  }),
  healthyThreshold: documented(int(2, 10).default(3), { doc: "Successes before healthy." }),
  unhealthyThreshold: documented(int(2, 10).default(3), {
    doc: "Failures before unhealthy.",
  }),
});

export const inspectionSchema = section({
  vpcCidr: documented(str().default("10.100.0.0/16"), {
    doc: "Inspection (appliance) VPC. Appliance subnets are blocks 0-7, public (NAT) subnets blocks 8-15 of `subnetPrefixLength`.",
    type: "CIDR",
  }),
  subnetPrefixLength: documented(subnetPrefixLength().default(24), {
    doc: "Length of each appliance/public subnet. The VPC must hold 16 of them.",
  }),
  crossZoneLoadBalancing: documented(bool().default(false), {
    doc: "Cross-zone load balancing on the GWLB. Off (the AWS default) keeps each flow on an appliance in its own AZ, so an AZ without a healthy appliance blackholes its endpoints' flows: the fleet therefore keeps at least `fleet.minSizePerAz` appliances in every AZ (see [the fleet](#tollgate-fleet---appliance-fleet)). On, flows may cross AZs (inter-AZ data charges); the fleet still keeps `minSizePerAz` in every AZ (a fleet smaller than the number of AZs is not supported: use fewer AZs).",
  }),
  deletionProtection: documented(bool().default(false), { doc: "GWLB deletion protection." }),
  healthCheck: healthCheckSchema.prefault({}),
  deregistrationDelaySeconds: documented(int(0, MAX_DEREGISTRATION_DELAY_SECONDS).optional(), {
    doc: "Drain time of a deregistering appliance: on scale-in and instance refresh the Auto Scaling group deregisters the instance and terminates it only after this delay, so existing flows keep their appliance until they end or idle out. The default lets every flow that is still alive in the GWLB's flow table finish (TCP flows idle out after `tcpIdleTimeoutSeconds`, other flows after AWS's fixed 120 s; a target group drains at most 3600 s, so with a TCP idle timeout above 3600 the longest-idle flows are cut). A lower value shortens refreshes and scale-in at the price of cutting idle-but-open flows (with `rebalance` they move to another appliance, whose state tables do not know them).",
    default: "the flow idle timeout: `tcpIdleTimeoutSeconds` (350), at least 120, at most 3600",
  }),
  stickiness: documented(enumOf(choices(Stickiness)).default("5-tuple"), {
    doc: "Flow stickiness. 3-tuple = `source_ip_dest_ip_proto`, 2-tuple = `source_ip_dest_ip` (AWS snake_case values); 5-tuple is AWS's default (stickiness disabled).",
  }),
  tcpIdleTimeoutSeconds: documented(int(60, 6000).optional(), {
    doc: "Listener TCP idle timeout. Only allowed with 5-tuple stickiness; other protocols use AWS's fixed 120 s.",
    default: "`350`",
  }),
  targetFailover: documented(enumOf(choices(TargetFailover)).default("rebalance"), {
    doc: "What happens to existing flows when an appliance deregisters or turns unhealthy; always set for both cases with the same value (AWS requires them equal).",
  }),
});

export const scalingSchema = section({
  metric: documented(enumOf(choices(ScalingMetric)).default("datapath-cpu"), {
    doc: "Target-tracking metric of each AZ's group: `datapath-cpu` is the `tollgate` process's CPU in percent of **one core** (`Tollgate/DataPathCpuPercent`, published by the appliance's CloudWatch agent, averaged per group); `cpu` is `ASGAverageCPUUtilization` (all vCPUs); `network-in` is `ASGAverageNetworkIn` (bytes per instance per minute). See [Scaling](#scaling).",
  }),
  targetValue: documented(num().optional(), {
    doc: "Target in the metric's unit: percent of one core (1-100), percent of all vCPUs (1-100), or bytes per instance per minute (at least 1000000). The other metrics have no default because their saturation point depends on the instance type, and a target kept from another metric would silently mean something else (60 bytes).",
    default: "`60` for `datapath-cpu`; **required** for `cpu` and `network-in`",
  }),
});

export const fleetSchema = section({
  instanceType: documented(
    str()
      .refine((t) => isKnownInstanceType(t), {
        error: (iss) => {
          const near = closest(String(iss.input), INSTANCE_TYPES);
          return message(
            `${JSON.stringify(iss.input)} is not an EC2 instance type`,
            near !== undefined
              ? `did you mean ${near}? (the list is @pulumi/aws's ec2.InstanceType)`
              : "use a type such as c6in.large (x86_64) or c7gn.large (arm64)",
          );
        },
      })
      .optional(),
    {
      doc: "EC2 instance type; must be one of @pulumi/aws's `ec2.InstanceType` list. Its family decides the architecture: Graviton families (a `g` after the generation digit, e.g. `c7gn`, `m6g`, `t4g`, and `a1`) are arm64, the others x86_64; that picks the AMI and the release built for the fleet.",
      default: "`c6in.large` (`c7gn.large` with `architecture: arm64`)",
    },
  ),
  architecture: documented(enumOf(choices(Architecture)).optional(), {
    doc: "CPU architecture of the AMI and the release. Derived from `instanceType`; set it only to choose the default instance type of an architecture. Set together with `instanceType`, the two must agree (an error names both keys).",
    default: "from `instanceType` (`x86_64` when neither is set)",
  }),
  amiFamily: documented(enumOf(choices(AmiFamily)).default("ubuntu-22.04"), {
    doc: "AMI looked up by name filter (Canonical `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-*-server-*`, Amazon `al2023-ami-2023.*-kernel-*`, or Debian's own account 136693071363 `debian-12-<amd64\\|arm64>-*`), newest wins.",
  }),
  amiId: documented(
    matching(
      /^ami-[0-9a-f]{8,17}$/,
      "an AMI id",
      "use an id like ami-0123456789abcdef0 or remove the key to look up the newest image",
    ).optional(),
    { doc: "Pin an exact AMI id instead.", default: "lookup" },
  ),
  // At least 1: an AZ without an appliance blackholes its endpoints' flows (cross-zone off), and
  // a group at 0 has no instance to publish the metric that would scale it out again.
  minSizePerAz: documented(int(1, 100).default(1), {
    doc: "Minimum instances in each AZ; the fleet is one Auto Scaling group per AZ, so the total is this times the number of AZs. `1` keeps every AZ served at the lowest cost, but the AZ's flows are down while its only instance is replaced after a crash (a boot plus `healthCheckGracePeriodSeconds`); `2` survives the loss of one instance per AZ. Must not exceed `maxSizePerAz`.",
  }),
  maxSizePerAz: documented(int(1, 100).optional(), {
    doc: "Maximum instances in each AZ.",
    default: "`3` (or `minSizePerAz` if larger)",
  }),
  desiredCapacityPerAz: documented(int(1, 100).optional(), {
    doc: "Initial instances in each AZ (between min and max); scaling owns it afterwards (later changes are ignored).",
    default: "`minSizePerAz`",
  }),
  rootVolumeSizeGiB: documented(int(8, 16384).default(20), {
    doc: "Root volume size; always gp3 and encrypted.",
  }),
  ebsKmsKeyArn: documented(
    matching(
      /^arn:aws[a-z-]*:kms:/,
      "a KMS key ARN",
      "use arn:aws:kms:<region>:<account>:key/<id>",
    ).optional(),
    {
      doc: "Customer managed key for the root volume (the role gets `kms:Decrypt` on it).",
      type: "KMS key ARN",
      default: "account default EBS key",
    },
  ),
  healthCheckGracePeriodSeconds: documented(int(0, 7200).default(300), {
    doc: "Grace period before ELB health counts; also the warm-up of scaling, instance refresh and replacements (a new instance counts only after it).",
  }),
  scaling: scalingSchema.prefault({}),
  logRetentionDays: documented(retentionDays().default(30), {
    doc: "Retention of the appliance log group `/tollgate/<stack>/<prefix>-inspection/appliance` (a CloudWatch retention value).",
  }),
  extraApplianceArgs: documented(
    stringList()
      .refine((list) => list.every((a) => a !== "" && !/\s/.test(a)), {
        error: (iss) =>
          message(
            `${JSON.stringify((iss.input as readonly string[]).find((a) => a === "" || /\s/.test(a)))} is empty or contains whitespace (the unit splits TOLLGATE_ARGS at whitespace)`,
            "give each word separately, e.g. --log-level debug as two items, or use --option=value",
          ),
      })
      .default([]),
    { doc: "Extra arguments appended to `tollgate run` in the systemd unit.", default: "none" },
  ),
});

/** Fleet keys replaced when the fleet became one Auto Scaling group per AZ, with their fix. */
export const RETIRED_KEYS: RetiredKeys = {
  "fleet.minSize":
    "the fleet is one Auto Scaling group per AZ: set tollgate:fleet.minSizePerAz (instances each AZ keeps, at least 1)",
  "fleet.maxSize": "set tollgate:fleet.maxSizePerAz (the most instances in each AZ)",
  "fleet.desiredCapacity": "set tollgate:fleet.desiredCapacityPerAz (initial instances in each AZ)",
  "fleet.instanceRefreshMinHealthyPercentage":
    "remove it: every replacement now launches the new instance before terminating the old one (100% minimum healthy)",
};

export const deliverySchema = section({
  packageDir: documented(
    str()
      .refine((d) => d.trim() !== "", {
        error: () => message("is empty", 'use the appliance package directory, e.g. "appliance"'),
      })
      .default("appliance"),
    {
      doc: "The appliance workspace, built at deploy time into the release for `fleet.architecture` (see below) and uploaded.",
      type: "path",
    },
  ),
  rulesFile: documented(
    str()
      .refine((f) => f.trim() !== "", {
        error: () => message("is empty", "give the rules file path or remove the key"),
      })
      .default(DEFAULT_RULES_FILE),
    {
      doc: "Rules file uploaded next to the release, installed as `/etc/tollgate/rules/<file name>` and named by `rules:` in `/etc/tollgate/tollgate.yaml`. The default inspects every endpoint's traffic in the kernel and allows it, so a first deploy passes traffic and shows it in the metrics; replace it with your policy ([rules.md](rules.md)).",
      type: "path",
    },
  ),
  bucketKmsKeyArn: documented(
    matching(
      KMS_KEY_ARN,
      "a KMS key ARN",
      "use arn:aws:kms:<region>:<account>:key/<key-id>",
    ).optional(),
    {
      doc: "SSE-KMS key of the delivery bucket (the role gets `kms:Decrypt` on it).",
      type: "KMS key ARN",
      default: "SSE-S3 (AES256)",
    },
  ),
  forceDestroyBucket: documented(bool().default(false), {
    doc: "Let `pulumi destroy` remove the bucket with its objects.",
  }),
});

export const endpointServiceSchema = section({
  acceptanceRequired: documented(bool().default(true), {
    doc: "Connection requests need acceptance. Tollgate accepts the endpoints it creates itself.",
  }),
  allowedPrincipals: documented(stringList().optional(), {
    doc: "Principals allowed to create endpoints (accounts, roles, users, organizations). A bare `*` is rejected.",
    type: "list of ARNs",
    default: "`arn:<partition>:iam::<this account>:root`",
  }),
});

/** True for a Pulumi Output or a Promise: a value only known while the program runs. */
export function isDeferred(v: unknown): v is pulumi.Output<unknown> | Promise<unknown> {
  return pulumi.Output.isInstance(v) || v instanceof Promise;
}

/** True when `v` is an AWS id of the kind `prefix` (`vpc`, `subnet`, ...), e.g. `vpc-0a1b2c3d`. */
export function isAwsId(prefix: string, v: string): boolean {
  return new RegExp(`^${prefix}-[0-9a-f]+$`).test(v);
}

/**
 * An AWS resource id: a plain `<prefix>-…` string, checked here, or a `pulumi.Input` still to be
 * resolved (e.g. the id of an `awsx.ec2.Vpc` declared in the same program), which the component
 * checks when its value is known (see `checkedId`).
 */
function awsId(
  prefix: string,
  what: string,
  missingFix: string,
  badFix: string,
): z.ZodType<pulumi.Input<string>, pulumi.Input<string>> {
  return z.custom<pulumi.Input<string>>(
    (v) => isDeferred(v) || (typeof v === "string" && isAwsId(prefix, v)),
    {
      error: (iss) =>
        iss.input === undefined || iss.input === ""
          ? message("is missing", missingFix)
          : typeof iss.input === "string"
            ? message(`${JSON.stringify(iss.input)} is not ${what}`, badFix)
            : message(`must be a string, got ${describeValue(iss.input)}`, "quote the value"),
    },
  );
}

export const adoptedSubnetSchema = section({
  id: awsId(
    "subnet",
    "a subnet id",
    "set it to the subnet id (subnet-...)",
    "use the id, e.g. subnet-0123456789abcdef0",
  ),
  cidr: required("set it to the subnet's IPv4 CIDR"),
  availabilityZone: required("set it to the subnet's AZ"),
  ipv6Cidr: str().optional(),
  routeTableId: awsId(
    "rtb",
    "a route table id",
    "use the id, e.g. rtb-0123456789abcdef0, or remove the key",
    "use the id, e.g. rtb-0123456789abcdef0, or remove the key",
  ).optional(),
});

export const adoptedEndpointSubnetSchema = section({
  availabilityZone: required("set it to the endpoint subnet's AZ"),
  cidr: required("set it to a free /28 inside the VPC"),
  ipv6Cidr: str().optional(),
});

const workloadSubnetsMissing = message(
  "is missing or empty",
  "list the workload subnets to inspect (id, cidr, availabilityZone)",
);

export const adoptSchema = section({
  vpcId: documented(
    awsId(
      "vpc",
      "a VPC id",
      "set it to the VPC id (vpc-...)",
      "use the id, e.g. vpc-0123456789abcdef0",
    ),
    {
      type: "VPC id",
      doc: "Existing VPC. From a program using the components, any `pulumi.Input` (e.g. the `vpcId` of an `awsx.ec2.Vpc` declared in the same program: one deploy); an id only known at deploy time is checked then.",
      default: "- (required with `adopt`)",
    },
  ),
  internetGatewayId: documented(
    awsId(
      "igw",
      "an internet gateway id",
      "set it to the VPC's internet gateway id (igw-...)",
      "use the id, e.g. igw-0123456789abcdef0",
    ),
    {
      type: "IGW id",
      doc: "Its internet gateway. Tollgate associates a new edge route table with it (the IGW must not have one).",
      default: "- (required)",
    },
  ),
  vpcCidr: documented(required("set it to the VPC's IPv4 CIDR"), {
    doc: "The VPC's IPv4 CIDR (for validation).",
    type: "CIDR",
    default: "- (required)",
  }),
  ipv6CidrBlock: documented(str().optional(), {
    doc: "The VPC's IPv6 block.",
    type: "CIDR",
    default: "- (required when `ipv6`)",
  }),
  workloadSubnets: documented(
    z
      .array(adoptedSubnetSchema, {
        error: (iss) =>
          iss.input === undefined
            ? workloadSubnetsMissing
            : message(
                `must be a list of objects, got ${describeValue(iss.input)}`,
                "use a YAML list of mappings",
              ),
      })
      .min(1, { error: () => workloadSubnetsMissing }),
    {
      doc: "Subnets to inspect: `{ id, cidr, availabilityZone, ipv6Cidr?, routeTableId? }`. With `routeTableId`, Tollgate adds its `0.0.0.0/0` (and `::/0`) routes to that existing table (remove the table's old default route first); without it, Tollgate creates a route table and associates it (the subnet must not have an explicit association). Several subnets may share an AZ. `id` and `routeTableId` may be `pulumi.Input`s from a program (the CIDR and AZ stay plain: routes and resource names are planned from them); resources for a subnet are named after its id when it is a plain string, else `<az>-<n>` (its position among the AZ's subnets: keep the order stable).",
      type: "list",
      default: "- (required)",
    },
  ),
  endpointSubnets: documented(
    objectList(
      adoptedEndpointSubnetSchema,
      "list one endpoint subnet per AZ of the workload subnets: { availabilityZone, cidr: <free /28> }",
    ),
    {
      doc: "One new endpoint subnet per AZ used by workload subnets: `{ availabilityZone, cidr, ipv6Cidr? }` (a free /28 is enough).",
      type: "list",
      default: "- (required)",
    },
  ),
});

export const inspectedVpcSchema = section({
  enabled: documented(bool().default(true), { doc: "Build the north-south inspected VPC." }),
  vpcCidr: documented(str().default("10.1.0.0/16"), {
    doc: "New VPC (ignored with `adopt`). Workload subnets blocks 0-7, endpoint subnets 8-15.",
    type: "CIDR",
  }),
  subnetPrefixLength: documented(subnetPrefixLength().default(24), {
    doc: "Length of the workload and endpoint subnets.",
  }),
  adopt: adoptSchema.optional(),
});

export const spokeSchema = section({
  name: required("give the spoke a short name such as app1"),
  cidr: required("set the spoke VPC's CIDR, e.g. 10.10.0.0/16"),
  subnetPrefixLength: int(16, 28).default(24),
});

export const egressSchema = section({
  enabled: documented(bool().default(false), { doc: "Build the TGW egress topology." }),
  vpcCidr: documented(str().default("10.200.0.0/16"), {
    doc: "Egress hub (inspection) VPC: attachment subnets blocks 0-7, endpoint subnets 8-15, public subnets 16-23.",
    type: "CIDR",
  }),
  subnetPrefixLength: documented(subnetPrefixLength().default(24), {
    doc: "Length of the hub subnets.",
  }),
  amazonSideAsn: documented(
    num()
      .refine(
        (a) =>
          Number.isInteger(a) &&
          ((a >= 64512 && a <= 65534) || (a >= 4200000000 && a <= 4294967294)),
        {
          error: (iss) =>
            message(
              `${String(iss.input)} is not a private ASN`,
              "use 64512-65534 or 4200000000-4294967294",
            ),
        },
      )
      .default(64512),
    { doc: "Private ASN of the Transit Gateway." },
  ),
  spokes: documented(objectList(spokeSchema).default([]), {
    doc: "Spoke VPCs: `{ name, cidr, subnetPrefixLength? }` (name `[a-z0-9-]`, unique; CIDRs must not overlap each other or the hub). Each gets a workload subnet per AZ and a default route to the TGW.",
    type: "list",
    default: "none",
  }),
});

const S3_DESTINATION_ARN = /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^*]*)?$/;

export const flowLogsSchema = section({
  enabled: documented(bool().default(true), {
    doc: "VPC flow logs on every VPC Tollgate creates or adopts (inspection VPC, north-south VPC, egress hub and spokes). On by default: they are how you see a flow's path through the GWLB endpoints (the custom format adds `flow-direction`, `traffic-path`, `pkt-src-aws-service`, `pkt-dst-aws-service`, `pkt-srcaddr`/`pkt-dstaddr`, `vpc-id`, `subnet-id`, `az-id`, `tcp-flags` to the default fields). Cost: AWS bills vended-log ingestion per GB (CloudWatch Logs costs more per GB than S3) and every flow is logged on each ENI it crosses (workload, endpoint, appliance, NAT), so a busy stack pays for several records per flow. Set `false` to turn them off, or send them to S3 to pay less.",
  }),
  destination: documented(enumOf(choices(FlowLogDestination)).default("cloud-watch-logs"), {
    doc: "`cloud-watch-logs`: one log group per component, `/tollgate/<stack>/<component>/flow-logs`, written by a delivery role that only the VPC Flow Logs service of this account can assume and that may only write streams of that group. `s3`: an existing bucket (`s3BucketArn`); AWS adds the bucket policy for `delivery.logs.amazonaws.com` when you may change it.",
  }),
  s3BucketArn: documented(
    matching(
      S3_DESTINATION_ARN,
      "an S3 bucket ARN",
      "use arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/<prefix>",
    ).optional(),
    {
      doc: "Destination with `destination: s3`: the bucket ARN, optionally with a `/<prefix>`.",
      type: "S3 ARN",
      default: "- (required with `s3`)",
    },
  ),
  trafficType: documented(enumOf(choices(FlowLogTrafficType)).default("ALL"), {
    doc: "Which flows are logged; `ALL` shows the accepted path through the endpoints too.",
  }),
  maxAggregationIntervalSeconds: documented(
    num()
      .refine((v) => v === 60 || v === 600, {
        error: (iss) =>
          message(
            `${String(iss.input)} is not an aggregation interval AWS offers`,
            "use 60 or 600",
          ),
      })
      .default(600),
    {
      doc: "Longest time a flow is aggregated into one record: 600 (AWS default, fewer records) or 60. Nitro instances always aggregate 60 s or less.",
    },
  ),
  retentionDays: documented(retentionDays().default(30), {
    doc: "Retention of the flow-log groups (`cloud-watch-logs` only; S3 keeps objects by its lifecycle rules).",
  }),
});

export const azCountSchema = num().refine((n) => Number.isInteger(n) && n >= 1, {
  error: (iss) => message(`${String(iss.input)} is not a whole number of at least 1`, "use 2 or 3"),
});

/** The whole `tollgate:` namespace. */
export const tollgateSchema = section({
  namePrefix: documented(
    str()
      .refine((p) => /^[a-z][a-z0-9-]{0,7}$/.test(p), {
        error: (iss) =>
          message(
            `${JSON.stringify(iss.input)} is not a valid prefix`,
            "use 1-8 lowercase letters, digits or -, starting with a letter",
          ),
      })
      .default("tollgate"),
    {
      doc: "Prefix of every resource name (1-8 lowercase letters, digits, `-`): `<prefix>-inspection-gwlb` plus Pulumi's 8-character random suffix must fit AWS's 32-character load balancer name limit.",
    },
  ),
  azCount: documented(azCountSchema.optional(), {
    doc: "Number of AZs, taken in order from the region's available AZs. Error if the region has fewer. Max 8.",
    default: "`2`",
  }),
  availabilityZones: documented(stringList().optional(), {
    doc: "Explicit AZ names; each must be available in the region.",
    default: "first `azCount` AZs",
  }),
  ipv6: documented(bool().default(false), {
    doc: "Dual stack: the GWLB (`dualstack`), the endpoint service (`ipv4`+`ipv6`), the GWLB endpoints and the north-south VPC get IPv6, with `::/0` routes through the endpoints. The egress (TGW) topology stays IPv4.",
  }),
  tags: documented(stringMap().default({}), {
    doc: "Tags on every taggable resource (plus `Name` and `tollgate:component`).",
    default: "none",
  }),
  inspection: inspectionSchema.prefault({}),
  fleet: fleetSchema.prefault({}),
  appliance: deliverySchema.prefault({}),
  endpointService: endpointServiceSchema.prefault({}),
  northSouth: inspectedVpcSchema.prefault({}),
  egress: egressSchema.prefault({}),
  flowLogs: flowLogsSchema.prefault({}),
});

/** The typed `tollgate:` config as a user writes it (every key optional). */
export type TollgateConfig = z.input<typeof tollgateSchema>;
/** The `tollgate:` config with every plain default applied. */
export type TollgateSettings = z.output<typeof tollgateSchema>;
