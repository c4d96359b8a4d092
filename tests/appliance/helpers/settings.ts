/**
 * Resolved settings for tests, from the appliance's own config resolver: lower layers (data
 * path, daemon) have no defaults of their own, so tests start from what `tollgate run` resolves.
 */
import {
  daemonSettings,
  type DaemonSettings,
  type DatapathOptions,
  evaluatorSettings,
  HealthEvaluator,
  type HealthEvaluatorOptions,
  type HealthServerOptions,
  type HookRunnerOptions,
  resolveConfig,
  type RpFilterKeeperOptions,
} from "@tollgate/appliance";

/** What the daemon gets for `tollgate run <argv>` (no argv: the defaults). */
export function testDaemonSettings(argv: readonly string[] = []): DaemonSettings {
  return daemonSettings(resolveConfig(argv));
}

/** Data path options: the resolved defaults, then `over` (seams and the values a test needs). */
export function datapathOptions(over: Partial<DatapathOptions> = {}): DatapathOptions {
  return { ...testDaemonSettings().datapath, ...over };
}

const defaults = () => resolveConfig([]);

/** Health verdict options: the resolved defaults, then `over`. */
export function evaluatorOptions(
  over: Partial<HealthEvaluatorOptions> = {},
): HealthEvaluatorOptions {
  return { ...evaluatorSettings(defaults()), ...over };
}

type Settled = "format" | "detailed" | "evaluator";

/** Health server options: the resolved format, detail and verdict, then `over`. */
export function healthServerOptions(
  over: Omit<HealthServerOptions, Settled> & Partial<Pick<HealthServerOptions, Settled>>,
): HealthServerOptions {
  const c = defaults();
  return {
    format: c.health.format,
    detailed: c.health.detailed,
    evaluator: new HealthEvaluator(evaluatorOptions()),
    ...over,
  };
}

/** Hook runner options: the resolved timeout, then `over`. */
export function hookRunnerOptions(over: Partial<HookRunnerOptions> = {}): HookRunnerOptions {
  return { timeoutMs: defaults().hooks.timeoutSeconds * 1000, ...over };
}

/** rp_filter keeper options: the resolved interval and scope, then `over`. */
export function rpFilterOptions(over: Partial<RpFilterKeeperOptions> = {}): RpFilterKeeperOptions {
  const c = defaults();
  return { intervalMs: c.rpFilter.intervalSeconds * 1000, global: c.rpFilter.global, ...over };
}
