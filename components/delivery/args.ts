import { z } from "zod";
import { parseWith } from "../schema/parse";
import { deliverySchema, DEFAULT_RULES_FILE } from "../schema/stack";

export { DEFAULT_RULES_FILE };

/** Appliance delivery settings (`tollgate:appliance`); keys and defaults: {@link deliverySchema}. */
export type DeliveryArgs = z.input<typeof deliverySchema>;

export type ResolvedDeliveryArgs = Readonly<z.output<typeof deliverySchema>>;

/** Applies every default of {@link DeliveryArgs} and validates it. Pure. */
export function resolveDeliveryArgs(args: DeliveryArgs): ResolvedDeliveryArgs {
  const a = parseWith(deliverySchema, args, "appliance");
  return { ...a, bucketKmsKeyArn: a.bucketKmsKeyArn };
}
