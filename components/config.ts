import * as pulumi from "@pulumi/pulumi";
import { ConfigReader, RawConfig } from "./config-reader";
import { DeliveryArgs } from "./delivery/args";
import { EgressArgs } from "./egress/args";
import { EndpointServiceArgs } from "./endpoint-service/args";
import { AdoptVpcArgs, InspectedVpcArgs } from "./inspected-vpc/args";
import { HealthCheckArgs, InspectionArgs } from "./inspection/args";
import { FleetArgs } from "./inspection/fleet-args";

/** The whole typed `tollgate:` configuration (every key optional; defaults live in the resolvers). */
export interface TollgateConfig {
  /** Prefix of every resource name. Defaults to `tollgate`. */
  readonly namePrefix?: string;
  /** Number of AZs. Defaults to 2. */
  readonly azCount?: number;
  /** Explicit AZ names. Defaults to the first `azCount` AZs of the region. */
  readonly availabilityZones?: readonly string[];
  /** Dual stack (IPv4 + IPv6) for the GWLB, endpoint service and north-south VPC. Defaults to false. */
  readonly ipv6?: boolean;
  /** Tags added to every resource. Defaults to none. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly inspection?: InspectionArgs;
  readonly fleet?: FleetArgs;
  readonly appliance?: DeliveryArgs;
  readonly endpointService?: EndpointServiceArgs;
  readonly northSouth?: InspectedVpcArgs;
  readonly egress?: EgressArgs;
}

/** Every top-level `tollgate:` key. */
export const CONFIG_KEYS = [
  "namePrefix",
  "azCount",
  "availabilityZones",
  "ipv6",
  "tags",
  "inspection",
  "fleet",
  "appliance",
  "endpointService",
  "northSouth",
  "egress",
] as const;

function healthCheck(r: ConfigReader): HealthCheckArgs {
  r.only([
    "port",
    "path",
    "intervalSeconds",
    "timeoutSeconds",
    "healthyThreshold",
    "unhealthyThreshold",
  ]);
  return {
    port: r.number("port"),
    path: r.string("path"),
    intervalSeconds: r.number("intervalSeconds"),
    timeoutSeconds: r.number("timeoutSeconds"),
    healthyThreshold: r.number("healthyThreshold"),
    unhealthyThreshold: r.number("unhealthyThreshold"),
  };
}

function inspection(r: ConfigReader): InspectionArgs {
  r.only([
    "vpcCidr",
    "subnetPrefixLength",
    "crossZoneLoadBalancing",
    "deletionProtection",
    "healthCheck",
    "deregistrationDelaySeconds",
    "stickiness",
    "tcpIdleTimeoutSeconds",
    "targetFailover",
  ]);
  return {
    vpcCidr: r.string("vpcCidr"),
    subnetPrefixLength: r.number("subnetPrefixLength"),
    crossZoneLoadBalancing: r.boolean("crossZoneLoadBalancing"),
    deletionProtection: r.boolean("deletionProtection"),
    healthCheck: healthCheck(r.object("healthCheck")),
    deregistrationDelaySeconds: r.number("deregistrationDelaySeconds"),
    stickiness: r.enum("stickiness", ["5-tuple", "3-tuple", "2-tuple"] as const),
    tcpIdleTimeoutSeconds: r.number("tcpIdleTimeoutSeconds"),
    targetFailover: r.enum("targetFailover", ["rebalance", "no_rebalance"] as const),
  };
}

/** Fleet keys replaced when the fleet became one Auto Scaling group per AZ, with their fix. */
const RETIRED_FLEET_KEYS: Readonly<Record<string, string>> = {
  minSize:
    "the fleet is one Auto Scaling group per AZ: set tollgate:fleet.minSizePerAz (instances each AZ keeps, at least 1)",
  maxSize: "set tollgate:fleet.maxSizePerAz (the most instances in each AZ)",
  desiredCapacity: "set tollgate:fleet.desiredCapacityPerAz (initial instances in each AZ)",
  instanceRefreshMinHealthyPercentage:
    "remove it: every replacement now launches the new instance before terminating the old one (100% minimum healthy)",
};

function fleet(r: ConfigReader): FleetArgs {
  r.retired(RETIRED_FLEET_KEYS).only([
    "instanceType",
    "architecture",
    "amiFamily",
    "amiId",
    "minSizePerAz",
    "maxSizePerAz",
    "desiredCapacityPerAz",
    "rootVolumeSizeGiB",
    "ebsKmsKeyArn",
    "healthCheckGracePeriodSeconds",
    "scaling",
    "logRetentionDays",
    "extraApplianceArgs",
  ]);
  const scaling = r.object("scaling").only(["metric", "targetValue"]);
  return {
    instanceType: r.string("instanceType"),
    architecture: r.enum("architecture", ["x86_64", "arm64"] as const),
    amiFamily: r.enum("amiFamily", ["ubuntu-22.04", "al2023", "debian-12"] as const),
    amiId: r.string("amiId"),
    minSizePerAz: r.number("minSizePerAz"),
    maxSizePerAz: r.number("maxSizePerAz"),
    desiredCapacityPerAz: r.number("desiredCapacityPerAz"),
    rootVolumeSizeGiB: r.number("rootVolumeSizeGiB"),
    ebsKmsKeyArn: r.string("ebsKmsKeyArn"),
    healthCheckGracePeriodSeconds: r.number("healthCheckGracePeriodSeconds"),
    scaling: {
      metric: scaling.enum("metric", ["datapath-cpu", "cpu", "network-in"] as const),
      targetValue: scaling.number("targetValue"),
    },
    logRetentionDays: r.number("logRetentionDays"),
    extraApplianceArgs: r.stringList("extraApplianceArgs"),
  };
}

function adopt(r: ConfigReader): AdoptVpcArgs {
  r.only([
    "vpcId",
    "internetGatewayId",
    "vpcCidr",
    "ipv6CidrBlock",
    "workloadSubnets",
    "endpointSubnets",
  ]);
  return {
    vpcId: r.string("vpcId") ?? "",
    internetGatewayId: r.string("internetGatewayId") ?? "",
    vpcCidr: r.string("vpcCidr") ?? "",
    ipv6CidrBlock: r.string("ipv6CidrBlock"),
    workloadSubnets: (r.objectList("workloadSubnets") ?? []).map((s) => {
      s.only(["id", "cidr", "availabilityZone", "ipv6Cidr", "routeTableId"]);
      return {
        id: s.string("id") ?? "",
        cidr: s.string("cidr") ?? "",
        availabilityZone: s.string("availabilityZone") ?? "",
        ipv6Cidr: s.string("ipv6Cidr"),
        routeTableId: s.string("routeTableId"),
      };
    }),
    endpointSubnets: (r.objectList("endpointSubnets") ?? []).map((s) => {
      s.only(["availabilityZone", "cidr", "ipv6Cidr"]);
      return {
        availabilityZone: s.string("availabilityZone") ?? "",
        cidr: s.string("cidr") ?? "",
        ipv6Cidr: s.string("ipv6Cidr"),
      };
    }),
  };
}

function northSouth(r: ConfigReader): InspectedVpcArgs {
  r.only(["enabled", "vpcCidr", "subnetPrefixLength", "adopt"]);
  return {
    enabled: r.boolean("enabled"),
    vpcCidr: r.string("vpcCidr"),
    subnetPrefixLength: r.number("subnetPrefixLength"),
    adopt: r.has("adopt") ? adopt(r.object("adopt")) : undefined,
  };
}

function egress(r: ConfigReader): EgressArgs {
  r.only(["enabled", "vpcCidr", "subnetPrefixLength", "amazonSideAsn", "spokes"]);
  return {
    enabled: r.boolean("enabled"),
    vpcCidr: r.string("vpcCidr"),
    subnetPrefixLength: r.number("subnetPrefixLength"),
    amazonSideAsn: r.number("amazonSideAsn"),
    spokes: r.objectList("spokes")?.map((s) => {
      s.only(["name", "cidr", "subnetPrefixLength"]);
      return {
        name: s.string("name") ?? "",
        cidr: s.string("cidr") as string,
        subnetPrefixLength: s.number("subnetPrefixLength"),
      };
    }),
  };
}

/**
 * Reads the `tollgate:` config (keys without the namespace, values as parsed from YAML or as the
 * strings Pulumi stores) into a typed {@link TollgateConfig}. Checks types and unknown keys; the
 * component resolvers apply defaults and check values.
 */
export function parseTollgateConfig(raw: RawConfig): TollgateConfig {
  const r = new ConfigReader(raw).only(CONFIG_KEYS);
  return {
    namePrefix: r.string("namePrefix"),
    azCount: r.number("azCount"),
    availabilityZones: r.stringList("availabilityZones"),
    ipv6: r.boolean("ipv6"),
    tags: r.stringMap("tags"),
    inspection: inspection(r.object("inspection")),
    fleet: fleet(r.object("fleet")),
    appliance: ((a) => {
      a.only(["packageDir", "rulesFile", "bucketKmsKeyArn", "forceDestroyBucket"]);
      return {
        packageDir: a.string("packageDir"),
        rulesFile: a.string("rulesFile"),
        bucketKmsKeyArn: a.string("bucketKmsKeyArn"),
        forceDestroyBucket: a.boolean("forceDestroyBucket"),
      };
    })(r.object("appliance")),
    endpointService: ((e) => {
      e.only(["acceptanceRequired", "allowedPrincipals"]);
      return {
        acceptanceRequired: e.boolean("acceptanceRequired"),
        allowedPrincipals: e.stringList("allowedPrincipals"),
      };
    })(r.object("endpointService")),
    northSouth: northSouth(r.object("northSouth")),
    egress: egress(r.object("egress")),
  };
}

/** The raw `tollgate:` config of the running stack (values as Pulumi stores them: strings / JSON). */
export function rawPulumiConfig(project = "tollgate"): Record<string, unknown> {
  const all = pulumi.runtime.allConfig();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(`${project}:`)) out[k.slice(project.length + 1)] = v;
  }
  return out;
}
