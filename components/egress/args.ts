import { ConfigError } from "../errors";
import { carveSubnets, checkInt, cidrOrDefault } from "../layout";
import { assertDisjoint, Cidr, parseCidr } from "../net";

/** One spoke VPC attached to the Transit Gateway. */
export interface SpokeArgs {
  /** Short name, used in resource names (`[a-z0-9-]`, unique). Required. */
  readonly name: string;
  /** IPv4 CIDR of the spoke VPC; must not overlap any other VPC on the TGW. Required. */
  readonly cidr: string;
  /** Prefix length of the spoke's workload subnets. Defaults to 24. */
  readonly subnetPrefixLength?: number;
}

/** Centralized egress through a Transit Gateway (`tollgate:egress`). */
export interface EgressArgs {
  /** Build the TGW egress topology. Defaults to false. */
  readonly enabled?: boolean;
  /** IPv4 CIDR of the egress hub (inspection) VPC. Defaults to `10.200.0.0/16`. */
  readonly vpcCidr?: string;
  /** Prefix length of the hub's attachment, endpoint and public subnets. Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Private ASN of the Transit Gateway (64512-65534 or 4200000000-4294967294). Defaults to 64512. */
  readonly amazonSideAsn?: number;
  /** Spoke VPCs. Defaults to none. */
  readonly spokes?: readonly SpokeArgs[];
}

export interface ResolvedSpoke {
  readonly name: string;
  readonly cidr: Cidr;
  readonly subnets: readonly Cidr[];
}

export interface ResolvedEgressArgs {
  readonly availabilityZones: readonly string[];
  readonly vpcCidr: Cidr;
  readonly attachmentSubnets: readonly Cidr[];
  readonly endpointSubnets: readonly Cidr[];
  readonly publicSubnets: readonly Cidr[];
  readonly amazonSideAsn: number;
  readonly spokes: readonly ResolvedSpoke[];
}

const K = "egress";

/** Applies the defaults of {@link EgressArgs}, plans every subnet and checks for overlaps. Pure. */
export function resolveEgressArgs(
  args: EgressArgs,
  availabilityZones: readonly string[],
): ResolvedEgressArgs {
  const vpcCidr = cidrOrDefault(`${K}.vpcCidr`, args.vpcCidr, "10.200.0.0/16");
  const s = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    args.subnetPrefixLength ?? 24,
    `${K}.subnetPrefixLength`,
    ["attachment", "endpoint", "public"],
    availabilityZones.length,
  );
  const asn = args.amazonSideAsn ?? 64512;
  if (
    !Number.isInteger(asn) ||
    !((asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294))
  ) {
    throw new ConfigError(
      `${K}.amazonSideAsn`,
      `${asn} is not a private ASN`,
      "use 64512-65534 or 4200000000-4294967294",
    );
  }
  const seen = new Set<string>();
  const spokes = (args.spokes ?? []).map((sp, i): ResolvedSpoke => {
    const k = `${K}.spokes[${i}]`;
    if (sp.name === undefined || sp.name === "")
      throw new ConfigError(`${k}.name`, "is missing", "give the spoke a short name such as app1");
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(sp.name))
      throw new ConfigError(
        `${k}.name`,
        `${JSON.stringify(sp.name)} is not a valid spoke name`,
        "use lowercase letters, digits and -, at most 31 characters",
      );
    if (seen.has(sp.name))
      throw new ConfigError(
        `${k}.name`,
        `${sp.name} is used twice`,
        "give every spoke its own name",
      );
    seen.add(sp.name);
    if (sp.cidr === undefined)
      throw new ConfigError(
        `${k}.cidr`,
        "is missing",
        "set the spoke VPC's CIDR, e.g. 10.10.0.0/16",
      );
    const cidr = parseCidr(`${k}.cidr`, sp.cidr);
    const prefix = checkInt(`${k}.subnetPrefixLength`, sp.subnetPrefixLength ?? 24, 16, 28);
    const sub = carveSubnets(
      cidr,
      `${k}.cidr`,
      prefix,
      `${k}.subnetPrefixLength`,
      ["workload"],
      availabilityZones.length,
    );
    return { name: sp.name, cidr, subnets: sub["workload"]! };
  });
  assertDisjoint([
    { key: `${K}.vpcCidr`, cidr: vpcCidr },
    ...spokes.map((sp, i) => ({ key: `${K}.spokes[${i}].cidr`, cidr: sp.cidr })),
  ]);
  return {
    availabilityZones,
    vpcCidr,
    attachmentSubnets: s["attachment"]!,
    endpointSubnets: s["endpoint"]!,
    publicSubnets: s["public"]!,
    amazonSideAsn: asn,
    spokes,
  };
}
