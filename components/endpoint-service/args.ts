import { z } from "zod";
import { sameShape } from "../common";
import { collecting, configError } from "../errors";
import { parseWith } from "../schema/parse";
import { endpointServiceSchema } from "../schema/stack";

/** Endpoint service settings (`tollgate:endpointService`); keys and defaults: {@link endpointServiceSchema}. */
export interface EndpointServiceArgs {
  /** Connection requests need acceptance (Tollgate accepts its own endpoints). Defaults to true. */
  readonly acceptanceRequired?: boolean;
  /** Principals allowed to create endpoints. Defaults to this account's root. */
  readonly allowedPrincipals?: string[];
}
sameShape<EndpointServiceArgs, z.input<typeof endpointServiceSchema>>(true);

export interface ResolvedEndpointServiceArgs {
  readonly acceptanceRequired: boolean;
  readonly allowedPrincipals: readonly string[];
  readonly ipv6: boolean;
}

const PRINCIPAL =
  /^arn:aws[a-z-]*:(iam::(\d{12}|\*):(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)|organizations::\d{12}:organization\/o-[a-z0-9]+)$/;

/** Applies the defaults of {@link EndpointServiceArgs} and validates every principal. Pure. */
export function resolveEndpointServiceArgs(
  args: EndpointServiceArgs,
  accountId: string,
  partition: string,
  ipv6: boolean,
): ResolvedEndpointServiceArgs {
  const a = parseWith(endpointServiceSchema, args, "endpointService");
  const allowedPrincipals = a.allowedPrincipals ?? [`arn:${partition}:iam::${accountId}:root`];
  collecting((p) =>
    allowedPrincipals.forEach((arn, i) => {
      if (arn === "*" || !PRINCIPAL.test(arn)) {
        p.add(
          configError(
            `endpointService.allowedPrincipals[${i}]`,
            `${JSON.stringify(arn)} is not an account, role or user ARN`,
            "use e.g. arn:aws:iam::123456789012:root; a bare * would let any AWS account attach endpoints",
          ),
        );
      }
    }),
  );
  return { acceptanceRequired: a.acceptanceRequired, allowedPrincipals, ipv6 };
}
