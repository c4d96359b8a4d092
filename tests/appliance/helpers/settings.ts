/**
 * Resolved settings for tests, from the appliance's own config resolver: lower layers (data
 * path, daemon) have no defaults of their own, so tests start from what `tollgate run` resolves.
 */
import { resolveConfig } from "@tollgate/appliance/dist/config/resolve";
import type { DatapathOptions } from "@tollgate/appliance/dist/datapath/datapath";
import { daemonSettings, type DaemonSettings } from "@tollgate/appliance/dist/daemon/index";

/** What the daemon gets for `tollgate run <argv>` (no argv: the defaults). */
export function testDaemonSettings(argv: readonly string[] = []): DaemonSettings {
  return daemonSettings(resolveConfig(argv));
}

/** Data path options: the resolved defaults, then `over` (seams and the values a test needs). */
export function datapathOptions(over: Partial<DatapathOptions> = {}): DatapathOptions {
  return { ...testDaemonSettings().datapath, ...over };
}
