import { z } from "zod";
import { sameShape } from "../common";
import { configError } from "../errors";
import { carveSubnets } from "../layout";
import { assertDisjoint, Cidr, parseCidr } from "../net";
import { parseWith } from "../schema/parse";
import { egressSchema, spokeSchema } from "../schema/stack";

/** One spoke VPC attached to the Transit Gateway. */
export interface SpokeArgs {
  /** Short name (`[a-z0-9-]`, unique); names the spoke's resources. */
  readonly name: string;
  /** The spoke VPC's CIDR. */
  readonly cidr: string;
  /** Length of its workload subnets (16-28). Defaults to 24. */
  readonly subnetPrefixLength?: number;
}

/** Centralized egress through a Transit Gateway (`tollgate:egress`); keys and defaults: {@link egressSchema}. */
export interface EgressArgs {
  /** Build the TGW egress topology (stack config only). Defaults to false. */
  readonly enabled?: boolean;
  /** Hub (inspection) VPC CIDR. Defaults to `10.200.0.0/16`. */
  readonly vpcCidr?: string;
  /** Length of the hub subnets (16-28). Defaults to 24. */
  readonly subnetPrefixLength?: number;
  /** Private ASN of the Transit Gateway. Defaults to 64512. */
  readonly amazonSideAsn?: number;
  /** Spoke VPCs. Defaults to none. */
  readonly spokes?: SpokeArgs[];
}
sameShape<SpokeArgs, z.input<typeof spokeSchema>>(true);
sameShape<EgressArgs, z.input<typeof egressSchema>>(true);

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
  const a = parseWith(egressSchema, args, K);
  const vpcCidr = parseCidr(`${K}.vpcCidr`, a.vpcCidr);
  const s = carveSubnets(
    vpcCidr,
    `${K}.vpcCidr`,
    a.subnetPrefixLength,
    `${K}.subnetPrefixLength`,
    ["attachment", "endpoint", "public"],
    availabilityZones.length,
  );
  const seen = new Set<string>();
  const spokes = a.spokes.map((sp, i): ResolvedSpoke => {
    const k = `${K}.spokes[${i}]`;
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(sp.name))
      throw configError(
        `${k}.name`,
        `${JSON.stringify(sp.name)} is not a valid spoke name`,
        "use lowercase letters, digits and -, at most 31 characters",
      );
    if (seen.has(sp.name))
      throw configError(`${k}.name`, `${sp.name} is used twice`, "give every spoke its own name");
    seen.add(sp.name);
    const cidr = parseCidr(`${k}.cidr`, sp.cidr);
    const prefix = sp.subnetPrefixLength;
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
    amazonSideAsn: a.amazonSideAsn,
    spokes,
  };
}
