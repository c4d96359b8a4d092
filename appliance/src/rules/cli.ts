import type { Command } from "commander";

/** Registers `tollgate rules plan|apply|show` on the appliance CLI. Filled by the rule engine issue. */
export function registerRulesCommands(_program: Command): void {
  // Stub: the rule engine adds its subcommands here.
}
