import { z } from "zod";
import { configError } from "../errors";
import { carveSubnets } from "../layout";
import { Cidr, parseCidr } from "../net";
import { parseWith } from "../schema/parse";
import {
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "@tollgate/appliance";
import {
  healthCheckSchema,
  inspectionSchema,
  MAX_DEREGISTRATION_DELAY_SECONDS,
} from "../schema/stack";

/** GWLB flow stickiness: 5-tuple (AWS default), 3-tuple or 2-tuple. */
export type Stickiness = z.output<typeof inspectionSchema>["stickiness"];
/** What the GWLB does with existing flows when a target deregisters or turns unhealthy. */
export type TargetFailover = z.output<typeof inspectionSchema>["targetFailover"];

/** The HTTP health check the GWLB runs against every appliance; keys and defaults: {@link healthCheckSchema}. */
export type HealthCheckArgs = z.input<typeof healthCheckSchema>;

/** Inspection VPC + Gateway Load Balancer settings (`tollgate:inspection`); keys and defaults: {@link inspectionSchema}. */
export type InspectionArgs = z.input<typeof inspectionSchema>;

export type ResolvedHealthCheck = Readonly<z.output<typeof healthCheckSchema>>;

export interface ResolvedInspectionArgs {
  readonly availabilityZones: readonly string[];
  readonly ipv6: boolean;
  readonly vpcCidr: Cidr;
  readonly applianceSubnets: readonly Cidr[];
  readonly publicSubnets: readonly Cidr[];
  readonly crossZoneLoadBalancing: boolean;
  readonly deletionProtection: boolean;
  readonly healthCheck: ResolvedHealthCheck;
  readonly deregistrationDelaySeconds: number;
  readonly stickiness: Stickiness;
  /** Undefined unless stickiness is 5-tuple (AWS rejects the attribute otherwise). */
  readonly tcpIdleTimeoutSeconds: number | undefined;
  readonly targetFailover: TargetFailover;
}

export { MAX_DEREGISTRATION_DELAY_SECONDS };

/**
 * Drain time that lets every flow of a deregistering target end on its own: the longest flow idle
 * timeout of the GWLB (a flow idle that long is gone from the GWLB's flow table anyway), capped at
 * what a target group allows.
 */
export function drainSecondsFor(tcpIdleTimeoutSeconds: number | undefined): number {
  return Math.min(
    MAX_DEREGISTRATION_DELAY_SECONDS,
    Math.max(
      tcpIdleTimeoutSeconds ?? GWLB_TCP_IDLE_TIMEOUT_SECONDS,
      GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
    ),
  );
}

/**
 * IPv4 CIDRs of the GWLB's subnets, where its network interfaces (the only sources of GENEVE and
 * health checks towards the appliances) live. The GWLB sits in the appliance subnets.
 */
export function gwlbSubnetCidrs(args: ResolvedInspectionArgs): string[] {
  return args.applianceSubnets.map((c) => c.text);
}
export const INSPECTION_SUBNET_ROLES = ["appliance", "public"] as const;

const K = "inspection";

/** Applies every default of {@link InspectionArgs} and validates it. Pure. */
export function resolveInspectionArgs(
  args: InspectionArgs,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectionArgs {
  const a = parseWith(inspectionSchema, args, K);
  const vpcCidr = parseCidr(`${K}.vpcCidr`, a.vpcCidr);
  const subnets = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    a.subnetPrefixLength,
    `${K}.subnetPrefixLength`,
    INSPECTION_SUBNET_ROLES,
    availabilityZones.length,
  );
  const hc = a.healthCheck;
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    throw configError(
      `${K}.healthCheck.timeoutSeconds`,
      `${hc.timeoutSeconds}s is not shorter than the ${hc.intervalSeconds}s interval`,
      "make the timeout smaller than tollgate:inspection.healthCheck.intervalSeconds",
    );
  }
  if (a.tcpIdleTimeoutSeconds !== undefined && a.stickiness !== "5-tuple") {
    throw configError(
      `${K}.tcpIdleTimeoutSeconds`,
      `can only be set with 5-tuple stickiness (stickiness is ${a.stickiness})`,
      "remove tcpIdleTimeoutSeconds or set tollgate:inspection.stickiness to 5-tuple",
    );
  }
  const tcpIdleTimeoutSeconds =
    a.stickiness === "5-tuple"
      ? (a.tcpIdleTimeoutSeconds ?? GWLB_TCP_IDLE_TIMEOUT_SECONDS)
      : undefined;
  return {
    availabilityZones,
    ipv6,
    vpcCidr,
    applianceSubnets: subnets["appliance"]!,
    publicSubnets: subnets["public"]!,
    crossZoneLoadBalancing: a.crossZoneLoadBalancing,
    deletionProtection: a.deletionProtection,
    healthCheck: hc,
    deregistrationDelaySeconds:
      a.deregistrationDelaySeconds ?? drainSecondsFor(tcpIdleTimeoutSeconds),
    stickiness: a.stickiness,
    tcpIdleTimeoutSeconds,
    targetFailover: a.targetFailover,
  };
}

/** AWS target-group stickiness block for a {@link Stickiness}; 5-tuple is "disabled". */
export function stickinessAttribute(s: Stickiness): { enabled: boolean; type: string } {
  switch (s) {
    case "5-tuple":
      return { enabled: false, type: "source_ip_dest_ip_proto" };
    case "3-tuple":
      return { enabled: true, type: "source_ip_dest_ip_proto" };
    case "2-tuple":
      return { enabled: true, type: "source_ip_dest_ip" };
  }
}
