import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { sameShape } from "../common";
import { collecting, configError, Problems } from "../errors";
import { planVpc } from "../layout";
import { assertDisjoint, Cidr, contains, parseCidr } from "../net";
import { parseInto } from "../schema/parse";
import {
  adoptedEndpointSubnetSchema,
  adoptedSubnetSchema,
  adoptSchema,
  inspectedVpcSchema,
  isAwsId,
} from "../schema/stack";

/**
 * An existing workload subnet to put behind inspection (`tollgate:northSouth.adopt.workloadSubnets`).
 * Ids may be `pulumi.Input`s (e.g. an `awsx.ec2.Vpc`'s subnet ids in the same program); the CIDR
 * and AZ must be plain, because routes and resource names are planned from them before any id is
 * known.
 */
export interface AdoptedSubnetArgs {
  /** The subnet id (`subnet-…`). */
  readonly id: pulumi.Input<string>;
  /** Its IPv4 CIDR. */
  readonly cidr: string;
  /** Its AZ (one of the component's `availabilityZones`). */
  readonly availabilityZone: string;
  /** Its IPv6 /64 (required with `ipv6`). */
  readonly ipv6Cidr?: string;
  /** An existing route table of the subnet to add Tollgate's default routes to; without it Tollgate creates and associates one. */
  readonly routeTableId?: pulumi.Input<string>;
}

/** A new GWLB endpoint subnet inside an adopted VPC (one per AZ of the workload subnets). */
export interface AdoptedEndpointSubnetArgs {
  /** Its AZ. */
  readonly availabilityZone: string;
  /** A free block of the VPC (a /28 is enough). */
  readonly cidr: string;
  /** A free /64 of the VPC's IPv6 block (required with `ipv6`). */
  readonly ipv6Cidr?: string;
}

/** Adopt an existing VPC (e.g. from `awsx.ec2.Vpc`) instead of creating one; keys: {@link adoptSchema}. */
export interface AdoptVpcArgs {
  /** The VPC id (`vpc-…`). */
  readonly vpcId: pulumi.Input<string>;
  /** Its internet gateway (`igw-…`); Tollgate associates a new edge route table with it. */
  readonly internetGatewayId: pulumi.Input<string>;
  /** The VPC's IPv4 CIDR. */
  readonly vpcCidr: string;
  /** The VPC's IPv6 block (required with `ipv6`). */
  readonly ipv6CidrBlock?: string;
  /** Subnets to inspect; several may share an AZ. */
  readonly workloadSubnets: AdoptedSubnetArgs[];
  /** One new endpoint subnet per AZ used by workload subnets. */
  readonly endpointSubnets: AdoptedEndpointSubnetArgs[];
}

/** North-south inspected VPC settings (`tollgate:northSouth`); keys and defaults: {@link inspectedVpcSchema}. */
export interface InspectedVpcArgs {
  /** Build the north-south inspected VPC (stack config only). Defaults to true. */
  readonly enabled?: boolean;
  /** CIDR of a new VPC (ignored with `adopt`). Defaults to `10.1.0.0/16`. */
  readonly vpcCidr?: string;
  /** Length of the workload and endpoint subnets (16-28). Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Adopt an existing VPC instead of creating one. */
  readonly adopt?: AdoptVpcArgs;
}

// The interfaces above and the schema accept the same keys and values (checked at compile time).
sameShape<AdoptedSubnetArgs, z.input<typeof adoptedSubnetSchema>>(true);
sameShape<AdoptedEndpointSubnetArgs, z.input<typeof adoptedEndpointSubnetSchema>>(true);
sameShape<AdoptVpcArgs, z.input<typeof adoptSchema>>(true);
sameShape<InspectedVpcArgs, z.input<typeof inspectedVpcSchema>>(true);

export interface PlannedWorkloadSubnet {
  /** Existing subnet id (adopt mode) or undefined (created). */
  readonly id?: pulumi.Input<string>;
  readonly cidr: Cidr;
  readonly ipv6Cidr?: string;
  readonly routeTableId?: pulumi.Input<string>;
  /**
   * Stable suffix for resource names: the AZ (created); in adopt mode the subnet id when it is a
   * plain string, else `<az>-<n>`, the subnet's position among the adopted subnets of its AZ.
   */
  readonly label: string;
}

export interface PlannedAz {
  readonly az: string;
  readonly endpointSubnet: {
    readonly cidr: Cidr;
    readonly ipv6Cidr?: string;
    readonly ipv6Slot?: number;
  };
  readonly workloadSubnets: readonly PlannedWorkloadSubnet[];
  /** IPv6 /64 slot of the created workload subnet (create mode). */
  readonly workloadIpv6Slot?: number;
}

export interface ResolvedInspectedVpcArgs {
  readonly mode: "create" | "adopt";
  readonly ipv6: boolean;
  readonly vpcCidr: Cidr;
  readonly vpcId?: pulumi.Input<string>;
  readonly internetGatewayId?: pulumi.Input<string>;
  readonly ipv6CidrBlock?: string;
  readonly azs: readonly PlannedAz[];
}

const K = "northSouth";

/**
 * An adopted resource's id: a plain id was checked by the schema; an id still to be resolved (an
 * Output or Promise) is checked when its value is known, failing the deployment with the key.
 */
export function checkedId(
  key: string,
  prefix: string,
  what: string,
  id: pulumi.Input<string>,
): pulumi.Input<string> {
  if (typeof id === "string") return id;
  return pulumi.output(id).apply((v) => {
    if (!isAwsId(prefix, v)) {
      throw configError(
        key,
        `resolved to ${JSON.stringify(v)}, which is not ${what}`,
        `pass the ${prefix}-… id of the resource (its id output)`,
      );
    }
    return v;
  });
}

function required<T>(key: string, value: T | undefined, what: string): T {
  if (value === undefined || value === "") {
    throw configError(key, "is missing", `set it to ${what}`);
  }
  return value;
}

/** Applies the defaults of {@link InspectedVpcArgs}, plans subnets per AZ and validates. Pure. */
export function resolveInspectedVpcArgs(
  args: InspectedVpcArgs,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectedVpcArgs {
  const p = new Problems();
  const a = p.check(() => parseInto(p, inspectedVpcSchema, args, K));
  const resolved =
    a &&
    p.check(() =>
      a.adopt !== undefined
        ? resolveAdopt(a.adopt, availabilityZones, ipv6)
        : plannedCreate(a, availabilityZones, ipv6),
    );
  p.throwIfAny();
  return resolved!;
}

/** The created VPC's plan: workload and endpoint subnet per AZ carved out of `vpcCidr`. */
function plannedCreate(
  a: z.output<typeof inspectedVpcSchema>,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectedVpcArgs {
  const { vpcCidr, subnets: s } = planVpc(K, a, ["workload", "endpoint"], availabilityZones.length);
  return {
    mode: "create",
    ipv6,
    vpcCidr,
    azs: availabilityZones.map((az, i) => ({
      az,
      endpointSubnet: { cidr: s["endpoint"]![i]!, ipv6Slot: 8 + i },
      workloadSubnets: [{ cidr: s["workload"]![i]!, label: az }],
      workloadIpv6Slot: i,
    })),
  };
}

function resolveAdopt(
  a: z.output<typeof adoptSchema>,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectedVpcArgs {
  return collecting((p) => {
    const k = `${K}.adopt`;
    const vpcCidr = p.check(() => parseCidr(`${k}.vpcCidr`, a.vpcCidr));
    const vpcV6 = ipv6
      ? p.check(() =>
          parseCidr(
            `${k}.ipv6CidrBlock`,
            required(
              `${k}.ipv6CidrBlock`,
              a.ipv6CidrBlock,
              "the VPC's IPv6 block (tollgate:ipv6 is true)",
            ),
            "ipv6",
          ),
        )
      : undefined;
    /** A block of the VPC: parsed, inside the VPC's range (checked when that parsed). */
    const inside = (key: string, value: string, outer: Cidr | undefined, fix: string) =>
      p.check(() => {
        const c = parseCidr(key, value, outer?.kind ?? "ipv4");
        if (outer !== undefined && !contains(outer, c))
          throw configError(key, `${c.text} is outside the VPC's ${outer.text}`, fix);
        return c;
      });
    /** The IPv6 block of a subnet when the stack is dual stack (required then). */
    const v6Of = (key: string, value: string | undefined, what: string, fix: string) => {
      if (!ipv6 || vpcV6 === undefined) return undefined;
      const text = p.check(() => required(key, value, `${what} (tollgate:ipv6 is true)`));
      return text === undefined ? undefined : inside(key, text, vpcV6, fix);
    };
    const blocks: { key: string; cidr: Cidr }[] = [];
    const v6blocks: { key: string; cidr: Cidr }[] = [];
    const byAz = new Map<string, PlannedWorkloadSubnet[]>();
    const firstKeyOf = new Map<string, string>();
    const tableAz = new Map<string, { az: string; key: string }>();
    a.workloadSubnets.forEach((s, i) => {
      const sk = `${k}.workloadSubnets[${i}]`;
      const az = s.availabilityZone;
      // Ids known only at deploy (Outputs) cannot be compared here; plain ids are.
      const plainId = typeof s.id === "string" ? s.id : undefined;
      const table = typeof s.routeTableId === "string" ? s.routeTableId : undefined;
      const earlier = plainId === undefined ? undefined : firstKeyOf.get(plainId);
      if (earlier !== undefined) {
        p.add(
          configError(
            `${sk}.id`,
            `${plainId} is listed twice (also tollgate:${earlier})`,
            "list every workload subnet once",
          ),
        );
        return;
      }
      if (plainId !== undefined) firstKeyOf.set(plainId, sk);
      if (!availabilityZones.includes(az)) {
        p.add(
          configError(
            `${sk}.availabilityZone`,
            `${az} is not one of the stack's AZs (${availabilityZones.join(", ")})`,
            "add it to tollgate:availabilityZones or raise tollgate:azCount",
          ),
        );
      }
      if (table !== undefined) {
        const shared = tableAz.get(table);
        if (shared !== undefined) {
          p.add(
            configError(
              `${sk}.routeTableId`,
              shared.az === az
                ? `${table} is also the table of tollgate:${shared.key}: Tollgate adds one default route per subnet, and a table holds only one 0.0.0.0/0`
                : `${table} is also the table of tollgate:${shared.key} in ${shared.az}: its default route can point at only one AZ's GWLB endpoint, so the other AZ's traffic would cross AZs`,
              "give every adopted workload subnet its own route table, or leave routeTableId out so Tollgate creates and associates one",
            ),
          );
        } else {
          tableAz.set(table, { az, key: sk });
        }
      }
      const cidr = inside(`${sk}.cidr`, s.cidr, vpcCidr, "give the subnet's real CIDR");
      if (cidr !== undefined) blocks.push({ key: `${sk}.cidr`, cidr });
      const v6 = v6Of(
        `${sk}.ipv6Cidr`,
        s.ipv6Cidr,
        "the subnet's IPv6 /64",
        "give the subnet's real IPv6 CIDR",
      );
      if (v6 !== undefined) v6blocks.push({ key: `${sk}.ipv6Cidr`, cidr: v6 });
      if (cidr === undefined) return;
      const list = byAz.get(az) ?? [];
      list.push({
        id: checkedId(`${sk}.id`, "subnet", "a subnet id", s.id),
        cidr,
        ipv6Cidr: v6?.text,
        routeTableId:
          s.routeTableId === undefined
            ? undefined
            : checkedId(`${sk}.routeTableId`, "rtb", "a route table id", s.routeTableId),
        label: plainId ?? `${az}-${list.length + 1}`,
      });
      byAz.set(az, list);
    });
    const epByAz = new Map<string, { cidr: Cidr; ipv6Cidr?: string }>();
    a.endpointSubnets.forEach((e, i) => {
      const ek = `${k}.endpointSubnets[${i}]`;
      const az = e.availabilityZone;
      if (epByAz.has(az)) {
        p.add(
          configError(
            `${ek}.availabilityZone`,
            `${az} already has an endpoint subnet`,
            "give one endpoint subnet per AZ",
          ),
        );
        return;
      }
      const cidr = inside(`${ek}.cidr`, e.cidr, vpcCidr, "pick a free block inside the VPC CIDR");
      if (cidr !== undefined) blocks.push({ key: `${ek}.cidr`, cidr });
      const v6 = v6Of(
        `${ek}.ipv6Cidr`,
        e.ipv6Cidr,
        "a free IPv6 /64 of the VPC",
        "pick a free /64 of the VPC's IPv6 block",
      );
      if (v6 !== undefined) v6blocks.push({ key: `${ek}.ipv6Cidr`, cidr: v6 });
      if (cidr !== undefined) epByAz.set(az, { cidr, ipv6Cidr: v6?.text });
    });
    p.check(() => assertDisjoint(blocks));
    p.check(() => assertDisjoint(v6blocks));
    const azs: PlannedAz[] = [];
    for (const az of availabilityZones) {
      const workloadSubnets = byAz.get(az);
      if (!workloadSubnets) continue;
      const endpointSubnet = epByAz.get(az);
      if (!endpointSubnet) {
        if (!a.endpointSubnets.some((e) => e.availabilityZone === az))
          p.add(
            configError(
              `${k}.endpointSubnets`,
              `has no subnet in ${az}, where workload subnets ${workloadSubnets.map((w) => (typeof w.id === "string" ? w.id : w.cidr.text)).join(", ")} live`,
              `add { availabilityZone: ${az}, cidr: <free /28> }`,
            ),
          );
        continue;
      }
      azs.push({ az, endpointSubnet, workloadSubnets });
    }
    p.throwIfAny();
    return {
      mode: "adopt",
      ipv6,
      vpcCidr: vpcCidr!,
      vpcId: checkedId(`${k}.vpcId`, "vpc", "a VPC id", a.vpcId),
      internetGatewayId: checkedId(
        `${k}.internetGatewayId`,
        "igw",
        "an internet gateway id",
        a.internetGatewayId,
      ),
      ipv6CidrBlock: vpcV6?.text,
      azs,
    };
  });
}
