import { z } from "zod";
import { sameShape } from "../common";
import { Stickiness, TargetFailover } from "../schema/enums";
import { collecting, configError } from "../errors";
import { planVpc } from "../layout";
import { Cidr } from "../net";
import { parseInto } from "../schema/parse";
import {
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "@tollgate/appliance";
import {
  healthCheckSchema,
  inspectionSchema,
  MAX_DEREGISTRATION_DELAY_SECONDS,
} from "../schema/stack";

export { Stickiness, TargetFailover };

/** The HTTP health check the GWLB runs against every appliance; keys and defaults: {@link healthCheckSchema}. */
export interface HealthCheckArgs {
  /** The appliance's HTTP health port (never 6081). Defaults to 8080. */
  readonly port?: number;
  /** HTTP path. Defaults to `/healthz`. */
  readonly path?: string;
  /** Seconds between checks. Defaults to 10. */
  readonly intervalSeconds?: number;
  /** Seconds before a check fails (below the interval). Defaults to 5. */
  readonly timeoutSeconds?: number;
  /** Successes before healthy. Defaults to 3. */
  readonly healthyThreshold?: number;
  /** Failures before unhealthy. Defaults to 3. */
  readonly unhealthyThreshold?: number;
}

/** Inspection VPC + Gateway Load Balancer settings (`tollgate:inspection`); keys and defaults: {@link inspectionSchema}. */
export interface InspectionArgs {
  /** Inspection (appliance) VPC CIDR. Defaults to `10.100.0.0/16`. */
  readonly vpcCidr?: string;
  /** Length of each appliance/public subnet (16-28). Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Cross-zone load balancing on the GWLB. Defaults to false. */
  readonly crossZoneLoadBalancing?: boolean;
  /** GWLB deletion protection. Defaults to false. */
  readonly deletionProtection?: boolean;
  /** The GWLB's health check of the appliances. */
  readonly healthCheck?: HealthCheckArgs;
  /** Drain time of a deregistering appliance. Defaults to the flow idle timeout (120-3600). */
  readonly deregistrationDelaySeconds?: number;
  /** Flow stickiness. Defaults to `5-tuple`. */
  readonly stickiness?: Stickiness;
  /** Listener TCP idle timeout (5-tuple only). Defaults to 350. */
  readonly tcpIdleTimeoutSeconds?: number;
  /** Existing flows on deregistration or unhealthy target. Defaults to `rebalance`. */
  readonly targetFailover?: TargetFailover;
}
sameShape<HealthCheckArgs, z.input<typeof healthCheckSchema>>(true);
sameShape<InspectionArgs, z.input<typeof inspectionSchema>>(true);

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
  return collecting((p) => {
    const a = parseInto(p, inspectionSchema, args, K);
    const vpc = p.check(() => planVpc(K, a, INSPECTION_SUBNET_ROLES, availabilityZones.length));
    const hc = a.healthCheck;
    if (hc.timeoutSeconds >= hc.intervalSeconds) {
      p.add(
        configError(
          `${K}.healthCheck.timeoutSeconds`,
          `${hc.timeoutSeconds}s is not shorter than the ${hc.intervalSeconds}s interval`,
          "make the timeout smaller than tollgate:inspection.healthCheck.intervalSeconds",
        ),
      );
    }
    if (a.tcpIdleTimeoutSeconds !== undefined && a.stickiness !== "5-tuple") {
      p.add(
        configError(
          `${K}.tcpIdleTimeoutSeconds`,
          `can only be set with 5-tuple stickiness (stickiness is ${a.stickiness})`,
          "remove tcpIdleTimeoutSeconds or set tollgate:inspection.stickiness to 5-tuple",
        ),
      );
    }
    const tcpIdleTimeoutSeconds =
      a.stickiness === "5-tuple"
        ? (a.tcpIdleTimeoutSeconds ?? GWLB_TCP_IDLE_TIMEOUT_SECONDS)
        : undefined;
    p.throwIfAny();
    return {
      availabilityZones,
      ipv6,
      vpcCidr: vpc!.vpcCidr,
      applianceSubnets: vpc!.subnets["appliance"]!,
      publicSubnets: vpc!.subnets["public"]!,
      crossZoneLoadBalancing: a.crossZoneLoadBalancing,
      deletionProtection: a.deletionProtection,
      healthCheck: hc,
      deregistrationDelaySeconds:
        a.deregistrationDelaySeconds ?? drainSecondsFor(tcpIdleTimeoutSeconds),
      stickiness: a.stickiness,
      tcpIdleTimeoutSeconds,
      targetFailover: a.targetFailover,
    };
  });
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
