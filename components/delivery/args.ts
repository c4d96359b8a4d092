import { z } from "zod";
import { sameShape } from "../common";
import { parseWith } from "../schema/parse";
import { deliverySchema, DEFAULT_RULES_FILE } from "../schema/stack";

export { DEFAULT_RULES_FILE };

/** Appliance delivery settings (`tollgate:appliance`); keys and defaults: {@link deliverySchema}. */
export interface DeliveryArgs {
  /** The appliance workspace built into the release. Defaults to `appliance`. */
  readonly packageDir?: string;
  /** Rules file delivered with the release. Defaults to `examples/rules/default.yaml`. */
  readonly rulesFile?: string;
  /** SSE-KMS key of the delivery bucket. Defaults to SSE-S3. */
  readonly bucketKmsKeyArn?: string;
  /** Let `pulumi destroy` remove the bucket with its objects. Defaults to false. */
  readonly forceDestroyBucket?: boolean;
}
sameShape<DeliveryArgs, z.input<typeof deliverySchema>>(true);

export type ResolvedDeliveryArgs = Readonly<z.output<typeof deliverySchema>>;

/** Applies every default of {@link DeliveryArgs} and validates it. Pure. */
export function resolveDeliveryArgs(args: DeliveryArgs): ResolvedDeliveryArgs {
  const a = parseWith(deliverySchema, args, "appliance");
  return { ...a, bucketKmsKeyArn: a.bucketKmsKeyArn };
}
