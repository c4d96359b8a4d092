import { configError } from "./errors";
import { Cidr, parseCidr, subnet } from "./net";

/** Subnet blocks reserved per role, so adding an AZ never renumbers existing subnets. */
export const AZ_SLOTS = 8;

/**
 * Carves one subnet per (role, AZ) out of `vpc`: role `r`, AZ `i` gets block `r * 8 + i` of length
 * `prefixLength`. Throws a {@link ConfigError} on `prefixKey` when the VPC is too small.
 */
export function carveSubnets(
  vpc: Cidr,
  vpcKey: string,
  prefixLength: number,
  prefixKey: string,
  roles: readonly string[],
  azCount: number,
): Record<string, Cidr[]> {
  if (!Number.isInteger(prefixLength) || prefixLength < 16 || prefixLength > 28) {
    throw configError(
      prefixKey,
      `/${prefixLength} is not a valid VPC subnet length`,
      "use a value from 16 to 28, e.g. 24",
    );
  }
  if (azCount > AZ_SLOTS) {
    throw configError(
      "azCount",
      `${azCount} AZs exceed the ${AZ_SLOTS} Tollgate supports`,
      `use at most ${AZ_SLOTS}`,
    );
  }
  const available = prefixLength >= vpc.prefix ? 2 ** (prefixLength - vpc.prefix) : 0;
  const needed = roles.length * AZ_SLOTS;
  if (available < needed) {
    throw configError(
      prefixKey,
      `${vpc.text} holds ${available} subnets of /${prefixLength} but ${needed} are reserved (${roles.length} role${roles.length === 1 ? "" : "s"} x ${AZ_SLOTS} AZ slots)`,
      `use a longer prefix (e.g. /${vpc.prefix + Math.ceil(Math.log2(needed))}) or a larger tollgate:${vpcKey}`,
    );
  }
  const out: Record<string, Cidr[]> = {};
  roles.forEach((role, r) => {
    out[role] = Array.from({ length: azCount }, (_, i) =>
      subnet(vpc, prefixLength, r * AZ_SLOTS + i),
    );
  });
  return out;
}

/** A VPC a section creates: its parsed CIDR and the subnets carved out of it per role. */
export interface PlannedVpc {
  readonly vpcCidr: Cidr;
  readonly subnets: Record<string, Cidr[]>;
}

/**
 * Parses `<section>.vpcCidr` and carves `roles` x `azCount` subnets of
 * `<section>.subnetPrefixLength` out of it ({@link carveSubnets}). Throws a ConfigError naming the key.
 */
export function planVpc(
  section: string,
  a: { readonly vpcCidr: string; readonly subnetPrefixLength: number },
  roles: readonly string[],
  azCount: number,
): PlannedVpc {
  const vpcCidr = parseCidr(`${section}.vpcCidr`, a.vpcCidr);
  const subnets = carveSubnets(
    vpcCidr,
    `${section}.vpcCidr`,
    a.subnetPrefixLength,
    `${section}.subnetPrefixLength`,
    roles,
    azCount,
  );
  return { vpcCidr, subnets };
}
