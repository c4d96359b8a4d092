/**
 * The routing topology of a stack, built in one linear pass over the resources.
 *
 * Resources are linked through `propertyDependencies` (the only link available during preview, when
 * ids are unknown) and through ids/ARNs (exported state, offline plans). Every lookup goes through
 * maps built once per run: there are no nested scans, so building and querying is O(resources).
 * The build is the table of steps in kinds.ts (one handler per resource kind) run over a Graph.
 */
import type { PolicyResource } from "@pulumi/policy/policy";
import { Graph } from "./graph";
import { STEPS } from "./kinds";
import type { Topology } from "./nodes";

export * from "./nodes";
export * from "./lookup";
export { labelOf, StackIndex } from "./stack-index";

const topologyCache = new WeakMap<readonly PolicyResource[], Topology>();

/** Builds (or returns the cached) topology for a stack's resources. */
export function topologyOf(resources: readonly PolicyResource[]): Topology {
  const cached = topologyCache.get(resources);
  if (cached) return cached;
  const t = build(resources);
  topologyCache.set(resources, t);
  return t;
}

function build(resources: readonly PolicyResource[]): Topology {
  const g = new Graph(resources);
  for (const step of STEPS) {
    if ("pass" in step) step.pass(g);
    else for (const type of step.types) for (const r of g.ofType(type)) step.each(g, r);
  }
  return g.topology();
}
