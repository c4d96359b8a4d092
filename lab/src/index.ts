/** Public surface of the Tollgate lab package (see docs/lab.md). */
export {
  DEFAULT_PREFIX as LAB_NAMESPACE_PREFIX,
  planTopology,
  type LabTopology,
} from "./topology/plan";
export {
  runLabSession,
  DEFAULT_RULES_FILE,
  type LabSessionOptions,
  type LabSessionResult,
} from "./session";
export { labUp, labDown, type Lab } from "./orchestrate/lab";
export { teardownLab } from "./orchestrate/teardown";
export { labCommandRunner } from "./topology/commands";
