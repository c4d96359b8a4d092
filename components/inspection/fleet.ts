import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsContext } from "../common";
import { applianceRolePolicy, ec2AssumeRolePolicy, ssmManagedPolicyArn } from "../iam";
import { renderUserData } from "../userdata";
import { GENEVE_PORT, ResolvedInspectionArgs } from "./args";
import { amiFilter, ResolvedFleetArgs } from "./fleet-args";

/** What the fleet needs from the delivery component (outputs only). */
export interface FleetArtifacts {
  readonly bucketName: pulumi.Input<string>;
  readonly packageKey: string;
  readonly packageObjectArn: pulumi.Input<string>;
  readonly rulesKey?: string;
  readonly rulesObjectArn?: pulumi.Input<string>;
  readonly kmsKeyArns?: readonly string[];
}

export interface Fleet {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  readonly autoScalingGroup: aws.autoscaling.Group;
}

/** Appliance fleet: security group, IAM role (SSM only, no SSH), launch template, ASG and scaling. */
export function buildFleet(
  parent: pulumi.Resource,
  name: string,
  net: ResolvedInspectionArgs,
  fleet: ResolvedFleetArgs,
  ctx: AwsContext,
  vpcId: pulumi.Input<string>,
  subnetIds: pulumi.Input<string>[],
  targetGroupArn: pulumi.Input<string>,
  artifacts: FleetArtifacts,
  tags: (name: string) => Record<string, string>,
): Fleet {
  const p = { parent };
  const vpcCidr = net.vpcCidr.text;
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-appliance-sg`,
    {
      vpcId,
      description: "Tollgate appliances: GENEVE and health checks from the GWLB only; no SSH",
      ingress: [
        {
          description: "GENEVE from the GWLB",
          protocol: "udp",
          fromPort: GENEVE_PORT,
          toPort: GENEVE_PORT,
          cidrBlocks: [vpcCidr],
        },
        {
          description: "GWLB health check",
          protocol: "tcp",
          fromPort: net.healthCheck.port,
          toPort: net.healthCheck.port,
          cidrBlocks: [vpcCidr],
        },
      ],
      egress: [
        {
          description: "GENEVE replies to the GWLB",
          protocol: "udp",
          fromPort: GENEVE_PORT,
          toPort: GENEVE_PORT,
          cidrBlocks: [vpcCidr],
        },
        {
          description: "HTTPS: S3, SSM, CloudWatch Logs, NodeSource",
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          cidrBlocks: ["0.0.0.0/0"],
        },
        ...(fleet.amiFamily === "ubuntu-22.04"
          ? [
              {
                description: "HTTP: Ubuntu apt mirrors",
                protocol: "tcp",
                fromPort: 80,
                toPort: 80,
                cidrBlocks: ["0.0.0.0/0"],
              },
            ]
          : []),
      ],
      tags: tags(`${name}-appliance-sg`),
    },
    p,
  );

  // Stack name included: two stacks of one account and region must not share a log group.
  const logGroupName = `/tollgate/${pulumi.getStack()}/${name}/appliance`;
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-appliance-logs`,
    {
      name: logGroupName,
      retentionInDays: fleet.logRetentionDays,
      tags: tags(`${name}-appliance-logs`),
    },
    p,
  );
  const role = new aws.iam.Role(
    `${name}-appliance-role`,
    {
      assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()),
      description: "Tollgate appliance instances",
      tags: tags(`${name}-appliance-role`),
    },
    p,
  );
  new aws.iam.RolePolicyAttachment(
    `${name}-appliance-ssm`,
    { role: role.name, policyArn: ssmManagedPolicyArn(ctx.partition) },
    p,
  );
  const objectArns = [
    artifacts.packageObjectArn,
    ...(artifacts.rulesObjectArn ? [artifacts.rulesObjectArn] : []),
  ];
  new aws.iam.RolePolicy(
    `${name}-appliance-policy`,
    {
      role: role.id,
      policy: pulumi.all([pulumi.all(objectArns), logGroup.arn]).apply(([arns, lg]) =>
        JSON.stringify(
          applianceRolePolicy({
            objectArns: arns,
            logGroupArn: lg.replace(/:\*$/, ""),
            kmsKeyArns: [
              ...(artifacts.kmsKeyArns ?? []),
              ...(fleet.ebsKmsKeyArn ? [fleet.ebsKmsKeyArn] : []),
            ],
          }),
        ),
      ),
    },
    p,
  );
  const profile = new aws.iam.InstanceProfile(
    `${name}-appliance-profile`,
    { role: role.name, tags: tags(`${name}-appliance-profile`) },
    p,
  );

  const filter = amiFilter(fleet.amiFamily, fleet.architecture);
  const imageId =
    fleet.amiId ??
    aws.ec2
      .getAmiOutput(
        {
          mostRecent: true,
          owners: [filter.owner],
          filters: [
            { name: "name", values: [filter.namePattern] },
            { name: "architecture", values: [fleet.architecture] },
            { name: "virtualization-type", values: ["hvm"] },
            { name: "root-device-type", values: ["ebs"] },
          ],
        },
        { parent },
      )
      .apply((ami) => ami.id);

  const userData = pulumi.output(artifacts.bucketName).apply((bucket) =>
    Buffer.from(
      renderUserData({
        amiFamily: fleet.amiFamily,
        architecture: fleet.architecture,
        region: ctx.region,
        nodeMajorVersion: fleet.nodeMajorVersion,
        bucket,
        packageKey: artifacts.packageKey,
        rulesKey: artifacts.rulesKey,
        healthPort: net.healthCheck.port,
        tcpIdleTimeoutSeconds: net.tcpIdleTimeoutSeconds,
        logGroupName,
        extraApplianceArgs: fleet.extraApplianceArgs,
      }),
    ).toString("base64"),
  );

  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-appliance-lt`,
    {
      description: "Tollgate appliance",
      imageId,
      instanceType: fleet.instanceType,
      iamInstanceProfile: { arn: profile.arn },
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: "disabled",
      },
      networkInterfaces: [
        {
          associatePublicIpAddress: "false",
          deleteOnTermination: "true",
          securityGroups: [securityGroup.id],
        },
      ],
      blockDeviceMappings: [
        {
          deviceName: filter.rootDevice,
          ebs: {
            encrypted: "true",
            kmsKeyId: fleet.ebsKmsKeyArn,
            volumeSize: fleet.rootVolumeSizeGiB,
            volumeType: "gp3",
            deleteOnTermination: "true",
          },
        },
      ],
      monitoring: { enabled: true },
      userData,
      updateDefaultVersion: true,
      tagSpecifications: [
        { resourceType: "instance", tags: tags(`${name}-appliance`) },
        { resourceType: "volume", tags: tags(`${name}-appliance`) },
      ],
      tags: tags(`${name}-appliance-lt`),
    },
    p,
  );

  const autoScalingGroup = new aws.autoscaling.Group(
    `${name}-appliance-asg`,
    {
      vpcZoneIdentifiers: subnetIds,
      minSize: fleet.minSize,
      maxSize: fleet.maxSize,
      desiredCapacity: fleet.desiredCapacity,
      launchTemplate: {
        id: launchTemplate.id,
        version: launchTemplate.latestVersion.apply(String),
      },
      targetGroupArns: [targetGroupArn],
      healthCheckType: "ELB",
      healthCheckGracePeriod: fleet.healthCheckGracePeriodSeconds,
      instanceRefresh: {
        strategy: "Rolling",
        preferences: {
          minHealthyPercentage: fleet.instanceRefreshMinHealthyPercentage,
          instanceWarmup: String(fleet.healthCheckGracePeriodSeconds),
        },
      },
      tags: Object.entries(tags(`${name}-appliance`)).map(([key, value]) => ({
        key,
        value,
        propagateAtLaunch: true,
      })),
    },
    // Target tracking owns the desired capacity after creation; a deploy must not reset it.
    { parent, ignoreChanges: ["desiredCapacity"] },
  );
  new aws.autoscaling.Policy(
    `${name}-appliance-scaling`,
    {
      autoscalingGroupName: autoScalingGroup.name,
      policyType: "TargetTrackingScaling",
      targetTrackingConfiguration: {
        predefinedMetricSpecification: {
          predefinedMetricType:
            fleet.scaling.metric === "cpu" ? "ASGAverageCPUUtilization" : "ASGAverageNetworkIn",
        },
        targetValue: fleet.scaling.targetValue,
      },
    },
    p,
  );
  return { securityGroup, role, logGroup, launchTemplate, autoScalingGroup };
}
