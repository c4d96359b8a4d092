/** The daemon's Suricata manager from the resolved config (control-plane.ts wires it). */
import type { ApplianceConfig } from "../config/config";
import type { Logger } from "../config/logger";
import { ExecRunner } from "../command";
import { SuricataManager } from "./manager";

/** A manager for the rules file's `suricata:` section; undefined without a rules file. */
export function createSuricataManager(
  config: ApplianceConfig,
  logger: Logger,
): SuricataManager | undefined {
  if (!config.rulesFile) return undefined;
  return new SuricataManager({
    rulesFile: config.rulesFile,
    logDir: config.suricata.logDir,
    runDir: config.suricata.runDir,
    command: config.suricata.command,
    runner: new ExecRunner({ timeoutMs: 120000 }),
    logger: logger.child({ component: "suricata" }),
  });
}
