import { ec2 } from "@pulumi/aws/types/enums";

/**
 * EC2 instance types and their CPU architecture, offline. The list is @pulumi/aws's
 * `ec2.InstanceType` enum (generated from the AWS API models of the provider version in
 * package.json), so updating @pulumi/aws updates it. The architecture follows AWS's instance type
 * naming (docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html): the family is
 * the part before the dot, and a `g` right after the generation digit means AWS Graviton (arm64):
 * `c7gn`, `m6g`, `t4g`, `im4gn`, `is4gen`; `a1` is the first Graviton. Everything else in the list
 * is x86_64, except the Mac families (macOS on dedicated hosts only: not usable for the fleet) and
 * the Grace-based `p6e-gb200` (arm64).
 */

export type InstanceArchitecture = "x86_64" | "arm64";

/** Every instance type name @pulumi/aws knows. */
export const INSTANCE_TYPES: readonly string[] = Object.values(ec2.InstanceType);

const KNOWN: ReadonlySet<string> = new Set(INSTANCE_TYPES);

/** True when `type` is in {@link INSTANCE_TYPES}. */
export function isKnownInstanceType(type: string): boolean {
  return KNOWN.has(type);
}

/** The family of an instance type: everything before the dot (`c7gn` of `c7gn.large`). */
export function familyOf(type: string): string {
  return type.split(".")[0] ?? type;
}

/** Families the fleet cannot run on, with why. */
function unsupported(family: string): string | undefined {
  return family.startsWith("mac") ? "is a Mac instance (macOS on dedicated hosts only)" : undefined;
}

/**
 * The architecture of an instance type from its family name, or a reason the fleet cannot use it.
 * Pure; does not check that the type exists ({@link isKnownInstanceType}).
 */
export function architectureOf(type: string): InstanceArchitecture | { unsupported: string } {
  const family = familyOf(type);
  const why = unsupported(family);
  if (why !== undefined) return { unsupported: why };
  if (family === "a1" || family === "p6e-gb200" || /^[a-z]+\d+g/.test(family)) return "arm64";
  return "x86_64";
}

/** The default instance type of each architecture (network optimized, 2 vCPUs). */
export const DEFAULT_INSTANCE_TYPES: Readonly<Record<InstanceArchitecture, string>> = {
  x86_64: "c6in.large",
  arm64: "c7gn.large",
};
