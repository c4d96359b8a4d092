import { collecting, configError } from "./errors";
import { parseWith } from "./schema/parse";
import { azCountSchema, DEFAULT_AZ_COUNT, TollgateConfig } from "./schema/stack";

/** Where the stack's availability zones come from (`tollgate:azCount`, `tollgate:availabilityZones`). */
export type AvailabilityZoneArgs = Pick<TollgateConfig, "azCount" | "availabilityZones">;

/** The AZs the whole stack uses. `regionAzs` is the region's list (from `aws.getAvailabilityZones`). */
export function resolveAvailabilityZones(
  args: AvailabilityZoneArgs,
  region: string,
  regionAzs: readonly string[],
): string[] {
  if (args.availabilityZones !== undefined) {
    const azs = args.availabilityZones;
    if (azs.length === 0) {
      throw configError(
        "availabilityZones",
        "is empty",
        "list at least one AZ or remove the key to use tollgate:azCount",
      );
    }
    return collecting((p) => {
      azs.forEach((az, i) => {
        if (!regionAzs.includes(az)) {
          p.add(
            configError(
              `availabilityZones[${i}]`,
              `${az} is not an available AZ of ${region}`,
              `use one of ${regionAzs.join(", ")}`,
            ),
          );
        } else if (azs.indexOf(az) !== i) {
          p.add(
            configError(`availabilityZones[${i}]`, `${az} is listed twice`, "list every AZ once"),
          );
        }
      });
      if (args.azCount !== undefined && args.azCount !== azs.length) {
        p.add(
          configError(
            "azCount",
            `is ${args.azCount} but tollgate:availabilityZones lists ${azs.length}`,
            "remove tollgate:azCount or make it match the list",
          ),
        );
      }
      return [...azs];
    });
  }
  const count = parseWith(azCountSchema.default(DEFAULT_AZ_COUNT), args.azCount, "azCount");
  if (count > regionAzs.length) {
    throw configError(
      "azCount",
      `${count} AZs requested but ${region} has only ${regionAzs.length} (${regionAzs.join(", ")})`,
      `set tollgate:azCount to ${regionAzs.length} or less, or deploy to another region`,
    );
  }
  return regionAzs.slice(0, count);
}
