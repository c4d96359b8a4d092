/**
 * The appliance's resolved configuration: its type and defaults come from the settings table
 * (schema.ts); resolve.ts merges the command line and the YAML file into it.
 */
export { DEFAULT_CONFIG, LOG_LEVELS, type ApplianceConfig, type LogLevel } from "./schema";
