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

// Internal modules other workspaces' tests and tools use (explicit, so the surface is visible).
export { httpProbe, tcpProbe, udpProbe, udpStreamProbe } from "./agent/probes";
export { plainAddress } from "./agent/server";
export { controlJson, controlRequest, serveControl, TextReply, waitForControl } from "./control";
export { blockedPorts, effectiveRules, expectVerdict, type ProbeSpec } from "./demo/expect";
export { flowOf } from "./demo/flows";
export {
  failoverLossBound,
  judgeFailover,
  judgeHttp,
  judgePing,
  judgeTcp,
  judgeUdp,
} from "./demo/judge";
export { Balancer, parseFailoverMode } from "./emulator/balancer";
export { type EmulatorStatus, type FlowView, parseEmulatorConfig } from "./emulator/config";
export { EmulatorCore, routable } from "./emulator/core";
export { FlowTable } from "./emulator/flow-table";
export { flowKey, type FlowTuple, fnv1a, parseHashMode, pickTarget } from "./emulator/hash";
export {
  DEFAULT_HEALTH,
  parseMatcher,
  resolveHealthSettings,
  TargetHealth,
} from "./emulator/health";
export { HealthMonitor, type HealthTarget, httpHealthProbe } from "./emulator/health-monitor";
export { gatherFacts, type PreflightFacts, preflightProblems } from "./orchestrate/preflight";
export { defaultPaths, emulatorConfig, execArgv, processSpecs } from "./orchestrate/processes";
export {
  labNamespacePattern,
  listLabNamespaces,
  type ProcessControl,
  realProcessControl,
  teardownOrder,
} from "./orchestrate/teardown";
export { namespaceDeleteCommands, setupSteps, tunSteps } from "./topology/commands";
export { allNamespaces, vpceName } from "./topology/plan";
export {
  findFlow,
  formatCounters,
  formatFollowThePacket,
  type TraceSnapshot,
} from "./trace/format";
export { parsePrometheus, summarizeMetrics, total } from "./trace/metrics";
export { applianceFiles, labRulesFile, selfSignedCertificate } from "./orchestrate/suricata";
