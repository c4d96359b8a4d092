/**
 * A configuration problem found before any resource is declared. The message always names the
 * `tollgate:` config key and says how to fix it, so `pulumi up` and `npm run plan` can print it as is.
 */
export class ConfigError extends Error {
  /** The config key path, e.g. `fleet.minSizePerAz` (without the `tollgate:` namespace). */
  readonly key: string;

  constructor(key: string, problem: string, fix: string) {
    super(`tollgate:${key}: ${problem}. Fix: ${fix}.`);
    this.name = "ConfigError";
    this.key = key;
  }
}

/** True for a {@link ConfigError}, also across module copies. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && err.name === "ConfigError" && "key" in err;
}
