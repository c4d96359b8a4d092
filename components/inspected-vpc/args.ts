import { z } from "zod";
import { configError } from "../errors";
import { carveSubnets } from "../layout";
import { assertDisjoint, Cidr, contains, parseCidr } from "../net";
import { parseWith } from "../schema/parse";
import {
  adoptedEndpointSubnetSchema,
  adoptedSubnetSchema,
  adoptSchema,
  inspectedVpcSchema,
} from "../schema/stack";

/** An existing workload subnet to put behind inspection. */
export type AdoptedSubnetArgs = z.input<typeof adoptedSubnetSchema>;
/** A new GWLB endpoint subnet inside an adopted VPC. */
export type AdoptedEndpointSubnetArgs = z.input<typeof adoptedEndpointSubnetSchema>;
/** Adopt an existing VPC (e.g. from `awsx.ec2.Vpc`) instead of creating one. */
export type AdoptVpcArgs = z.input<typeof adoptSchema>;
/** North-south inspected VPC settings (`tollgate:northSouth`); keys and defaults: {@link inspectedVpcSchema}. */
export type InspectedVpcArgs = z.input<typeof inspectedVpcSchema>;

export interface PlannedWorkloadSubnet {
  /** Existing subnet id (adopt mode) or undefined (created). */
  readonly id?: string;
  readonly cidr: Cidr;
  readonly ipv6Cidr?: string;
  readonly routeTableId?: string;
  /** Stable suffix for resource names: the AZ, or the subnet id in adopt mode. */
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
  readonly vpcId?: string;
  readonly internetGatewayId?: string;
  readonly ipv6CidrBlock?: string;
  readonly azs: readonly PlannedAz[];
}

const K = "northSouth";

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
  const a = parseWith(inspectedVpcSchema, args, K);
  if (a.adopt !== undefined) return resolveAdopt(a.adopt, availabilityZones, ipv6);
  const vpcCidr = parseCidr(`${K}.vpcCidr`, a.vpcCidr);
  const s = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    a.subnetPrefixLength,
    `${K}.subnetPrefixLength`,
    ["workload", "endpoint"],
    availabilityZones.length,
  );
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
  const k = `${K}.adopt`;
  const vpcId = a.vpcId;
  const igw = a.internetGatewayId;
  const vpcCidr = parseCidr(`${k}.vpcCidr`, a.vpcCidr);
  const vpcV6 = ipv6
    ? parseCidr(
        `${k}.ipv6CidrBlock`,
        required(
          `${k}.ipv6CidrBlock`,
          a.ipv6CidrBlock,
          "the VPC's IPv6 block (tollgate:ipv6 is true)",
        ),
        "ipv6",
      )
    : undefined;
  const subnets = a.workloadSubnets;
  const blocks: { key: string; cidr: Cidr }[] = [];
  const v6blocks: { key: string; cidr: Cidr }[] = [];
  const byAz = new Map<string, PlannedWorkloadSubnet[]>();
  subnets.forEach((s, i) => {
    const sk = `${k}.workloadSubnets[${i}]`;
    const id = s.id;
    const az = s.availabilityZone;
    if (!availabilityZones.includes(az)) {
      throw configError(
        `${sk}.availabilityZone`,
        `${az} is not one of the stack's AZs (${availabilityZones.join(", ")})`,
        "add it to tollgate:availabilityZones or raise tollgate:azCount",
      );
    }
    const cidr = parseCidr(`${sk}.cidr`, s.cidr);
    if (!contains(vpcCidr, cidr))
      throw configError(
        `${sk}.cidr`,
        `${cidr.text} is outside the VPC's ${vpcCidr.text}`,
        "give the subnet's real CIDR",
      );
    blocks.push({ key: `${sk}.cidr`, cidr });
    let v6: string | undefined;
    if (ipv6) {
      const c = parseCidr(
        `${sk}.ipv6Cidr`,
        required(`${sk}.ipv6Cidr`, s.ipv6Cidr, "the subnet's IPv6 /64 (tollgate:ipv6 is true)"),
        "ipv6",
      );
      if (!contains(vpcV6!, c))
        throw configError(
          `${sk}.ipv6Cidr`,
          `${c.text} is outside the VPC's ${vpcV6!.text}`,
          "give the subnet's real IPv6 CIDR",
        );
      v6blocks.push({ key: `${sk}.ipv6Cidr`, cidr: c });
      v6 = c.text;
    }
    const list = byAz.get(az) ?? [];
    list.push({ id, cidr, ipv6Cidr: v6, routeTableId: s.routeTableId, label: id });
    byAz.set(az, list);
  });
  const eps = a.endpointSubnets;
  const epByAz = new Map<string, { cidr: Cidr; ipv6Cidr?: string }>();
  eps.forEach((e, i) => {
    const ek = `${k}.endpointSubnets[${i}]`;
    const az = e.availabilityZone;
    if (epByAz.has(az))
      throw configError(
        `${ek}.availabilityZone`,
        `${az} already has an endpoint subnet`,
        "give one endpoint subnet per AZ",
      );
    const cidr = parseCidr(`${ek}.cidr`, e.cidr);
    if (!contains(vpcCidr, cidr))
      throw configError(
        `${ek}.cidr`,
        `${cidr.text} is outside the VPC's ${vpcCidr.text}`,
        "pick a free block inside the VPC CIDR",
      );
    blocks.push({ key: `${ek}.cidr`, cidr });
    let v6: string | undefined;
    if (ipv6) {
      const c = parseCidr(
        `${ek}.ipv6Cidr`,
        required(
          `${ek}.ipv6Cidr`,
          e.ipv6Cidr,
          "a free IPv6 /64 of the VPC (tollgate:ipv6 is true)",
        ),
        "ipv6",
      );
      if (!contains(vpcV6!, c))
        throw configError(
          `${ek}.ipv6Cidr`,
          `${c.text} is outside the VPC's ${vpcV6!.text}`,
          "pick a free /64 of the VPC's IPv6 block",
        );
      v6blocks.push({ key: `${ek}.ipv6Cidr`, cidr: c });
      v6 = c.text;
    }
    epByAz.set(az, { cidr, ipv6Cidr: v6 });
  });
  assertDisjoint(blocks);
  assertDisjoint(v6blocks);
  const azs: PlannedAz[] = [];
  for (const az of availabilityZones) {
    const workloadSubnets = byAz.get(az);
    if (!workloadSubnets) continue;
    const endpointSubnet = epByAz.get(az);
    if (!endpointSubnet) {
      throw configError(
        `${k}.endpointSubnets`,
        `has no subnet in ${az}, where workload subnets ${workloadSubnets.map((w) => w.id).join(", ")} live`,
        `add { availabilityZone: ${az}, cidr: <free /28> }`,
      );
    }
    azs.push({ az, endpointSubnet, workloadSubnets });
  }
  return {
    mode: "adopt",
    ipv6,
    vpcCidr,
    vpcId,
    internetGatewayId: igw,
    ipv6CidrBlock: vpcV6?.text,
    azs,
  };
}
