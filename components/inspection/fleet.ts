import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DATAPATH_CPU_METRIC } from "../appliance-metric";
import { AwsContext } from "../common";
import { applianceRolePolicy, ec2AssumeRolePolicy, ssmManagedPolicyArn } from "../iam";
import { cloudWatchAgentObject, renderUserData } from "../userdata";
import { GENEVE_PORT } from "@tollgate/appliance";
import { gwlbSubnetCidrs, ResolvedInspectionArgs } from "./args";
import { amiFilter, ResolvedFleetArgs } from "./fleet-args";

/** What the fleet needs from the delivery component (outputs only). */
export interface FleetArtifacts {
  readonly bucketName: pulumi.Input<string>;
  /** S3 key and SHA-256 of the release artifact for the fleet's architecture. */
  readonly packageKey: pulumi.Input<string>;
  readonly packageSha256: pulumi.Input<string>;
  readonly packageObjectArn: pulumi.Input<string>;
  readonly rulesKey: string;
  readonly rulesSha256: string;
  readonly rulesObjectArn: pulumi.Input<string>;
  readonly kmsKeyArns?: string[];
  /**
   * The rules file has a `suricata:` section (components/suricata.ts, rulesFileUsesSuricata): the
   * user data installs Suricata and ships its logs. Defaults to false.
   */
  readonly rulesUseSuricata?: boolean;
}

/** Everything {@link buildFleet} needs. */
export interface FleetInputs {
  readonly parent: pulumi.Resource;
  /** Component name; every resource name starts with it. */
  readonly name: string;
  /** Resolved inspection settings: AZs, GWLB subnets, health check, idle timeout. */
  readonly net: ResolvedInspectionArgs;
  readonly fleet: ResolvedFleetArgs;
  readonly aws: AwsContext;
  readonly vpcId: pulumi.Input<string>;
  /** Appliance subnet ids, one per AZ, in the order of `net.availabilityZones`. */
  readonly subnetIds: readonly pulumi.Input<string>[];
  readonly targetGroupArn: pulumi.Input<string>;
  readonly artifacts: FleetArtifacts;
  readonly tags: (name: string) => Record<string, string>;
}

export interface Fleet {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  /** One Auto Scaling group per AZ, keyed by AZ name. */
  readonly autoScalingGroups: Readonly<Record<string, aws.autoscaling.Group>>;
}

/**
 * Every replacement (instance refresh, health-check replacement) launches the new instance and
 * waits for it to be in service before terminating the old one: healthy capacity in an AZ never
 * drops below the group's desired capacity, even for a group of one.
 */
export const LAUNCH_BEFORE_TERMINATE = { minHealthyPercentage: 100, maxHealthyPercentage: 200 };

/**
 * Appliance fleet: security group (GENEVE and health checks from the GWLB's subnets only), IAM
 * role (SSM only, no SSH), one launch template, and per AZ an Auto Scaling group with its own
 * target-tracking policy, so every AZ of the GWLB keeps at least `minSizePerAz` appliances and
 * scales on its own load (with cross-zone load balancing off, an AZ's flows stay in that AZ).
 */
export function buildFleet(i: FleetInputs): Fleet {
  const securityGroup = applianceSecurityGroup(i);
  // Stack name included: two stacks of one account and region must not share a log group.
  const logGroupName = `/tollgate/${pulumi.getStack()}/${i.name}/appliance`;
  const logGroup = new aws.cloudwatch.LogGroup(
    `${i.name}-appliance-logs`,
    {
      name: logGroupName,
      retentionInDays: i.fleet.logRetentionDays,
      tags: i.tags(`${i.name}-appliance-logs`),
    },
    { parent: i.parent },
  );
  const { role, profile } = applianceRole(i, logGroup);
  const launchTemplate = applianceLaunchTemplate(i, securityGroup, profile, logGroupName);
  const autoScalingGroups: Record<string, aws.autoscaling.Group> = {};
  i.net.availabilityZones.forEach((az, n) => {
    const subnetId = i.subnetIds[n];
    if (subnetId === undefined) throw new Error(`no appliance subnet for AZ ${az}`);
    autoScalingGroups[az] = azGroup(i, az, subnetId, launchTemplate);
  });
  return { securityGroup, role, logGroup, launchTemplate, autoScalingGroups };
}

function applianceSecurityGroup(i: FleetInputs): aws.ec2.SecurityGroup {
  // The GWLB's network interfaces live in its subnets: GENEVE and health checks come from there
  // and nowhere else. The daemon enforces the same list (user data `gwlbSourceCidrs`).
  const gwlb = gwlbSubnetCidrs(i.net);
  const port = i.net.healthCheck.port;
  return new aws.ec2.SecurityGroup(
    `${i.name}-appliance-sg`,
    {
      vpcId: i.vpcId,
      description:
        "Tollgate appliances: GENEVE and health checks from the GWLB subnets only; no SSH",
      ingress: [
        {
          description: "GENEVE from the GWLB subnets",
          protocol: "udp",
          fromPort: GENEVE_PORT,
          toPort: GENEVE_PORT,
          cidrBlocks: gwlb,
        },
        {
          description: "GWLB health check from the GWLB subnets",
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrBlocks: gwlb,
        },
      ],
      egress: [
        {
          description: "GENEVE replies to the GWLB subnets",
          protocol: "udp",
          fromPort: GENEVE_PORT,
          toPort: GENEVE_PORT,
          cidrBlocks: gwlb,
        },
        {
          description: "HTTPS: S3, SSM, CloudWatch, the distribution's package repositories",
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          cidrBlocks: ["0.0.0.0/0"],
        },
        ...(i.fleet.amiFamily !== "al2023"
          ? [
              {
                description: "HTTP: Ubuntu/Debian apt mirrors (signed packages)",
                protocol: "tcp",
                fromPort: 80,
                toPort: 80,
                cidrBlocks: ["0.0.0.0/0"],
              },
            ]
          : []),
      ],
      tags: i.tags(`${i.name}-appliance-sg`),
    },
    { parent: i.parent },
  );
}

function applianceRole(
  i: FleetInputs,
  logGroup: aws.cloudwatch.LogGroup,
): { role: aws.iam.Role; profile: aws.iam.InstanceProfile } {
  const p = { parent: i.parent };
  const role = new aws.iam.Role(
    `${i.name}-appliance-role`,
    {
      assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()),
      description: "Tollgate appliance instances",
      tags: i.tags(`${i.name}-appliance-role`),
    },
    p,
  );
  new aws.iam.RolePolicyAttachment(
    `${i.name}-appliance-ssm`,
    { role: role.name, policyArn: ssmManagedPolicyArn(i.aws.partition) },
    p,
  );
  // Ubuntu/Debian fetch the CloudWatch agent from AWS's regional bucket with the same signed
  // transport, which needs the role to allow that one object (AL2023 installs it with dnf).
  const agent = cloudWatchAgentObject(i.aws.region, i.fleet.architecture);
  const objectArns = [
    i.artifacts.packageObjectArn,
    i.artifacts.rulesObjectArn,
    ...(i.fleet.amiFamily === "al2023"
      ? []
      : [`arn:${i.aws.partition}:s3:::${agent.bucket}/${agent.key}`]),
  ];
  new aws.iam.RolePolicy(
    `${i.name}-appliance-policy`,
    {
      role: role.id,
      policy: pulumi.all([pulumi.all(objectArns), logGroup.arn]).apply(([arns, lg]) =>
        JSON.stringify(
          applianceRolePolicy({
            objectArns: arns,
            logGroupArn: lg.replace(/:\*$/, ""),
            kmsKeyArns: [
              ...(i.artifacts.kmsKeyArns ?? []),
              ...(i.fleet.ebsKmsKeyArn ? [i.fleet.ebsKmsKeyArn] : []),
            ],
            metricNamespace: DATAPATH_CPU_METRIC.namespace,
          }),
        ),
      ),
    },
    p,
  );
  const profile = new aws.iam.InstanceProfile(
    `${i.name}-appliance-profile`,
    { role: role.name, tags: i.tags(`${i.name}-appliance-profile`) },
    p,
  );
  return { role, profile };
}

function applianceLaunchTemplate(
  i: FleetInputs,
  securityGroup: aws.ec2.SecurityGroup,
  profile: aws.iam.InstanceProfile,
  logGroupName: string,
): aws.ec2.LaunchTemplate {
  const { fleet, net } = i;
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
        { parent: i.parent },
      )
      .apply((ami) => ami.id);

  const userData = pulumi
    .all([i.artifacts.bucketName, i.artifacts.packageKey, i.artifacts.packageSha256])
    .apply(([bucket, packageKey, packageSha256]) =>
      Buffer.from(
        renderUserData({
          amiFamily: fleet.amiFamily,
          architecture: fleet.architecture,
          region: i.aws.region,
          bucket,
          packageKey,
          packageSha256,
          rulesKey: i.artifacts.rulesKey,
          rulesSha256: i.artifacts.rulesSha256,
          healthPort: net.healthCheck.port,
          tcpIdleTimeoutSeconds: net.tcpIdleTimeoutSeconds,
          logGroupName,
          extraApplianceArgs: fleet.extraApplianceArgs,
          gwlbSourceCidrs: gwlbSubnetCidrs(net),
          suricata: i.artifacts.rulesUseSuricata ?? false,
        }),
      ).toString("base64"),
    );

  return new aws.ec2.LaunchTemplate(
    `${i.name}-appliance-lt`,
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
        { resourceType: "instance", tags: i.tags(`${i.name}-appliance`) },
        { resourceType: "volume", tags: i.tags(`${i.name}-appliance`) },
      ],
      tags: i.tags(`${i.name}-appliance-lt`),
    },
    { parent: i.parent },
  );
}

/**
 * One AZ's appliances: an Auto Scaling group in that AZ's appliance subnet only (so it can never
 * leave the AZ empty by placing its instances elsewhere) and its target-tracking policy.
 *
 * Scale-in drains without a lifecycle hook: a group attached to a target group deregisters the
 * instance first and terminates it only when the target group's deregistration delay has passed
 * (activity "WaitingForELBConnectionDraining"); the delay defaults to the flow idle timeout.
 */
function azGroup(
  i: FleetInputs,
  az: string,
  subnetId: pulumi.Input<string>,
  launchTemplate: aws.ec2.LaunchTemplate,
): aws.autoscaling.Group {
  const { fleet } = i;
  const warmup = fleet.healthCheckGracePeriodSeconds;
  const group = new aws.autoscaling.Group(
    `${i.name}-appliance-asg-${az}`,
    {
      vpcZoneIdentifiers: [subnetId],
      minSize: fleet.minSizePerAz,
      maxSize: fleet.maxSizePerAz,
      desiredCapacity: fleet.desiredCapacityPerAz,
      launchTemplate: {
        id: launchTemplate.id,
        version: launchTemplate.latestVersion.apply(String),
      },
      targetGroupArns: [i.targetGroupArn],
      healthCheckType: "ELB",
      healthCheckGracePeriod: warmup,
      // New instances are left out of the scaling metric until they serve traffic.
      defaultInstanceWarmup: warmup,
      instanceMaintenancePolicy: LAUNCH_BEFORE_TERMINATE,
      instanceRefresh: {
        strategy: "Rolling",
        // Stated again here: the provider's own refresh default is 90% minimum healthy.
        preferences: { ...LAUNCH_BEFORE_TERMINATE, instanceWarmup: String(warmup) },
      },
      tags: Object.entries(i.tags(`${i.name}-appliance`)).map(([key, value]) => ({
        key,
        value,
        propagateAtLaunch: true,
      })),
    },
    // Target tracking owns the desired capacity after creation; a deploy must not reset it.
    { parent: i.parent, ignoreChanges: ["desiredCapacity"] },
  );
  new aws.autoscaling.Policy(
    `${i.name}-appliance-scaling-${az}`,
    {
      autoscalingGroupName: group.name,
      policyType: "TargetTrackingScaling",
      targetTrackingConfiguration: targetTracking(fleet.scaling, group.name),
    },
    { parent: i.parent },
  );
  return group;
}

/** The target-tracking configuration of one AZ's group for the chosen metric. Pure. */
export function targetTracking(
  scaling: ResolvedFleetArgs["scaling"],
  groupName: pulumi.Input<string>,
): aws.types.input.autoscaling.PolicyTargetTrackingConfiguration {
  const targetValue = scaling.targetValue;
  switch (scaling.metric) {
    case "datapath-cpu":
      return {
        customizedMetricSpecification: {
          namespace: DATAPATH_CPU_METRIC.namespace,
          metricName: DATAPATH_CPU_METRIC.name,
          metricDimensions: [{ name: DATAPATH_CPU_METRIC.dimension, value: groupName }],
          statistic: "Average",
        },
        targetValue,
      };
    case "cpu":
      return {
        predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
        targetValue,
      };
    case "network-in":
      return {
        predefinedMetricSpecification: { predefinedMetricType: "ASGAverageNetworkIn" },
        targetValue,
      };
  }
}
