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
