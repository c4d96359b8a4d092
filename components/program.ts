import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { resolveAvailabilityZones } from "./azs";
import { AwsContext } from "./common";
import { parseTollgateConfig, rawPulumiConfig, TollgateConfig, TollgateSettings } from "./config";
import { parseWith } from "./schema/parse";
import { RETIRED_KEYS, tollgateSchema } from "./schema/stack";
import {
  ApplianceDelivery,
  ArtifactSource,
  resolveDeliveryArgs,
  ResolvedDeliveryArgs,
} from "./delivery";
import { Egress, resolveEgressArgs, ResolvedEgressArgs } from "./egress";
import {
  EndpointService,
  resolveEndpointServiceArgs,
  ResolvedEndpointServiceArgs,
} from "./endpoint-service";
import { isConfigError } from "./errors";
import { resolveFlowLogsArgs, ResolvedFlowLogsArgs } from "./flow-logs";
import { checkSuricataImage, rulesFileUsesSuricata } from "./suricata";
import { InspectedVpc, resolveInspectedVpcArgs, ResolvedInspectedVpcArgs } from "./inspected-vpc";
import {
  Inspection,
  resolveFleetArgs,
  resolveInspectionArgs,
  ResolvedFleetArgs,
  ResolvedInspectionArgs,
} from "./inspection";

/** Region facts the resolvers need, looked up once (or given by tests). */
export interface RegionFacts extends AwsContext {
  /** The region's available AZ names, in order. */
  readonly availabilityZones: readonly string[];
}

/**
 * Every component's resolved settings: the whole plan, before any resource exists. `settings` is
 * the parsed config the components are declared from (they resolve their section again, purely,
 * to the same values).
 */
export interface ResolvedTollgate {
  readonly settings: TollgateSettings;
  readonly namePrefix: string;
  readonly availabilityZones: readonly string[];
  readonly ipv6: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly inspection: ResolvedInspectionArgs;
  readonly fleet: ResolvedFleetArgs;
  readonly delivery: ResolvedDeliveryArgs;
  readonly endpointService: ResolvedEndpointServiceArgs;
  readonly northSouth: ResolvedInspectedVpcArgs | undefined;
  readonly egress: ResolvedEgressArgs | undefined;
  readonly flowLogs: ResolvedFlowLogsArgs;
  /** The delivered rules file has a `suricata:` section (checked against `fleet.amiFamily`). */
  readonly suricata: boolean;
}

/** Resolves and validates the whole configuration. Pure; throws {@link ConfigError}. */
export function resolveTollgate(cfg: TollgateConfig, facts: RegionFacts): ResolvedTollgate {
  const c = parseWith(tollgateSchema, cfg, "", RETIRED_KEYS);
  const availabilityZones = resolveAvailabilityZones(c, facts.region, facts.availabilityZones);
  const ipv6 = c.ipv6;
  const suricata = rulesFileUsesSuricata(c.appliance.rulesFile);
  checkSuricataImage(c.fleet.amiFamily, suricata);
  return {
    settings: c,
    namePrefix: c.namePrefix,
    availabilityZones,
    ipv6,
    tags: c.tags,
    inspection: resolveInspectionArgs(c.inspection, availabilityZones, ipv6),
    fleet: resolveFleetArgs(c.fleet),
    delivery: resolveDeliveryArgs(c.appliance),
    endpointService: resolveEndpointServiceArgs(
      c.endpointService,
      facts.accountId,
      facts.partition,
      ipv6,
    ),
    northSouth: c.northSouth.enabled
      ? resolveInspectedVpcArgs(c.northSouth, availabilityZones, ipv6)
      : undefined,
    egress: c.egress.enabled ? resolveEgressArgs(c.egress, availabilityZones) : undefined,
    flowLogs: resolveFlowLogsArgs(c.flowLogs),
    suricata,
  };
}

export interface ProgramOptions {
  /** How artifacts are produced. Defaults to building the release (components/release). */
  readonly artifacts?: ArtifactSource;
}

/** Looks up region, account, partition and AZs through the AWS provider. */
export async function lookupRegionFacts(): Promise<RegionFacts> {
  const [azs, identity, partition] = await Promise.all([
    aws.getAvailabilityZones({ state: "available" }),
    aws.getCallerIdentity({}),
    aws.getPartition({}),
  ]);
  return {
    region: azs.region,
    accountId: identity.accountId,
    partition: partition.partition,
    availabilityZones: azs.names,
  };
}

/** The stack outputs. */
export interface TollgateOutputs {
  readonly availabilityZones: readonly string[];
  readonly inspectionVpcId: pulumi.Output<string>;
  readonly gatewayLoadBalancerArn: pulumi.Output<string>;
  readonly targetGroupArn: pulumi.Output<string>;
  readonly endpointServiceName: pulumi.Output<string>;
  readonly endpointServiceId: pulumi.Output<string>;
  /** Each AZ's appliance Auto Scaling group name, keyed by AZ. */
  readonly applianceAutoScalingGroups: Record<string, pulumi.Output<string>>;
  readonly applianceBucket: pulumi.Output<string>;
  readonly appliancePackageKey: pulumi.Output<string>;
  readonly rulesKey: string;
  readonly northSouth?: {
    vpcId: pulumi.Output<string>;
    endpointIds: Record<string, pulumi.Output<string>>;
  };
  readonly egress?: {
    transitGatewayId: pulumi.Output<string>;
    hubVpcId: pulumi.Output<string>;
    spokeVpcIds: Record<string, pulumi.Output<string>>;
    natPublicIps: pulumi.Output<string>[];
  };
}

/**
 * Declares the whole Tollgate topology for a plan {@link resolveTollgate} validated (so nothing is
 * declared for a bad config). Each component receives its section of the parsed config plus the
 * wiring: the same documented args a program using the components on its own passes.
 */
export function declareTollgate(
  r: ResolvedTollgate,
  ctx: AwsContext,
  options: ProgramOptions = {},
): TollgateOutputs {
  const n = r.namePrefix;
  const c = r.settings;
  const azs = [...r.availabilityZones];
  const tags = { ...r.tags };
  const delivery = new ApplianceDelivery(`${n}-delivery`, {
    ...c.appliance,
    artifacts: options.artifacts,
    architecture: r.fleet.architecture,
    tags,
  });
  const inspection = new Inspection(`${n}-inspection`, {
    ...c.inspection,
    availabilityZones: azs,
    ipv6: r.ipv6,
    fleet: c.fleet,
    tags,
    aws: ctx,
    flowLogs: c.flowLogs,
    artifacts: delivery.fleetArtifacts(),
  });
  const service = new EndpointService(`${n}-endpoint-service`, {
    ...c.endpointService,
    accountId: ctx.accountId,
    partition: ctx.partition,
    ipv6: r.ipv6,
    gatewayLoadBalancerArn: inspection.gatewayLoadBalancerArn,
    tags,
  });
  const shared = {
    availabilityZones: azs,
    endpointService: service.ref(),
    tags,
    flowLogs: c.flowLogs,
    aws: ctx,
  };
  const ns = r.northSouth
    ? new InspectedVpc(`${n}-ns`, { ...c.northSouth, ipv6: r.ipv6, ...shared })
    : undefined;
  const eg = r.egress ? new Egress(`${n}-egress`, { ...c.egress, ...shared }) : undefined;
  return {
    availabilityZones: r.availabilityZones,
    inspectionVpcId: inspection.vpcId,
    gatewayLoadBalancerArn: inspection.gatewayLoadBalancerArn,
    targetGroupArn: inspection.targetGroupArn,
    endpointServiceName: service.serviceName,
    endpointServiceId: service.serviceId,
    applianceAutoScalingGroups: inspection.autoScalingGroupNames,
    applianceBucket: delivery.bucketName,
    appliancePackageKey: delivery.packageKey,
    rulesKey: delivery.rulesKey,
    ...(ns ? { northSouth: { vpcId: ns.vpcId, endpointIds: ns.endpointIds } } : {}),
    ...(eg
      ? {
          egress: {
            transitGatewayId: eg.transitGatewayId,
            hubVpcId: eg.hubVpcId,
            spokeVpcIds: eg.spokeVpcIds,
            natPublicIps: eg.natPublicIps,
          },
        }
      : {}),
  };
}

/** The program for a typed config: look up the region, resolve (fail early), declare. */
export async function tollgate(
  config: TollgateConfig,
  options: ProgramOptions = {},
): Promise<TollgateOutputs> {
  const facts = await lookupRegionFacts();
  return declareTollgate(resolveTollgate(config, facts), facts, options);
}

/** What `index.ts` runs: read the stack's `tollgate:` config and run {@link tollgate}. */
export async function main(options: ProgramOptions = {}): Promise<TollgateOutputs> {
  const project = pulumi.getProject();
  return tollgate(parseTollgateConfig(rawPulumiConfig(project)), options);
}

/**
 * Turns a {@link ConfigError} into a `pulumi.RunError`, which the Pulumi CLI prints as one line
 * without a stack trace; other errors pass through unchanged.
 */
export function toRunError(err: unknown): unknown {
  return isConfigError(err) ? new pulumi.RunError(err.message) : err;
}

/** The stack program `index.ts` exports: {@link main}, with config errors reported cleanly. */
export async function runStack(options: ProgramOptions = {}): Promise<TollgateOutputs> {
  try {
    return await main(options);
  } catch (err) {
    throw toRunError(err);
  }
}
