import type { DeploymentV3, ResourceV3 } from "../../scripts/capture";
import { PassThrough } from "stream";
import { captureStack, EXAMPLE_CONFIGS } from "../../scripts/capture";
import { runPlan } from "../../scripts/plan";

/** Query helpers over a captured deployment. */
export class Stack {
  readonly resources: readonly ResourceV3[];
  constructor(readonly dep: DeploymentV3) {
    this.resources = dep.deployment.resources;
  }

  ofType(type: string): ResourceV3[] {
    return this.resources.filter((r) => r.type === type);
  }

  named(name: string): ResourceV3 {
    const r = this.resources.find((x) => x.urn.endsWith(`::${name}`));
    if (!r) throw new Error(`no resource named ${name}`);
    return r;
  }

  maybeNamed(name: string): ResourceV3 | undefined {
    return this.resources.find((x) => x.urn.endsWith(`::${name}`));
  }

  byId(id: string): ResourceV3 | undefined {
    return this.resources.find((r) => r.custom && r.id === id);
  }

  input<T = string>(r: ResourceV3, key: string): T {
    return r.inputs[key] as T;
  }

  /** Routes of a route table id. */
  routes(routeTableId: string): ResourceV3[] {
    return this.ofType("aws:ec2/route:Route").filter((r) => r.inputs.routeTableId === routeTableId);
  }

  /** Route table associated with a subnet id. */
  routeTableOfSubnet(subnetId: string): string | undefined {
    const a = this.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation").find(
      (x) => x.inputs.subnetId === subnetId,
    );
    return a?.inputs.routeTableId as string | undefined;
  }

  /** AZ of the subnet a GWLB endpoint / NAT gateway lives in. */
  azOfSubnet(subnetId: string): string | undefined {
    return this.byId(subnetId)?.inputs.availabilityZone as string | undefined;
  }

  endpointAz(vpceId: string): string | undefined {
    const ep = this.byId(vpceId);
    const subnets = ep?.inputs.subnetIds as string[] | undefined;
    return subnets && subnets.length === 1 ? this.azOfSubnet(subnets[0]!) : undefined;
  }

  component(type: string): ResourceV3 {
    const r = this.ofType(type)[0];
    if (!r) throw new Error(`no component ${type}`);
    return r;
  }
}

const cache = new Map<string, Promise<Stack>>();

/** Captures an example config once per test run. */
export function example(name: string): Promise<Stack> {
  const config = EXAMPLE_CONFIGS[name];
  if (!config) throw new Error(`no example ${name}`);
  let p = cache.get(name);
  if (!p) {
    p = captureStack({ config }).then((d) => new Stack(d));
    cache.set(name, p);
  }
  return p;
}

export async function capture(config: Record<string, unknown>): Promise<Stack> {
  return new Stack(await captureStack({ config }));
}

export const MUTATING_PREFIXES = [
  "Put",
  "Create",
  "Delete",
  "Update",
  "Attach",
  "Detach",
  "Modify",
  "Set",
  "Add",
  "Remove",
  "Send",
  "Start",
  "Stop",
  "Terminate",
  "Run",
  "Pass",
  "Tag",
  "Untag",
  "Replace",
  "Associate",
  "Disassociate",
  "Restore",
  "Write",
  "Upload",
  "Copy",
  "Abort",
  "Enable",
  "Disable",
  "Reboot",
  "Revoke",
  "Authorize",
];

/** True when an IAM action can change something (by verb prefix, `*` wildcards count as mutating). */
export function isMutatingAction(action: string): boolean {
  const verb = action.split(":")[1] ?? action;
  return verb.includes("*") || MUTATING_PREFIXES.some((p) => verb.startsWith(p));
}

/** Runs `npm run plan` in process with `args`; its exit code, stdout and stderr. */
export async function plan(
  args: string[],
  capture?: Parameters<typeof runPlan>[3],
): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = "";
  let e = "";
  out.on("data", (d: Buffer) => (o += d.toString()));
  err.on("data", (d: Buffer) => (e += d.toString()));
  const code = await runPlan(args, out, err, capture);
  return { code, out: o, err: e };
}
