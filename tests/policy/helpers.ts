/** Shared helpers for the policy tests: captured deployments, mutations, preview simulation. */
import { captureStack, DeploymentV3, EXAMPLE_CONFIGS, ResourceV3 } from "../../scripts/capture";
import { runPolicies, RunResult, StateResource } from "@tollgate/policy";

export { EXAMPLE_CONFIGS };
export type { DeploymentV3, ResourceV3 };

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const cache = new Map<string, DeploymentV3>();

/** Captures (once per process) the program for an example configuration. */
export async function captured(config: string, preview = false): Promise<DeploymentV3> {
  const key = `${config}|${preview}`;
  let d = cache.get(key);
  if (!d) {
    const cfg = EXAMPLE_CONFIGS[config];
    if (!cfg) throw new Error(`no example config ${config}`);
    d = await captureStack({ config: cfg, preview });
    cache.set(key, d);
  }
  return structuredClone(d);
}

export const nameOf = (r: ResourceV3): string => r.urn.slice(r.urn.lastIndexOf("::") + 2);

/** The resource named exactly `name` (throws with the known names otherwise). */
export function res(d: DeploymentV3, name: string): ResourceV3 {
  const r = d.deployment.resources.find((x) => nameOf(x) === name);
  if (!r) {
    throw new Error(`no resource ${name}; have ${d.deployment.resources.map(nameOf).join(", ")}`);
  }
  return r;
}

/** Sets a property in both inputs and outputs (resource policies read inputs, stack policies outputs). */
export function setProp(r: ResourceV3, key: string, value: unknown): void {
  for (const bag of [r.inputs, r.outputs]) {
    if (value === undefined) delete bag[key];
    else bag[key] = structuredClone(value);
  }
}

const TARGET_KEYS = [
  "vpcEndpointId",
  "gatewayId",
  "natGatewayId",
  "transitGatewayId",
  "networkInterfaceId",
  "egressOnlyGatewayId",
];

/** Points a Route at another resource (by id and property dependency), clearing its old target. */
export function retarget(route: ResourceV3, key: string, target: ResourceV3 | string): void {
  for (const k of TARGET_KEYS) {
    setProp(route, k, undefined);
    if (route.propertyDependencies) delete route.propertyDependencies[k];
  }
  if (typeof target === "string") {
    setProp(route, key, target);
    return;
  }
  setProp(route, key, target.id ?? target.outputs.id);
  route.propertyDependencies = { ...(route.propertyDependencies ?? {}), [key]: [target.urn] };
  route.dependencies = [...(route.dependencies ?? []), target.urn];
}

/**
 * Adds a resource next to `sibling` (same parent and stack), with `props` in inputs and outputs and
 * each `refs` entry (property -> resources) recorded as a property dependency and its id/ARN value.
 */
export function addResource(
  d: DeploymentV3,
  sibling: ResourceV3,
  type: string,
  name: string,
  props: Record<string, unknown>,
  refs: Record<string, { res: ResourceV3; value?: "id" | "arn" | "ids" | "arns" }> = {},
): ResourceV3 {
  const urn = `${sibling.urn.slice(0, sibling.urn.lastIndexOf("::", sibling.urn.lastIndexOf("::") - 1))}::${type}::${name}`;
  const id = `${name}-id`;
  const r: ResourceV3 = {
    urn,
    custom: true,
    id,
    type,
    inputs: structuredClone(props),
    outputs: { ...structuredClone(props), id, arn: `arn:aws:test:::${name}` },
    parent: sibling.parent,
    dependencies: [],
    propertyDependencies: {},
  };
  for (const [key, { res: target, value = "id" }] of Object.entries(refs)) {
    const v = value.startsWith("arn") ? target.outputs.arn : (target.id ?? target.outputs.id);
    const set = value.endsWith("s") ? [v] : v;
    r.inputs[key] = set;
    r.outputs[key] = set;
    r.propertyDependencies![key] = [target.urn];
    r.dependencies!.push(target.urn);
  }
  d.deployment.resources.push(r);
  return r;
}

/**
 * Adds a managed prefix list `name` holding `cidr` to the VPC of `table`, and a Route in `table`
 * from that list to `target` (by `targetKey`, e.g. gatewayId or vpcEndpointId).
 */
export function addPrefixListRoute(
  d: DeploymentV3,
  name: string,
  cidr: string,
  table: ResourceV3,
  targetKey: string,
  target: ResourceV3,
): ResourceV3 {
  const pl = addResource(d, table, "aws:ec2/managedPrefixList:ManagedPrefixList", name, {
    addressFamily: "IPv4",
    maxEntries: 1,
    entries: [{ cidr }],
  });
  return addResource(
    d,
    table,
    "aws:ec2/route:Route",
    `${name}-route`,
    {},
    {
      routeTableId: { res: table },
      destinationPrefixListId: { res: pl },
      [targetKey]: { res: target },
    },
  );
}

/** Points `from.props[key]` at `to` (by id or ARN and property dependency). */
export function relink(
  from: ResourceV3,
  key: string,
  to: ResourceV3,
  value: "id" | "arn" | "arns" = "id",
): void {
  const v = value.startsWith("arn") ? to.outputs.arn : (to.id ?? to.outputs.id);
  setProp(from, key, value === "arns" ? [v] : v);
  from.propertyDependencies = { ...(from.propertyDependencies ?? {}), [key]: [to.urn] };
}

/** Removes resources by name. */
export function remove(d: DeploymentV3, ...names: string[]): void {
  d.deployment.resources = d.deployment.resources.filter((r) => !names.includes(nameOf(r)));
}

/** Adds a Route resource next to an existing route table. */
export function addRoute(
  d: DeploymentV3,
  name: string,
  table: ResourceV3,
  dest: Record<string, string>,
  key: string,
  target: ResourceV3,
): ResourceV3 {
  const urn = table.urn.replace(
    /aws:ec2\/routeTable:RouteTable::.*$/,
    `aws:ec2/route:Route::${name}`,
  );
  const r: ResourceV3 = {
    urn,
    custom: true,
    id: `r-${name}`,
    type: "aws:ec2/route:Route",
    inputs: { ...dest, routeTableId: table.id ?? "" },
    outputs: { ...dest, routeTableId: table.id ?? "", id: `r-${name}` },
    parent: table.parent,
    dependencies: [table.urn],
    propertyDependencies: { routeTableId: [table.urn] },
  };
  retarget(r, key, target);
  d.deployment.resources.push(r);
  return r;
}

/**
 * Simulates `pulumi preview` of a new stack: every id and ARN is unknown, so resources can only be
 * linked through propertyDependencies.
 */
export function unknownIds(d: DeploymentV3): DeploymentV3 {
  const ids = new Set<string>();
  for (const r of d.deployment.resources) {
    if (!r.custom) continue;
    for (const v of [r.id, r.outputs.id, r.outputs.arn]) if (typeof v === "string" && v) ids.add(v);
  }
  const scrub = (v: unknown): unknown => {
    if (typeof v === "string") return ids.has(v) ? UNKNOWN : v;
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) out[k] = scrub(e);
      return out;
    }
    return v;
  };
  const copy = structuredClone(d);
  for (const r of copy.deployment.resources) {
    if (!r.custom) continue;
    delete r.id;
    r.inputs = scrub(r.inputs) as Record<string, unknown>;
    r.outputs = scrub(r.outputs) as Record<string, unknown>;
    r.outputs.id = UNKNOWN;
    if ("arn" in r.outputs) r.outputs.arn = UNKNOWN;
  }
  return copy;
}

/**
 * Simulates `pulumi preview` further: on top of unknown ids, every Amazon-assigned IPv6 block (VPC,
 * subnets, and routes whose IPv6 destination is computed from another resource) is unknown.
 */
export function unknownComputed(d: DeploymentV3): DeploymentV3 {
  const copy = unknownIds(d);
  for (const r of copy.deployment.resources) {
    const t = r.type;
    if (t === "aws:ec2/vpc:Vpc" || t === "aws:ec2/subnet:Subnet") {
      for (const bag of [r.inputs, r.outputs])
        if (
          typeof bag.ipv6CidrBlock === "string" &&
          (t === "aws:ec2/vpc:Vpc" || r.propertyDependencies?.ipv6CidrBlock?.length)
        )
          bag.ipv6CidrBlock = UNKNOWN;
    }
    if (t === "aws:ec2/route:Route" && r.propertyDependencies?.destinationIpv6CidrBlock?.length) {
      r.inputs.destinationIpv6CidrBlock = UNKNOWN;
      r.outputs.destinationIpv6CidrBlock = UNKNOWN;
    }
  }
  return copy;
}

export async function check(d: DeploymentV3, config?: Record<string, unknown>): Promise<RunResult> {
  return runPolicies(d.deployment.resources as unknown as StateResource[], { config });
}

/** One line per violation, for assertion messages. */
export function show(r: RunResult): string {
  return (
    r.violations
      .map((v) => `${v.policyName} @ ${v.resourceName ?? "(stack)"}: ${v.detail}`)
      .join("\n") || "(none)"
  );
}
