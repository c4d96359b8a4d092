/** Public surface of the Tollgate appliance package. Filled by the appliance issues. */
export * from "./protocol";
export * from "./geneve/codec";
export * from "./naming";
export * from "./packet/parse";
export * from "./packet/checksum";
export * from "./packet/build";
export * from "./flow/key";
export * from "./flow/table";
export * from "./flow/records";
export * from "./hooks/split";
export * from "./hooks/runner";
export * from "./sysctl/rp-filter";
export * from "./health/status";
export * from "./health/evaluate";
export * from "./health/server";
export * from "./metrics/registry";
export * from "./config/config";
export * from "./config/schema";
export * from "./config/docs";
export * from "./config/resolve";
export * from "./config/options";
export * from "./config/control-plane";
export * from "./config/logger";
export * from "./command";
export * from "./rules/protocols";
export { parseRules, type LoadedRules, type LoadResult } from "./rules/parse";
/**
 * The rules file's one validation pass (what `tollgate rules check` runs, and the stack at
 * `npm run plan` / `pulumi preview`): `validateRulesFile(text, { file })` returns every problem at
 * once, each with file, line, col, path, message and fix (`formatProblem` prints one line).
 */
export {
  SAMPLE_ENDPOINT_KEY,
  validateRulesFile,
  type RulesValidation,
  type RulesValidationOptions,
} from "./rules/validate";
export { didYouMean, formatProblem, type RulesProblem } from "./rules/problems";
export { RulesEngine } from "./rules/engine";
export { compileRules } from "./rules/compile";
export { bothDirections, REPLY_FIELDS, replyOf, type ReplyTable } from "./rules/reply";
export {
  CONFIG_FILE_NAME,
  homeNet,
  planSuricata,
  RULES_FILE_NAME,
  SOCKET_FILE_NAME,
  type RuleFileText,
  type SuricataPaths,
  type SuricataPlan,
} from "./suricata/render";
export { domainRules } from "./suricata/domains";
export { INSPECTION_JUMP, MONITOR_LINK } from "./suricata/inspect";
export {
  boundQueues,
  monitorLinkCommands,
  SuricataManager,
  suricataHealth,
  type SuricataManagerOptions,
  type SuricataRuntimeStatus,
} from "./suricata/manager";
export { Supervisor, type ChildLike, type SpawnFn } from "./suricata/supervisor";
export { sendSignal, stopLeftover, type ProcessTable } from "./suricata/leftover";
export { registerSuricataMetrics } from "./suricata/metrics";
export { suricataCommand } from "./suricata/socket";
export { MINIMAL_CAPABILITIES, type EndpointRef } from "./rules/model";
export { trafficSchema, type Rule, type TrafficMatch } from "./rules/schema";
export { NATIVE_ADDON_PATH } from "./io/native";
export * from "./yaml-location";
export {
  ALERT_ACTIONS,
  type Alert,
  alertLogLine,
  decodeEveLine,
  ENDPOINT_FIELD,
  type EveLine,
} from "./alerts/eve";
export { alertsCommand, formatAlert, readAlerts } from "./alerts/cli";
export {
  AlertCounts,
  BoundedLabels,
  MAX_ENDPOINT_LABELS,
  MAX_SIGNATURE_LABELS,
  OTHER_LABEL,
  UNKNOWN_ENDPOINT,
} from "./alerts/counts";
export {
  endpointOfFlow,
  endpointOfInterface,
  endpointResolver,
  type FlowTableView,
  vpceName,
} from "./alerts/endpoint";
export { type FollowerFs, LogFollower, nodeFollowerFs } from "./alerts/follower";
export { registerAlertMetrics } from "./alerts/metrics";
export { RecentAlerts } from "./alerts/recent";
export { AlertService, appendWriter, EVE_FILE_NAME, type LineWriter } from "./alerts/service";
export { eveFile } from "./alerts/start";

// Internal modules other workspaces' tests and tools use (explicit, so the surface is visible).
export { buildCanary, CANARY_PORT, canaryNonce, hasCanarySignature } from "./canary";
export { buildProgram, runProgram, type RunningDaemon, type StartDaemon } from "./cli";
export { compileSourceAllowList, ipv4CidrProblem, sourceAllowed } from "./config/cidr";
export { daemonSettings, type DaemonSettings, startDaemon } from "./daemon";
export { type DaemonOptions, type DaemonStatus, startDatapathDaemon } from "./daemon/daemon";
export {
  LISTEN_FDS_START,
  STATE_FD_NAME,
  fdName,
  fdStoreLimit,
  fdStoreMessage,
  listenFds,
  parseFdName,
  parseState,
  planAdoption,
  type Adoption,
  type AdoptedEndpoint,
  type FdRole,
  type FdStore,
  type HandoverState,
  type NamedFd,
} from "./daemon/fdstore";
export { CanaryProber, CanaryState, canaryStatus } from "./datapath/canary";
export { DATAPATH_DROP_REASONS, type DatapathCounters, totalDrops } from "./datapath/counters";
export { type Endpoint } from "./datapath/endpoints";
export { Datapath, type DatapathOptions, RX_SLOT } from "./datapath/datapath";
export { type DatapathPort, type TunLike } from "./datapath/port";
export {
  BPF_OBJECT_PATH,
  BPF_PIN_ROOT,
  FLOW_KEY_BYTES,
  FLOW_VALUE_BYTES,
  KernelCounter,
  kernelFlowKey,
  LoadedKernelPath,
  REUSED_MAPS,
  discoverUplinks,
  type KernelCanaryProbe,
  type KernelFlow,
  type KernelPath,
  type KernelPathStatus,
  type Uplink,
} from "./datapath/kernel";
export {
  BPF_COUNT_OBJECT_PATH,
  KernelFlowAccounting,
  type KernelFlowStatus,
  type MapElementCounter,
  openMapElementCounter,
} from "./datapath/kernel-flows";
export {
  CANARY_GWLB_MAC,
  canaryDatagram,
  encapsulatedCanary,
  forwardedCanary,
  type KernelCanarySpec,
} from "./datapath/kernel-canary";
export { type EndpointInfo, type EndpointListener } from "./endpoint-lifecycle";
export {
  type DatapathBuffers,
  PORT_LAYOUT,
  RAW_HEADER_ROOM,
  Result,
  RX_TRUNCATED,
  RxMeta,
  TxMeta,
} from "./io/layout";
export { loadNative, type NativeAddon, type NativeDatapath } from "./io/native";
export { type Watch, watchReadable } from "./io/poll";
export { TunDevice } from "./io/tun";
export { icmpErrorQuoteOffset } from "./packet/icmp-error";
export { detectCapabilities, parseCapabilities } from "./rules/capabilities";
export { registerRulesCommands } from "./rules/cli";
export { ApplyError, normaliseRule, stateFileForNetns } from "./rules/engine";
export { finalizeRestore, ipsetRollback, restoreDocument } from "./rules/finalize";
export { withApplyLock } from "./rules/lock";
export { createRulesListener } from "./rules/listener";
export { foreignRules, parseIptablesSave } from "./rules/live";
export { canonicalCidr, expandMatches } from "./rules/matches";
export { type Capabilities, TABLES } from "./rules/model";
export { resolveEndpointKey } from "./rules/parse";
export { checkRulesReadiness } from "./rules/readiness";
export { rangeToMasks } from "./rules/tc";
export { endpointsNeedingUplink, resolveUplink, uplinkFromRoutes } from "./rules/uplink";
