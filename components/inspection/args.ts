import { ConfigError } from "../errors";
import { carveSubnets, checkInt, cidrOrDefault } from "../layout";
import { Cidr } from "../net";
import {
  GENEVE_PORT,
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "@tollgate/appliance";

/** GWLB flow stickiness: 5-tuple (AWS default), 3-tuple or 2-tuple. */
export type Stickiness = "5-tuple" | "3-tuple" | "2-tuple";
/** What the GWLB does with existing flows when a target deregisters or turns unhealthy. */
export type TargetFailover = "rebalance" | "no_rebalance";

/** The HTTP health check the GWLB runs against every appliance. */
export interface HealthCheckArgs {
  /** TCP port of the appliance's HTTP health endpoint (never 6081). Defaults to 8080. */
  readonly port?: number;
  /** Path of the health endpoint. Defaults to `/healthz`. */
  readonly path?: string;
  /** Seconds between checks (5-300). Defaults to 10. */
  readonly intervalSeconds?: number;
  /** Seconds before a check counts as failed (2-120, below the interval). Defaults to 5. */
  readonly timeoutSeconds?: number;
  /** Successes before a target is healthy (2-10). Defaults to 3. */
  readonly healthyThreshold?: number;
  /** Failures before a target is unhealthy (2-10). Defaults to 3. */
  readonly unhealthyThreshold?: number;
}

/** Inspection VPC + Gateway Load Balancer settings (`tollgate:inspection`). */
export interface InspectionArgs {
  /** IPv4 CIDR of the inspection (appliance) VPC. Defaults to `10.100.0.0/16`. */
  readonly vpcCidr?: string;
  /** Prefix length of each appliance/public subnet. Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Cross-zone load balancing on the GWLB. Defaults to false (AWS default: flows stay in their AZ). */
  readonly crossZoneLoadBalancing?: boolean;
  /** Deletion protection on the GWLB. Defaults to false. */
  readonly deletionProtection?: boolean;
  /** Appliance health check. Defaults: see {@link HealthCheckArgs}. */
  readonly healthCheck?: HealthCheckArgs;
  /**
   * Seconds the GWLB drains a deregistering target (0-3600) before the Auto Scaling group may
   * terminate it. Defaults to the longest flow idle timeout: the TCP idle timeout (350 s unless
   * `tcpIdleTimeoutSeconds` says otherwise), at least the 120 s of non-TCP flows, at most 3600.
   */
  readonly deregistrationDelaySeconds?: number;
  /** Flow stickiness. Defaults to `5-tuple`. */
  readonly stickiness?: Stickiness;
  /** Listener TCP idle timeout, seconds (60-6000; only with 5-tuple stickiness). Defaults to 350. */
  readonly tcpIdleTimeoutSeconds?: number;
  /** Target failover for both deregistration and unhealthy targets (always equal). Defaults to `rebalance`. */
  readonly targetFailover?: TargetFailover;
}

export interface ResolvedHealthCheck {
  readonly port: number;
  readonly path: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

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

/** Longest deregistration delay a target group accepts. */
export const MAX_DEREGISTRATION_DELAY_SECONDS = 3600;

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
  const vpcCidr = cidrOrDefault(`${K}.vpcCidr`, args.vpcCidr, "10.100.0.0/16");
  const subnets = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    args.subnetPrefixLength ?? 24,
    `${K}.subnetPrefixLength`,
    INSPECTION_SUBNET_ROLES,
    availabilityZones.length,
  );
  const hc = args.healthCheck ?? {};
  const port = checkInt(`${K}.healthCheck.port`, hc.port ?? 8080, 1, 65535);
  if (port === GENEVE_PORT) {
    throw new ConfigError(
      `${K}.healthCheck.port`,
      "6081 is the GENEVE data port; the health check must use the appliance's HTTP health port",
      "use the appliance's health port, e.g. 8080",
    );
  }
  const path = hc.path ?? "/healthz";
  if (!path.startsWith("/") || path.length > 1024) {
    throw new ConfigError(
      `${K}.healthCheck.path`,
      `${JSON.stringify(path)} is not an HTTP path`,
      "start it with /, e.g. /healthz",
    );
  }
  const intervalSeconds = checkInt(
    `${K}.healthCheck.intervalSeconds`,
    hc.intervalSeconds ?? 10,
    5,
    300,
  );
  const timeoutSeconds = checkInt(
    `${K}.healthCheck.timeoutSeconds`,
    hc.timeoutSeconds ?? 5,
    2,
    120,
  );
  if (timeoutSeconds >= intervalSeconds) {
    throw new ConfigError(
      `${K}.healthCheck.timeoutSeconds`,
      `${timeoutSeconds}s is not shorter than the ${intervalSeconds}s interval`,
      "make the timeout smaller than tollgate:inspection.healthCheck.intervalSeconds",
    );
  }
  const stickiness = args.stickiness ?? "5-tuple";
  if (args.tcpIdleTimeoutSeconds !== undefined && stickiness !== "5-tuple") {
    throw new ConfigError(
      `${K}.tcpIdleTimeoutSeconds`,
      `can only be set with 5-tuple stickiness (stickiness is ${stickiness})`,
      "remove tcpIdleTimeoutSeconds or set tollgate:inspection.stickiness to 5-tuple",
    );
  }
  const tcpIdleTimeoutSeconds =
    stickiness === "5-tuple"
      ? checkInt(
          `${K}.tcpIdleTimeoutSeconds`,
          args.tcpIdleTimeoutSeconds ?? GWLB_TCP_IDLE_TIMEOUT_SECONDS,
          60,
          6000,
        )
      : undefined;
  return {
    availabilityZones,
    ipv6,
    vpcCidr,
    applianceSubnets: subnets["appliance"]!,
    publicSubnets: subnets["public"]!,
    crossZoneLoadBalancing: args.crossZoneLoadBalancing ?? false,
    deletionProtection: args.deletionProtection ?? false,
    healthCheck: {
      port,
      path,
      intervalSeconds,
      timeoutSeconds,
      healthyThreshold: checkInt(
        `${K}.healthCheck.healthyThreshold`,
        hc.healthyThreshold ?? 3,
        2,
        10,
      ),
      unhealthyThreshold: checkInt(
        `${K}.healthCheck.unhealthyThreshold`,
        hc.unhealthyThreshold ?? 3,
        2,
        10,
      ),
    },
    deregistrationDelaySeconds: checkInt(
      `${K}.deregistrationDelaySeconds`,
      args.deregistrationDelaySeconds ?? drainSecondsFor(tcpIdleTimeoutSeconds),
      0,
      MAX_DEREGISTRATION_DELAY_SECONDS,
    ),
    stickiness,
    tcpIdleTimeoutSeconds,
    targetFailover: args.targetFailover ?? "rebalance",
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
