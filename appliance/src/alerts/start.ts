/** The daemon's alert pipeline from the resolved config (control-plane.ts starts it). */
import * as path from "node:path";
import type { ApplianceConfig } from "../config/config";
import type { Logger } from "../config/logger";
import { endpointResolver, type FlowTableView } from "./endpoint";
import { AlertService, appendWriter, EVE_FILE_NAME } from "./service";

/** Suricata's EVE log under `suricata.logDir`. */
export function eveFile(config: Pick<ApplianceConfig, "suricata">): string {
  return path.join(config.suricata.logDir, EVE_FILE_NAME);
}

export function startAlerts(
  config: ApplianceConfig,
  logger: Logger,
  flows: FlowTableView | undefined,
): AlertService {
  const eve = eveFile(config);
  const service = new AlertService({
    eveFile: eve,
    alertLog: appendWriter(config.alerts.log),
    resolveEndpoint: endpointResolver(flows),
  });
  service.start();
  logger.info({ eve, alertLog: config.alerts.log }, "following Suricata's EVE log for alerts");
  return service;
}
