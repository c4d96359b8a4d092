import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { resolveAvailabilityZones } from "./azs";
import { AwsContext } from "./common";
import { z } from "zod";
import { checkConfigNamespaces, rawPulumiConfig, TollgateConfig, TollgateSettings } from "./config";
import { checkRegion, knownAzs, PROVIDER_REGIONS } from "./regions";
import { checkRulesFile, type DeliveredRules } from "./rules-check";
import { fromPulumiForms, parseInto, parseWith } from "./schema/parse";
import {
  DEFAULT_RULES_FILE,
  egressSchema,
  inspectedVpcSchema,
  RETIRED_KEYS,
  tollgateSchema,
} from "./schema/stack";
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
import { collecting, isConfigError, Problems } from "./errors";
import { resolveFlowLogsArgs, ResolvedFlowLogsArgs } from "./flow-logs";
import { checkSuricataImage } from "./suricata";
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

/** The top-level keys of the `tollgate:` config that are sections (each checked by its resolver). */
const SECTIONS = [
  "inspection",
  "fleet",
  "appliance",
  "endpointService",
  "northSouth",
  "egress",
  "flowLogs",
] as const;

/** The top level of the schema alone: its plain keys, unknown keys, sections as opaque values. */
const topLevelSchema = tollgateSchema.extend(
  Object.fromEntries(SECTIONS.map((k) => [k, z.unknown().optional()])) as Record<
    (typeof SECTIONS)[number],
    z.ZodOptional<z.ZodUnknown>
  >,
);

/**
 * Resolves and validates the whole configuration, reporting every problem at once: each section
 * is checked on its own (a broken section does not hide another's problems), and AZ-dependent
 * checks run against the region's AZs when the AZ settings themselves are wrong. The delivered
 * rules file (relative to `root`) is read and compiled once, by the daemon's compiler. Throws one
 * {@link ConfigError} listing every problem.
 */
export function resolveTollgate(
  cfg: TollgateConfig,
  facts: RegionFacts,
  root: string = process.cwd(),
): ResolvedTollgate {
  return collecting((p) => {
    const top = p.check(() => parseInto(p, topLevelSchema, cfg, "", RETIRED_KEYS));
    const azs =
      (top &&
        p.check(() => resolveAvailabilityZones(top, facts.region, facts.availabilityZones))) ??
      facts.availabilityZones;
    const ipv6 = top?.ipv6 ?? false;
    const section = <K extends (typeof SECTIONS)[number]>(k: K) => cfg[k] ?? {};
    const inspection = p.check(() => resolveInspectionArgs(section("inspection"), azs, ipv6));
    const fleet = p.check(() => resolveFleetArgs(section("fleet")));
    const delivery = p.check(() => resolveDeliveryArgs(section("appliance")));
    const endpointService = p.check(() =>
      resolveEndpointServiceArgs(
        section("endpointService"),
        facts.accountId,
        facts.partition,
        ipv6,
      ),
    );
    const ns = p.check(() => parseWith(inspectedVpcSchema, section("northSouth"), "northSouth"));
    const northSouth = ns?.enabled
      ? p.check(() => resolveInspectedVpcArgs(section("northSouth"), azs, ipv6))
      : undefined;
    const eg = p.check(() => parseWith(egressSchema, section("egress"), "egress"));
    const egress = eg?.enabled
      ? p.check(() => resolveEgressArgs(section("egress"), azs))
      : undefined;
    const flowLogs = p.check(() => resolveFlowLogsArgs(section("flowLogs")));
    const suricata = p.check(() => checkDelivered(cfg, delivery, root))?.suricata ?? false;
    if (fleet !== undefined) p.check(() => checkSuricataImage(fleet.amiFamily, suricata));
    p.throwIfAny();
    return {
      settings: parseWith(tollgateSchema, cfg, "", RETIRED_KEYS),
      namePrefix: top!.namePrefix,
      availabilityZones: azs,
      ipv6,
      tags: top!.tags,
      inspection: inspection!,
      fleet: fleet!,
      delivery: delivery!,
      endpointService: endpointService!,
      northSouth,
      egress,
      flowLogs: flowLogs!,
      suricata,
    };
  });
}

export interface ProgramOptions {
  /** How artifacts are produced. Defaults to building the release (components/release). */
  readonly artifacts?: ArtifactSource;
  /** The project directory, which `tollgate:appliance.rulesFile` is relative to. Defaults to the working directory. */
  readonly root?: string;
  /** Where the program says which region, AZs and instance type it deploys. Defaults to `pulumi.log.info`. */
  readonly announce?: (message: string) => void;
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
    artifacts: { ...delivery.fleetArtifacts(), rulesUseSuricata: r.suricata },
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

/**
 * The delivered rules file compiled by the daemon's compiler (components/rules-check.ts, relative
 * to `root`): the resolved one, or the configured one while tollgate:appliance has other problems.
 */
function checkDelivered(
  cfg: TollgateConfig,
  delivery: ResolvedDeliveryArgs | undefined,
  root: string,
): DeliveredRules {
  const file = delivery?.rulesFile ?? cfg.appliance?.rulesFile ?? DEFAULT_RULES_FILE;
  if (typeof file !== "string" || file.trim() === "") return { suricata: false };
  return checkRulesFile(file, root);
}

/** The program for a typed config: look up the region, validate (fail early), declare. */
export async function tollgate(
  config: TollgateConfig,
  options: ProgramOptions = {},
): Promise<TollgateOutputs> {
  const facts = await lookupRegionFacts();
  return declareTollgate(resolveTollgate(config, facts, options.root), facts, options);
}

/** Where the region comes from when the stack config does not set `aws:region`. */
const REGION_ENV = ["AWS_REGION", "AWS_DEFAULT_REGION"] as const;

/** The configured region and where it was set, if anywhere we can see (else the AWS profile's). */
export function configuredRegion(
  all: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): { region: string; source: string } | undefined {
  const v = all["aws:region"];
  if (typeof v === "string" && v !== "") return { region: v, source: "aws:region" };
  for (const name of REGION_ENV) {
    const e = env[name];
    if (e) return { region: e, source: name };
  }
  return undefined;
}

/**
 * What `index.ts` runs: check the whole stack config (namespaces, the region, every `tollgate:`
 * key, the rules file) and report every problem at once before any resource is declared; then
 * print the region and AZs and declare the topology.
 */
export async function main(options: ProgramOptions = {}): Promise<TollgateOutputs> {
  const project = pulumi.getProject();
  const all = pulumi.runtime.allConfig();
  const p = new Problems();
  p.check(() => checkConfigNamespaces(all, project));
  const configured = configuredRegion(all);
  if (configured !== undefined && !PROVIDER_REGIONS.includes(configured.region)) {
    // Not a region at all: the provider lookup would fail without naming the key.
    p.check(() => checkRegion(configured.region, configured.source));
    p.throwIfAny();
  }
  const facts = await lookupRegionFacts();
  const announce = options.announce ?? ((m: string) => pulumi.log.info(m));
  if (knownAzs(facts.region) === undefined)
    announce(
      `region ${facts.region} is not in Tollgate's offline table (components/regions.ts): \`npm run plan\` cannot check it; using the provider's AZs`,
    );
  const cfg = p.check(
    () => fromPulumiForms(tollgateSchema, rawPulumiConfig(project), "") as TollgateConfig,
  );
  const resolved = cfg && p.check(() => resolveTollgate(cfg, facts, options.root));
  p.throwIfAny();
  announce(
    `Tollgate: region ${facts.region}${configured ? ` (from ${configured.source})` : " (from the AWS profile)"}, AZs ${resolved!.availabilityZones.join(", ")}, fleet ${resolved!.fleet.instanceType} (${resolved!.fleet.architecture})`,
  );
  return declareTollgate(resolved!, facts, options);
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
