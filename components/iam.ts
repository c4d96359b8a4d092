/** An IAM policy document as AWS reads it. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: readonly string[];
  readonly Resource?: readonly string[];
  readonly Principal?: Readonly<Record<string, string | readonly string[]>>;
  readonly Condition?: Readonly<
    Record<string, Readonly<Record<string, string | readonly string[]>>>
  >;
}

/** Trust policy letting one AWS service assume a role, under `condition` when given. */
export function serviceAssumeRolePolicy(
  sid: string,
  service: string,
  condition?: PolicyStatement["Condition"],
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: sid,
        Effect: "Allow",
        Principal: { Service: service },
        Action: ["sts:AssumeRole"],
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  };
}

/** Trust policy letting EC2 assume the appliance role. */
export function ec2AssumeRolePolicy(): PolicyDocument {
  return serviceAssumeRolePolicy("Ec2AssumeRole", "ec2.amazonaws.com");
}

/** Inputs of {@link applianceRolePolicy}; all ARNs are exact, none may contain `*` except the log-stream suffix. */
export interface ApplianceRolePolicyInput {
  /** ARNs of the exact S3 objects the appliance may read (package and rules). */
  readonly objectArns: readonly string[];
  /** ARN of the appliance's own log group (without a trailing `:*`). */
  readonly logGroupArn: string;
  /** KMS key ARNs the objects / volumes are encrypted with, if customer managed. */
  readonly kmsKeyArns?: readonly string[];
  /**
   * CloudWatch namespace the instance's agent publishes metrics into (the fleet's scaling signal).
   * `cloudwatch:PutMetricData` has no resource-level permissions, so the grant is `Resource: *`
   * conditioned to this one namespace. The agent also reads the instance's own tags
   * (ec2:DescribeTags, read-only) to add the AutoScalingGroupName dimension. Defaults to none.
   */
  readonly metricNamespace?: string;
}

/**
 * The appliance instance role's inline policy: read exactly the delivered objects, write log
 * streams of its own log group, publish metrics into one namespace, decrypt with the given keys.
 * Nothing else (SSM comes from the AmazonSSMManagedInstanceCore managed policy). Pure.
 */
export function applianceRolePolicy(input: ApplianceRolePolicyInput): PolicyDocument {
  for (const arn of input.objectArns) {
    if (arn.includes("*")) throw new Error(`object ARN must be exact, got ${arn}`);
  }
  if (input.logGroupArn.includes("*"))
    throw new Error(`log group ARN must be exact, got ${input.logGroupArn}`);
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadApplianceArtifacts",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [...input.objectArns],
    },
    {
      Sid: "WriteOwnLogGroup",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: [input.logGroupArn, `${input.logGroupArn}:log-stream:*`],
    },
  ];
  if (input.metricNamespace !== undefined) {
    statements.push(
      {
        Sid: "PublishApplianceMetrics",
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: ["*"],
        Condition: { StringEquals: { "cloudwatch:namespace": input.metricNamespace } },
      },
      {
        Sid: "ReadInstanceTags",
        Effect: "Allow",
        Action: ["ec2:DescribeTags"],
        Resource: ["*"],
      },
    );
  }
  if (input.kmsKeyArns && input.kmsKeyArns.length > 0) {
    statements.push({
      Sid: "DecryptArtifacts",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: [...input.kmsKeyArns],
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Bucket policy: deny any request that is not over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: ["s3:*"],
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** The AWS managed policy that lets SSM Session Manager manage the instance. */
export function ssmManagedPolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`;
}
