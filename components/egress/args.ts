import { z } from "zod";
import { sameShape } from "../common";
import { collecting, configError } from "../errors";
import { carveSubnets, planVpc } from "../layout";
import { assertDisjoint, Cidr, parseCidr } from "../net";
import { parseInto } from "../schema/parse";
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
  return collecting((p) => {
    const a = parseInto(p, egressSchema, args, K);
    const hub = p.check(() =>
      planVpc(K, a, ["attachment", "endpoint", "public"], availabilityZones.length),
    );
    const vpcCidr = hub?.vpcCidr;
    const s = hub?.subnets;
    const seen = new Set<string>();
    const blocks = vpcCidr ? [{ key: `${K}.vpcCidr`, cidr: vpcCidr }] : [];
    const spokes = a.spokes.flatMap((sp, i): ResolvedSpoke[] => {
      const k = `${K}.spokes[${i}]`;
      if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(sp.name))
        p.add(
          configError(
            `${k}.name`,
            `${JSON.stringify(sp.name)} is not a valid spoke name`,
            "use lowercase letters, digits and -, at most 31 characters",
          ),
        );
      else if (seen.has(sp.name))
        p.add(
          configError(`${k}.name`, `${sp.name} is used twice`, "give every spoke its own name"),
        );
      seen.add(sp.name);
      const cidr = p.check(() => parseCidr(`${k}.cidr`, sp.cidr));
      if (cidr === undefined) return [];
      blocks.push({ key: `${k}.cidr`, cidr });
      const sub = p.check(() =>
        carveSubnets(
          cidr,
          `${k}.cidr`,
          sp.subnetPrefixLength,
          `${k}.subnetPrefixLength`,
          ["workload"],
          availabilityZones.length,
        ),
      );
      return sub ? [{ name: sp.name, cidr, subnets: sub["workload"]! }] : [];
    });
    p.check(() => assertDisjoint(blocks));
    p.throwIfAny();
    return {
      availabilityZones,
      vpcCidr: vpcCidr!,
      attachmentSubnets: s!["attachment"]!,
      endpointSubnets: s!["endpoint"]!,
      publicSubnets: s!["public"]!,
      amazonSideAsn: a.amazonSideAsn,
      spokes,
    };
  });
}
