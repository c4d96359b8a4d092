import { ConfigError } from "../errors";
import { carveSubnets, cidrOrDefault } from "../layout";
import { assertDisjoint, Cidr, contains, parseCidr } from "../net";

/** An existing workload subnet to put behind inspection. */
export interface AdoptedSubnetArgs {
  /** Subnet id, e.g. `subnet-0abc...`. Required. */
  readonly id: string;
  /** The subnet's IPv4 CIDR (for the IGW edge route). Required. */
  readonly cidr: string;
  /** The subnet's AZ; must be one of the stack's AZs. Required. */
  readonly availabilityZone: string;
  /** The subnet's IPv6 CIDR. Required when `tollgate:ipv6` is true. */
  readonly ipv6Cidr?: string;
  /**
   * Existing route table of this subnet to add the default route(s) to. Defaults to none: Tollgate
   * creates a route table and associates it (the subnet must then have no explicit association).
   */
  readonly routeTableId?: string;
}

/** A new GWLB endpoint subnet inside an adopted VPC. */
export interface AdoptedEndpointSubnetArgs {
  /** AZ of the endpoint subnet. Required. */
  readonly availabilityZone: string;
  /** Free IPv4 CIDR inside the VPC (a /28 is enough). Required. */
  readonly cidr: string;
  /** Free IPv6 /64 inside the VPC's block. Required when `tollgate:ipv6` is true. */
  readonly ipv6Cidr?: string;
}

/** Adopt an existing VPC (e.g. from `awsx.ec2.Vpc`) instead of creating one. */
export interface AdoptVpcArgs {
  /** VPC id. Required. */
  readonly vpcId: string;
  /** The VPC's internet gateway id. Required. */
  readonly internetGatewayId: string;
  /** The VPC's primary IPv4 CIDR. Required. */
  readonly vpcCidr: string;
  /** The VPC's IPv6 block. Required when `tollgate:ipv6` is true. */
  readonly ipv6CidrBlock?: string;
  /** Workload subnets to inspect. Required, at least one. */
  readonly workloadSubnets: readonly AdoptedSubnetArgs[];
  /** One new endpoint subnet per AZ used by `workloadSubnets`. Required. */
  readonly endpointSubnets: readonly AdoptedEndpointSubnetArgs[];
}

/** North-south inspected VPC settings (`tollgate:northSouth`). */
export interface InspectedVpcArgs {
  /** Build the north-south inspected VPC. Defaults to true. */
  readonly enabled?: boolean;
  /** IPv4 CIDR of the new VPC. Defaults to `10.1.0.0/16`. Ignored with `adopt`. */
  readonly vpcCidr?: string;
  /** Prefix length of its workload and endpoint subnets. Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Adopt an existing VPC. Defaults to none (create a VPC). */
  readonly adopt?: AdoptVpcArgs;
}

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
    throw new ConfigError(key, "is missing", `set it to ${what}`);
  }
  return value;
}

/** Applies the defaults of {@link InspectedVpcArgs}, plans subnets per AZ and validates. Pure. */
export function resolveInspectedVpcArgs(
  args: InspectedVpcArgs,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectedVpcArgs {
  if (args.adopt !== undefined) return resolveAdopt(args.adopt, availabilityZones, ipv6);
  const vpcCidr = cidrOrDefault(`${K}.vpcCidr`, args.vpcCidr, "10.1.0.0/16");
  const s = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    args.subnetPrefixLength ?? 24,
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
  a: AdoptVpcArgs,
  availabilityZones: readonly string[],
  ipv6: boolean,
): ResolvedInspectedVpcArgs {
  const k = `${K}.adopt`;
  const vpcId = required(`${k}.vpcId`, a.vpcId, "the VPC id (vpc-...)");
  if (!/^vpc-[0-9a-f]+$/.test(vpcId))
    throw new ConfigError(
      `${k}.vpcId`,
      `${JSON.stringify(vpcId)} is not a VPC id`,
      "use the id, e.g. vpc-0123456789abcdef0",
    );
  const igw = required(
    `${k}.internetGatewayId`,
    a.internetGatewayId,
    "the VPC's internet gateway id (igw-...)",
  );
  if (!/^igw-[0-9a-f]+$/.test(igw))
    throw new ConfigError(
      `${k}.internetGatewayId`,
      `${JSON.stringify(igw)} is not an internet gateway id`,
      "use the id, e.g. igw-0123456789abcdef0",
    );
  const vpcCidr = parseCidr(
    `${k}.vpcCidr`,
    required(`${k}.vpcCidr`, a.vpcCidr, "the VPC's IPv4 CIDR"),
  );
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
  const subnets = a.workloadSubnets ?? [];
  if (subnets.length === 0)
    throw new ConfigError(
      `${k}.workloadSubnets`,
      "is missing or empty",
      "list the workload subnets to inspect (id, cidr, availabilityZone)",
    );
  const blocks: { key: string; cidr: Cidr }[] = [];
  const v6blocks: { key: string; cidr: Cidr }[] = [];
  const byAz = new Map<string, PlannedWorkloadSubnet[]>();
  subnets.forEach((s, i) => {
    const sk = `${k}.workloadSubnets[${i}]`;
    const id = required(`${sk}.id`, s.id, "the subnet id (subnet-...)");
    if (!/^subnet-[0-9a-f]+$/.test(id))
      throw new ConfigError(
        `${sk}.id`,
        `${JSON.stringify(id)} is not a subnet id`,
        "use the id, e.g. subnet-0123456789abcdef0",
      );
    const az = required(`${sk}.availabilityZone`, s.availabilityZone, "the subnet's AZ");
    if (!availabilityZones.includes(az)) {
      throw new ConfigError(
        `${sk}.availabilityZone`,
        `${az} is not one of the stack's AZs (${availabilityZones.join(", ")})`,
        "add it to tollgate:availabilityZones or raise tollgate:azCount",
      );
    }
    const cidr = parseCidr(`${sk}.cidr`, required(`${sk}.cidr`, s.cidr, "the subnet's IPv4 CIDR"));
    if (!contains(vpcCidr, cidr))
      throw new ConfigError(
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
        throw new ConfigError(
          `${sk}.ipv6Cidr`,
          `${c.text} is outside the VPC's ${vpcV6!.text}`,
          "give the subnet's real IPv6 CIDR",
        );
      v6blocks.push({ key: `${sk}.ipv6Cidr`, cidr: c });
      v6 = c.text;
    }
    if (s.routeTableId !== undefined && !/^rtb-[0-9a-f]+$/.test(s.routeTableId)) {
      throw new ConfigError(
        `${sk}.routeTableId`,
        `${JSON.stringify(s.routeTableId)} is not a route table id`,
        "use the id, e.g. rtb-0123456789abcdef0, or remove the key",
      );
    }
    const list = byAz.get(az) ?? [];
    list.push({ id, cidr, ipv6Cidr: v6, routeTableId: s.routeTableId, label: id });
    byAz.set(az, list);
  });
  const eps = a.endpointSubnets ?? [];
  const epByAz = new Map<string, { cidr: Cidr; ipv6Cidr?: string }>();
  eps.forEach((e, i) => {
    const ek = `${k}.endpointSubnets[${i}]`;
    const az = required(`${ek}.availabilityZone`, e.availabilityZone, "the endpoint subnet's AZ");
    if (epByAz.has(az))
      throw new ConfigError(
        `${ek}.availabilityZone`,
        `${az} already has an endpoint subnet`,
        "give one endpoint subnet per AZ",
      );
    const cidr = parseCidr(
      `${ek}.cidr`,
      required(`${ek}.cidr`, e.cidr, "a free /28 inside the VPC"),
    );
    if (!contains(vpcCidr, cidr))
      throw new ConfigError(
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
        throw new ConfigError(
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
      throw new ConfigError(
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
