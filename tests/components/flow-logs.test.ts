import * as assert from "assert";
import {
  FLOW_LOG_FIELDS,
  FLOW_LOG_FORMAT,
  flowLogsAssumeRolePolicy,
  flowLogsDeliveryPolicy,
  resolveFlowLogsArgs,
} from "@tollgate/components";
import { EXAMPLE_CONFIGS } from "../../scripts/capture";
import { capture, example, Stack } from "./helpers";

const FLOW_LOG = "aws:ec2/flowLog:FlowLog";
const VPC = "aws:ec2/vpc:Vpc";

/** The VPC ids a stack's resources name: created VPCs and adopted ones (ids of the config). */
function vpcIds(s: Stack): string[] {
  const created = s.ofType(VPC).map((v) => v.id!);
  const adopted = s.ofType("aws:ec2/subnet:Subnet").map((sn) => String(sn.inputs.vpcId));
  return [...new Set([...created, ...adopted])].sort();
}

describe("VPC flow logs", function () {
  this.timeout(60000);

  it("the format has the default fields in AWS's order, then the path fields", () => {
    // AWS's default format: the version 2 fields, in this order.
    assert.equal(
      FLOW_LOG_FIELDS.slice(0, 14).join(" "),
      "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
    );
    for (const f of [
      "flow-direction",
      "traffic-path",
      "pkt-src-aws-service",
      "pkt-dst-aws-service",
    ]) {
      assert.ok(FLOW_LOG_FORMAT.includes(`\${${f}}`), f);
    }
    assert.equal(new Set(FLOW_LOG_FIELDS).size, FLOW_LOG_FIELDS.length, "no field twice");
  });

  for (const name of Object.keys(EXAMPLE_CONFIGS)) {
    it(`${name}: one flow log per VPC, created or adopted, delivered to its component's group`, async () => {
      const s = await example(name);
      const logs = s.ofType(FLOW_LOG);
      assert.deepStrictEqual(logs.map((l) => String(l.inputs.vpcId)).sort(), vpcIds(s));
      for (const l of logs) {
        assert.equal(l.inputs.logFormat, FLOW_LOG_FORMAT);
        assert.equal(l.inputs.trafficType, "ALL");
        assert.equal(l.inputs.logDestinationType, "cloud-watch-logs");
        const group = s.resources.find((r) => r.outputs.arn === l.inputs.logDestination);
        assert.ok(group && group.type === "aws:cloudwatch/logGroup:LogGroup", "destination group");
        assert.match(String(group.inputs.name), /^\/tollgate\/dev\/[a-z0-9-]+\/flow-logs$/);
        const role = s.resources.find((r) => r.outputs.arn === l.inputs.iamRoleArn)!;
        assert.equal(role.parent, l.parent, "one delivery role per component");
        const policy = s
          .ofType("aws:iam/rolePolicy:RolePolicy")
          .find((p) => p.inputs.role === role.id)!;
        assert.ok(l.dependencies?.includes(policy.urn), "the flow log waits for the role policy");
        assert.deepStrictEqual(
          JSON.parse(String(policy.inputs.policy)),
          flowLogsDeliveryPolicy(String(group.outputs.arn)),
        );
        const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as ReturnType<
          typeof flowLogsAssumeRolePolicy
        >;
        const region = String(EXAMPLE_CONFIGS[name]!["aws:region"]);
        assert.deepStrictEqual(
          trust,
          flowLogsAssumeRolePolicy({ accountId: "123456789012", partition: "aws", region }),
        );
      }
    });
  }

  it("delivery policy: only stream writes on exactly one group; trust: only this account's flow logs", () => {
    const group = "arn:aws:logs:eu-west-1:123456789012:log-group:/tollgate/dev/x/flow-logs";
    assert.deepStrictEqual(flowLogsDeliveryPolicy(`${group}:*`).Statement, [
      {
        Sid: "WriteFlowLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [group, `${group}:log-stream:*`],
      },
    ]);
    assert.throws(() => flowLogsDeliveryPolicy("arn:aws:logs:*:*:log-group:*"), /must be exact/);
    const t = flowLogsAssumeRolePolicy({
      accountId: "123456789012",
      partition: "aws-us-gov",
      region: "us-gov-west-1",
    }).Statement[0]!;
    assert.deepStrictEqual(t.Principal, { Service: "vpc-flow-logs.amazonaws.com" });
    assert.deepStrictEqual(t.Condition, {
      StringEquals: { "aws:SourceAccount": "123456789012" },
      ArnLike: { "aws:SourceArn": "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:vpc-flow-log/*" },
    });
  });

  it("S3: flow logs to the given bucket, no log group and no delivery role", async () => {
    const bucket = "arn:aws:s3:::central-flow-logs/tollgate";
    const s = await capture({
      ...EXAMPLE_CONFIGS["both-3az"],
      flowLogs: { destination: "s3", s3BucketArn: bucket, maxAggregationIntervalSeconds: 60 },
    });
    const logs = s.ofType(FLOW_LOG);
    assert.equal(logs.length, vpcIds(s).length);
    for (const l of logs) {
      assert.equal(l.inputs.logDestinationType, "s3");
      assert.equal(l.inputs.logDestination, bucket);
      assert.equal(l.inputs.iamRoleArn, undefined);
      assert.equal(l.inputs.maxAggregationInterval, 60);
    }
    assert.ok(!s.resources.some((r) => r.urn.includes("flow-logs")), "no group, role or policy");
  });

  it("disabled: no flow log resources at all", async () => {
    const s = await capture({ ...EXAMPLE_CONFIGS["egress-2az"], flowLogs: { enabled: false } });
    assert.deepStrictEqual(
      s.resources.filter((r) => r.type === FLOW_LOG || r.urn.includes("flow-log")),
      [],
    );
  });

  it("errors name the key and the fix", () => {
    assert.throws(
      () => resolveFlowLogsArgs({ destination: "s3" }),
      /tollgate:flowLogs\.s3BucketArn: is missing \(destination is s3\)\. Fix: set it to the bucket's ARN/,
    );
    assert.throws(
      () => resolveFlowLogsArgs({ s3BucketArn: "arn:aws:s3:::bucket-1" }),
      /tollgate:flowLogs\.s3BucketArn: is only used with destination s3/,
    );
    assert.throws(
      () => resolveFlowLogsArgs({ destination: "s3", s3BucketArn: "central-logs" }),
      /tollgate:flowLogs\.s3BucketArn: "central-logs" is not an S3 bucket ARN\. Fix: use arn:aws:s3:::<bucket>/,
    );
    assert.throws(
      () => resolveFlowLogsArgs({ maxAggregationIntervalSeconds: 300 }),
      /tollgate:flowLogs\.maxAggregationIntervalSeconds: 300 is not an aggregation interval AWS offers\. Fix: use 60 or 600/,
    );
    assert.deepStrictEqual(resolveFlowLogsArgs(), {
      enabled: true,
      destination: "cloud-watch-logs",
      trafficType: "ALL",
      maxAggregationIntervalSeconds: 600,
      retentionDays: 30,
    });
  });
});
