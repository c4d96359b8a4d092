/**
 * @tollgate/components: the Tollgate Pulumi components and the program built from them. This file
 * is the package's only entry point (package.json `main`/`exports`); import from
 * `@tollgate/components`, never from `dist/` paths.
 *
 * - Components (usable from any TypeScript Pulumi program, and through PulumiPlugin.yaml from the
 *   other Pulumi languages): {@link Inspection}, {@link EndpointService}, {@link InspectedVpc},
 *   {@link Egress}, {@link ApplianceDelivery}.
 * - Their pure resolvers (`resolveXArgs`: defaults and validation, errors naming the key and fix).
 * - The whole-stack program (`runStack`, `tollgate`, `resolveTollgate`, `declareTollgate`) the root
 *   Pulumi program runs, the stack config schema and its docs renderer.
 * - The appliance release builder and the user data renderer (used by scripts/ and the tests).
 */
export * from "./common";
export * from "./errors";
export * from "./net";
export * from "./layout";
export * from "./azs";
export * from "./regions";
export * from "./instance-types";
export { checkRulesFile, rulesFileProblems } from "./rules-check";
export * from "./iam";
export * from "./gwlbe";
export * from "./flow-logs";
export * from "./appliance-metric";
export * from "./userdata";
export * from "./suricata";
export * from "./config";
export * from "./schema/stack";
export { int, section } from "./schema/fields";
export { closest } from "./schema/parse";
export { configTables, renderConfigDocs } from "./schema/docs";
export { exampleKnobs, exampleStackFile } from "./schema/example";
export type { ExampleKnob } from "./schema/example";
export * from "./delivery";
export * from "./inspection";
export * from "./endpoint-service";
export * from "./inspected-vpc";
export * from "./egress";
export * from "./program";
export { buildRelease, compilerFor, NODE_RUNTIME, sha256, writeArchive } from "./release";
export type { BuildReleaseOptions, ReleaseArtifact } from "./release";
export { productionClosure } from "./release/lockfile";
export type { Lockfile, LockEntry, LockedPackage } from "./release/lockfile";
export { addonCompileArgs, newestGlibc } from "./release/native";
