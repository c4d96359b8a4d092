import { ConfigError } from "@tollgate/appliance";

/**
 * The one configuration error class (the appliance's: a list of problems, one per line). A stack
 * config problem is found before any resource is declared; its message names the `tollgate:`
 * key and says how to fix it, so `pulumi up` and `npm run plan` can print it as is.
 */
export { ConfigError };

/** A {@link ConfigError} for one `tollgate:` key (`key` without the namespace, e.g. `fleet.minSizePerAz`). */
export function configError(key: string, problem: string, fix: string): ConfigError {
  return problemAt(`tollgate:${key}`, problem, fix);
}

/** A {@link ConfigError} for a key of another namespace or a file (`where` is written as is). */
export function problemAt(where: string, problem: string, fix: string): ConfigError {
  return new ConfigError([`${where}: ${problem}. Fix: ${fix}${/[.?!]$/.test(fix) ? "" : "."}`]);
}

/** True for a {@link ConfigError}, also across module copies. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && err.name === "ConfigError" && "problems" in err;
}

/**
 * Collects configuration problems so one run reports all of them: each independent check runs
 * through {@link Problems.check}, which records a {@link ConfigError} instead of stopping, and
 * {@link Problems.throwIfAny} throws them together at the end. Other errors pass through.
 */
export class Problems {
  private readonly list: string[] = [];

  /** Runs `fn`; a ConfigError it throws is recorded and `undefined` returned instead. */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!isConfigError(err)) throw err;
      this.add(err);
      return undefined;
    }
  }

  /** Records every problem of `err` (once each, in order). */
  add(err: ConfigError): void {
    for (const p of err.problems) if (!this.list.includes(p)) this.list.push(p);
  }

  /** The problems recorded so far. */
  get problems(): readonly string[] {
    return this.list;
  }

  /** Throws one {@link ConfigError} with every recorded problem; returns when there is none. */
  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigError([...this.list]);
  }
}

/** Runs `fn` with a fresh {@link Problems}, then throws everything it recorded. */
export function collecting<T>(fn: (p: Problems) => T): T {
  const p = new Problems();
  const out = fn(p);
  p.throwIfAny();
  return out;
}
