/**
 * Library surface of @tollgate/policy: the policies, the in-process runner, input parsing and
 * formatting. Importing it never starts the policy pack server (that is ./index, the pack entry).
 */
export const POLICY_PACK_NAME = "tollgate";

export * from "./policies";
export { runPolicies, linkStack, hasMandatory } from "./runner/runner";
export type { StateResource, Violation, RunOptions, RunResult, Remediation } from "./runner/runner";
export { resolveConfig, PolicyConfigError, schemaDefaults } from "./runner/config";
export type { PolicyPackConfigInput } from "./runner/config";
export { topologyOf, inspectedSubnets } from "./model/topology";
export { followThePacket, verdictOf } from "./model/follow";
export type { FollowOptions, PathVerdict, SubnetWalk } from "./model/follow";
export type { PacketPath, Problem, PathProblem } from "./model/walk";
export type { Blame } from "./model/blame";
export type * from "./model/nodes";
export { formatPacketWalks, walkedPaths } from "./runner/format";
export type { WalkedPath } from "./runner/format";
export { modelDiagram, stackDiagram, topologyDiagram } from "./runner/diagram";
export { parseCidr } from "./model/cidr";
export { T as RESOURCE_TYPES } from "./model/types";

// Internal modules other workspaces' tests and tools use (explicit, so the surface is visible).
export { run } from "./cli";
export { contains } from "./model/cidr";
export { actionMatches, isReadOnly, parseDocument } from "./policies/iam-document";
