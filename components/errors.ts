import { ConfigError } from "@tollgate/appliance";

/**
 * The one configuration error class (the appliance's: a list of problems, one per line). A stack
 * config problem is found before any resource is declared; its message names the `tollgate:`
 * key and says how to fix it, so `pulumi up` and `npm run plan` can print it as is.
 */
export { ConfigError };

/** A {@link ConfigError} for one `tollgate:` key (`key` without the namespace, e.g. `fleet.minSizePerAz`). */
export function configError(key: string, problem: string, fix: string): ConfigError {
  return new ConfigError([`tollgate:${key}: ${problem}. Fix: ${fix}.`]);
}

/** True for a {@link ConfigError}, also across module copies. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && err.name === "ConfigError" && "problems" in err;
}
