import { configError } from "./errors";

/** Facts about the target account and region, looked up once by the program. */
export interface AwsContext {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
}

/** Tags for one resource: the stack's tags plus `Name` and the Tollgate component. */
export function tagsFor(
  base: Readonly<Record<string, string>> | undefined,
  name: string,
  component: string,
): Record<string, string> {
  return { ...(base ?? {}), Name: name, "tollgate:component": component };
}

/**
 * Compile-time check that a hand-written args interface `I` (the form Pulumi's schema inference
 * reads) and the schema's input type `S` accept the same keys and values:
 * `sameShape<FleetArgs, z.input<typeof fleetSchema>>(true)` only compiles when they agree.
 */
export function sameShape<I, S>(
  _agree: [I] extends [S]
    ? [S] extends [I]
      ? [keyof I] extends [keyof S]
        ? [keyof S] extends [keyof I]
          ? true
          : never
        : never
      : never
    : never,
): void {}

/**
 * `enabled: false` decides whether the stack program declares a component at all; a component
 * constructed with it would build what it was told not to, so it refuses.
 */
export function refuseDisabled(section: string, enabled: boolean | undefined): void {
  if (enabled === false) {
    throw configError(
      `${section}.enabled`,
      "is false but the component is being constructed",
      "do not construct the component, or remove enabled: false",
    );
  }
}
