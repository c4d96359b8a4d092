import { ConfigError } from "./errors";

/** Where the stack's availability zones come from. */
export interface AvailabilityZoneArgs {
  /** How many AZs to span, taken in order from the region's list. Defaults to 2. */
  readonly azCount?: number;
  /** Explicit AZ names (e.g. `us-east-1a`); overrides `azCount`. Defaults to the first `azCount` of the region. */
  readonly availabilityZones?: readonly string[];
}

/** The AZs the whole stack uses. `regionAzs` is the region's list (from `aws.getAvailabilityZones`). */
export function resolveAvailabilityZones(
  args: AvailabilityZoneArgs,
  region: string,
  regionAzs: readonly string[],
): string[] {
  if (args.availabilityZones !== undefined) {
    const azs = args.availabilityZones;
    if (azs.length === 0) {
      throw new ConfigError(
        "availabilityZones",
        "is empty",
        "list at least one AZ or remove the key to use tollgate:azCount",
      );
    }
    azs.forEach((az, i) => {
      if (!regionAzs.includes(az)) {
        throw new ConfigError(
          `availabilityZones[${i}]`,
          `${az} is not an available AZ of ${region}`,
          `use one of ${regionAzs.join(", ")}`,
        );
      }
      if (azs.indexOf(az) !== i) {
        throw new ConfigError(
          `availabilityZones[${i}]`,
          `${az} is listed twice`,
          "list every AZ once",
        );
      }
    });
    if (args.azCount !== undefined && args.azCount !== azs.length) {
      throw new ConfigError(
        "azCount",
        `is ${args.azCount} but tollgate:availabilityZones lists ${azs.length}`,
        "remove tollgate:azCount or make it match the list",
      );
    }
    return [...azs];
  }
  const count = args.azCount ?? 2;
  if (!Number.isInteger(count) || count < 1) {
    throw new ConfigError("azCount", `${count} is not a whole number of at least 1`, "use 2 or 3");
  }
  if (count > regionAzs.length) {
    throw new ConfigError(
      "azCount",
      `${count} AZs requested but ${region} has only ${regionAzs.length} (${regionAzs.join(", ")})`,
      `set tollgate:azCount to ${regionAzs.length} or less, or deploy to another region`,
    );
  }
  return regionAzs.slice(0, count);
}
