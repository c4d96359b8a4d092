import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { AwsContext, sameShape } from "./common";
import { FlowLogDestination, FlowLogTrafficType } from "./schema/enums";
import { configError } from "./errors";
import { PolicyDocument, serviceAssumeRolePolicy } from "./iam";
import { parseWith } from "./schema/parse";
import { flowLogsSchema } from "./schema/stack";

/** VPC flow log settings (`tollgate:flowLogs`); keys and defaults: `flowLogsSchema`. */
export interface FlowLogsArgs {
  /** Flow logs on the component's VPCs. Defaults to true. */
  readonly enabled?: boolean;
  /** Where they go. Defaults to `cloud-watch-logs`. */
  readonly destination?: FlowLogDestination;
  /** Bucket ARN (optionally `/<prefix>`), required with `s3`. */
  readonly s3BucketArn?: string;
  /** Which flows are logged. Defaults to `ALL`. */
  readonly trafficType?: FlowLogTrafficType;
  /** 600 or 60. Defaults to 600. */
  readonly maxAggregationIntervalSeconds?: number;
  /** Log group retention (`cloud-watch-logs`). Defaults to 30. */
  readonly retentionDays?: number;
}
sameShape<FlowLogsArgs, z.input<typeof flowLogsSchema>>(true);
export { FlowLogDestination, FlowLogTrafficType };
export type ResolvedFlowLogsArgs = Readonly<z.output<typeof flowLogsSchema>>;

/**
 * Fields of every flow log record: AWS's default (version 2) fields in their order, then the
 * fields that show a flow's path through the GWLB endpoints and appliances (`flow-direction`,
 * `traffic-path`, `pkt-src-aws-service`, `pkt-dst-aws-service` are version 5). Every field is
 * valid for both CloudWatch Logs and S3 destinations.
 */
export const FLOW_LOG_FIELDS = [
  "version",
  "account-id",
  "interface-id",
  "srcaddr",
  "dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
  "vpc-id",
  "subnet-id",
  "instance-id",
  "tcp-flags",
  "type",
  "pkt-srcaddr",
  "pkt-dstaddr",
  "region",
  "az-id",
  "pkt-src-aws-service",
  "pkt-dst-aws-service",
  "flow-direction",
  "traffic-path",
] as const;

/** The custom log format (`${field} ...`) of {@link FLOW_LOG_FIELDS}. */
export const FLOW_LOG_FORMAT = FLOW_LOG_FIELDS.map((f) => `\${${f}}`).join(" ");

const K = "flowLogs";

/** Applies the defaults of {@link FlowLogsArgs} and validates it. Pure. */
export function resolveFlowLogsArgs(args: FlowLogsArgs = {}): ResolvedFlowLogsArgs {
  const a = parseWith(flowLogsSchema, args, K);
  if (a.enabled && a.destination === "s3" && a.s3BucketArn === undefined) {
    throw configError(
      `${K}.s3BucketArn`,
      "is missing (destination is s3)",
      "set it to the bucket's ARN, e.g. arn:aws:s3:::my-flow-logs, or use destination cloud-watch-logs",
    );
  }
  if (a.destination !== "s3" && a.s3BucketArn !== undefined) {
    throw configError(
      `${K}.s3BucketArn`,
      `is only used with destination s3 (destination is ${a.destination})`,
      "remove it or set tollgate:flowLogs.destination to s3",
    );
  }
  return a;
}

/** Trust policy: only the VPC Flow Logs service, acting for flow logs of this account. Pure. */
export function flowLogsAssumeRolePolicy(ctx: AwsContext): PolicyDocument {
  return serviceAssumeRolePolicy("VpcFlowLogsAssumeRole", "vpc-flow-logs.amazonaws.com", {
    StringEquals: { "aws:SourceAccount": ctx.accountId },
    ArnLike: {
      "aws:SourceArn": `arn:${ctx.partition}:ec2:${ctx.region}:${ctx.accountId}:vpc-flow-log/*`,
    },
  });
}

/** Delivery role policy: write streams of exactly one log group (it exists: no CreateLogGroup). Pure. */
export function flowLogsDeliveryPolicy(logGroupArn: string): PolicyDocument {
  const group = logGroupArn.replace(/:\*$/, "");
  if (group.includes("*")) throw new Error(`log group ARN must be exact, got ${logGroupArn}`);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteFlowLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [group, `${group}:log-stream:*`],
      },
    ],
  };
}

/** What a component whose VPCs get flow logs takes besides its own settings. */
export interface FlowLogsWiring {
  /** Flow logs of the component's VPCs, created or adopted (`tollgate:flowLogs`). Defaults: see `FlowLogsArgs`. */
  readonly flowLogs?: FlowLogsArgs;
  /** Account, partition and region (the flow-log role's trust conditions). Defaults to looked up. */
  readonly aws?: AwsContext;
}

/** Where a component's VPCs deliver their flow logs (one per component). */
export interface FlowLogDelivery {
  readonly settings: ResolvedFlowLogsArgs;
  /** Tags of a resource by name. */
  readonly tags: (name: string) => Record<string, string>;
  /** Log group and delivery role (`cloud-watch-logs` only). */
  readonly logGroup?: aws.cloudwatch.LogGroup;
  readonly role?: aws.iam.Role;
  /** What a flow log must wait for (the role's policy, so delivery works from the start). */
  readonly ready: pulumi.Resource[];
}

/** The account facts the trust policy names, given or looked up through the provider. */
function awsContext(
  parent: pulumi.Resource,
  ctx: AwsContext | undefined,
): pulumi.Output<AwsContext> {
  if (ctx !== undefined) return pulumi.output(ctx);
  const o = { parent };
  return pulumi
    .all([
      aws.getCallerIdentityOutput({}, o).accountId,
      aws.getPartitionOutput({}, o).partition,
      aws.getRegionOutput({}, o).region,
    ])
    .apply(([accountId, partition, region]) => ({ accountId, partition, region }));
}

/**
 * The destination of a component's flow logs: with `cloud-watch-logs`, its log group
 * `/tollgate/<stack>/<name>/flow-logs` and the delivery role; nothing for S3 or when disabled.
 */
export function flowLogDelivery(
  parent: pulumi.Resource,
  name: string,
  wiring: FlowLogsWiring,
  tags: (name: string) => Record<string, string>,
): FlowLogDelivery {
  const settings = resolveFlowLogsArgs(wiring.flowLogs);
  if (!settings.enabled || settings.destination !== "cloud-watch-logs")
    return { settings, tags, ready: [] };
  const p = { parent };
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-flow-logs`,
    {
      // Stack name included: two stacks of one account and region must not share a log group.
      name: `/tollgate/${pulumi.getStack()}/${name}/flow-logs`,
      retentionInDays: settings.retentionDays,
      tags: tags(`${name}-flow-logs`),
    },
    p,
  );
  const role = new aws.iam.Role(
    `${name}-flow-logs-role`,
    {
      assumeRolePolicy: awsContext(parent, wiring.aws).apply((c) =>
        JSON.stringify(flowLogsAssumeRolePolicy(c)),
      ),
      tags: tags(`${name}-flow-logs-role`),
    },
    p,
  );
  const policy = new aws.iam.RolePolicy(
    `${name}-flow-logs`,
    {
      role: role.id,
      policy: logGroup.arn.apply((arn) => JSON.stringify(flowLogsDeliveryPolicy(arn))),
    },
    p,
  );
  return { settings, tags, logGroup, role, ready: [policy] };
}

/** The flow log of one VPC (none when disabled), named `<vpcName>-flow-log`. */
export function vpcFlowLog(
  parent: pulumi.Resource,
  vpcName: string,
  vpcId: pulumi.Input<string>,
  delivery: FlowLogDelivery,
): aws.ec2.FlowLog | undefined {
  const resourceName = `${vpcName}-flow-log`;
  const s = delivery.settings;
  if (!s.enabled) return undefined;
  const common = {
    vpcId,
    trafficType: s.trafficType,
    logFormat: FLOW_LOG_FORMAT,
    maxAggregationInterval: s.maxAggregationIntervalSeconds,
    tags: delivery.tags(resourceName),
  };
  const args: aws.ec2.FlowLogArgs =
    s.destination === "s3"
      ? { ...common, logDestinationType: "s3", logDestination: s.s3BucketArn! }
      : {
          ...common,
          logDestinationType: "cloud-watch-logs",
          logDestination: delivery.logGroup!.arn,
          iamRoleArn: delivery.role!.arn,
        };
  return new aws.ec2.FlowLog(resourceName, args, { parent, dependsOn: delivery.ready });
}
