import * as assert from "assert";
import {
  applianceRolePolicy,
  ec2AssumeRolePolicy,
  ssmManagedPolicyArn,
  tlsOnlyBucketPolicy,
} from "@tollgate/components";
import { isMutatingAction } from "./helpers";

const OBJ = "arn:aws:s3:::bucket-1/appliance/abcd/tollgate-appliance-0.1.0.tgz";
const RULES = "arn:aws:s3:::bucket-1/rules/ef01/tollgate.yaml";
const LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:/tollgate/x/appliance";

describe("IAM policy documents", () => {
  it("appliance role: exactly the two objects, its own log group, nothing else", () => {
    assert.deepStrictEqual(applianceRolePolicy({ objectArns: [OBJ, RULES], logGroupArn: LOGS }), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ReadApplianceArtifacts",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: [OBJ, RULES],
        },
        {
          Sid: "WriteOwnLogGroup",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [LOGS, `${LOGS}:log-stream:*`],
        },
      ],
    });
  });

  it("adds kms:Decrypt only for the given keys", () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const doc = applianceRolePolicy({ objectArns: [OBJ], logGroupArn: LOGS, kmsKeyArns: [key] });
    assert.deepStrictEqual(doc.Statement[2], {
      Sid: "DecryptArtifacts",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: [key],
    });
    assert.strictEqual(
      applianceRolePolicy({ objectArns: [OBJ], logGroupArn: LOGS, kmsKeyArns: [] }).Statement
        .length,
      2,
    );
  });

  it("publishes metrics only into the given namespace", () => {
    const doc = applianceRolePolicy({
      objectArns: [OBJ],
      logGroupArn: LOGS,
      metricNamespace: "Tollgate",
    });
    assert.deepStrictEqual(doc.Statement[2], {
      Sid: "PublishApplianceMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:PutMetricData"],
      Resource: ["*"],
      Condition: { StringEquals: { "cloudwatch:namespace": "Tollgate" } },
    });
    assert.ok(
      !applianceRolePolicy({ objectArns: [OBJ], logGroupArn: LOGS }).Statement.some((st) =>
        st.Action.includes("cloudwatch:PutMetricData"),
      ),
      "no metric permission unless a namespace is given",
    );
  });

  it("never grants a mutating action on a * resource, and refuses wildcard inputs", () => {
    const doc = applianceRolePolicy({ objectArns: [OBJ, RULES], logGroupArn: LOGS });
    for (const st of doc.Statement) {
      for (const res of st.Resource ?? []) {
        assert.notStrictEqual(res, "*");
        if (res.includes("*")) {
          // The only wildcard: log streams inside our own log group.
          assert.strictEqual(res, `${LOGS}:log-stream:*`);
        }
      }
      assert.ok(
        st.Action.every((a) => !a.includes("*")),
        "no wildcard actions",
      );
    }
    assert.throws(
      () => applianceRolePolicy({ objectArns: ["arn:aws:s3:::bucket-1/*"], logGroupArn: LOGS }),
      /object ARN must be exact/,
    );
    assert.throws(
      () => applianceRolePolicy({ objectArns: [OBJ], logGroupArn: `${LOGS}:*` }),
      /log group ARN must be exact/,
    );
  });

  it("trust policy: EC2 only", () => {
    assert.deepStrictEqual(ec2AssumeRolePolicy().Statement, [
      {
        Sid: "Ec2AssumeRole",
        Effect: "Allow",
        Principal: { Service: "ec2.amazonaws.com" },
        Action: ["sts:AssumeRole"],
      },
    ]);
  });

  it("bucket policy only denies non-TLS access", () => {
    const doc = tlsOnlyBucketPolicy("arn:aws:s3:::b");
    assert.strictEqual(doc.Statement.length, 1);
    assert.strictEqual(doc.Statement[0]!.Effect, "Deny");
    assert.deepStrictEqual(doc.Statement[0]!.Condition, {
      Bool: { "aws:SecureTransport": "false" },
    });
    assert.deepStrictEqual(doc.Statement[0]!.Resource, ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
  });

  it("SSM managed policy ARN follows the partition", () => {
    assert.strictEqual(
      ssmManagedPolicyArn("aws-cn"),
      "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore",
    );
    assert.ok(
      isMutatingAction("s3:PutObject") &&
        isMutatingAction("s3:*") &&
        !isMutatingAction("s3:GetObject"),
    );
  });
});
