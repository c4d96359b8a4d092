/**
 * In-process policy runner: applies a pack to a stack's resources the way the Pulumi engine and
 * @pulumi/policy's analyzer server do, without starting a gRPC server or the Pulumi CLI.
 *
 * - per resource, in order: remediations (policies at level "remediate", each seeing the previous
 *   result), then resource validations on the (remediated) inputs;
 * - then stack validations on the outputs, with parent, dependencies and propertyDependencies
 *   linked by URN (dangling URNs dropped);
 * - props wrapped in @pulumi/policy's unknown-checking proxy: reading an unknown value aborts the
 *   policy with an advisory "can't run ... during preview" diagnostic;
 * - messages are "<description>\n<message>", severity and enforcement level as the server reports.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy/policy";
import { tollgatePolicies } from "../policies";
import { nameFromUrn, UNKNOWN_STRING } from "../model/values";
import { PolicyPackConfigInput, resolveConfig, ResolvedPolicyConfig } from "./config";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T extends object>(o: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};

/** One resource of a deployment, as in `pulumi stack export` (deployment v3). */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly id?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
  readonly propertyDependencies?: Record<string, readonly string[]>;
  readonly provider?: string;
  readonly protect?: boolean;
  readonly delete?: boolean;
}

export interface Violation {
  readonly policyName: string;
  readonly policyPackName: string;
  readonly policyPackVersion: string;
  readonly description: string;
  /** "<description>\n<message>", exactly as the engine receives it. */
  readonly message: string;
  /** The policy's own message (without the description). */
  readonly detail: string;
  readonly urn?: string;
  readonly resourceName?: string;
  readonly resourceType?: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly severity?: Severity;
  readonly kind: "resource" | "stack";
}

export interface Remediation {
  readonly policyName: string;
  readonly urn: string;
  readonly properties: Record<string, unknown>;
}

export interface RunOptions {
  readonly policies?: Policies;
  readonly config?: PolicyPackConfigInput;
  readonly packName?: string;
  readonly packVersion?: string;
  /** Pack-wide default enforcement level (PolicyPackArgs.enforcementLevel; engine default advisory). */
  readonly packEnforcementLevel?: EnforcementLevel;
  readonly stackTags?: ReadonlyMap<string, string>;
}

export interface RunResult {
  readonly violations: Violation[];
  readonly notApplicable: { policyName: string; reason?: string }[];
  readonly remediations: Remediation[];
  readonly resourceCount: number;
  /**
   * The run's model: the live resources linked by URN, as the stack policies saw them (the
   * topology built from it is cached, so a diagram drawn from it reuses the run's).
   */
  readonly model: readonly PolicyResource[];
}

class NotApplicableError extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "Policy does not apply");
  }
}
const throwNotApplicable = (reason?: string): never => {
  throw new NotApplicableError(reason);
};

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Deep copy without undefined keys; secrets become their plaintext (or unknown when encrypted). */
function deserialize(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((e) => (e === undefined ? null : deserialize(e)));
  const o = v as Record<string, unknown>;
  if (o[SECRET_SIG] === SECRET_VALUE) {
    if (typeof o.plaintext === "string") {
      try {
        return deserialize(JSON.parse(o.plaintext));
      } catch {
        return o.plaintext;
      }
    }
    return "value" in o ? deserialize(o.value) : UNKNOWN_STRING;
  }
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(o)) if (e !== undefined) out[k] = deserialize(e);
  return out;
}

const options = (r: StateResource): PolicyResourceOptions => ({
  protect: r.protect === true,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
  ...(r.parent ? { parent: r.parent } : {}),
});

/** The provider a resource references (`<provider urn>::<id>`), as the engine describes it to policies. */
function providerOf(
  r: StateResource,
  byUrn: ReadonlyMap<string, StateResource>,
): PolicyProviderResource | undefined {
  if (!r.provider) return undefined;
  const sep = r.provider.lastIndexOf("::");
  const urn = sep > 0 ? r.provider.slice(0, sep) : r.provider;
  const p = byUrn.get(urn);
  if (!p) return undefined;
  return {
    type: p.type,
    props: proxy.unknownCheckingProxy(
      (deserialize(p.inputs ?? p.outputs ?? {}) ?? {}) as Record<string, unknown>,
    ),
    urn,
    name: nameFromUrn(urn),
  };
}

const typeOf = (resourceClass: unknown): string | undefined =>
  (resourceClass as { __pulumiType?: string } | undefined)?.__pulumiType;

/** Applies `opts.policies` (default: the Tollgate pack) to `resources`. */
export async function runPolicies(
  resources: readonly StateResource[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const run = new PolicyRun(resources, opts);
  for (const r of run.live) await run.resource(r);
  await run.stack();
  return run.result();
}

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;
type Props = Record<string, unknown>;
type ResourceArgs = (props: Props, policyName: string) => ResourceValidationArgs;

/** Level a policy reports at, or undefined when disabled ("remediate" reports as mandatory). */
function reportLevel(level: EnforcementLevel): EnforcementLevel | undefined {
  if (level === "disabled") return undefined;
  return level === "remediate" ? "mandatory" : level;
}

/** One run of a pack over a stack: the configuration, and what the policies reported so far. */
class PolicyRun {
  readonly live: readonly StateResource[];
  private readonly resourcePolicies: readonly ResourceValidationPolicy[];
  private readonly stackPolicies: readonly StackValidationPolicy[];
  private readonly packName: string;
  private readonly packVersion: string;
  private readonly config: Map<string, ResolvedPolicyConfig>;
  private readonly stackTags: ReadonlyMap<string, string>;
  private readonly byUrn = new Map<string, StateResource>();
  private readonly violations: Violation[] = [];
  private readonly notApplicable: RunResult["notApplicable"] = [];
  private readonly remediations: Remediation[] = [];
  private linked: PolicyResource[] | undefined;

  constructor(resources: readonly StateResource[], opts: RunOptions) {
    const policies = opts.policies ?? tollgatePolicies;
    this.resourcePolicies = policies.filter(
      (p): p is ResourceValidationPolicy => !("validateStack" in p),
    );
    this.stackPolicies = policies.filter((p): p is StackValidationPolicy => "validateStack" in p);
    this.packName = opts.packName ?? "tollgate";
    this.packVersion = opts.packVersion ?? "0.1.0";
    this.config = resolveConfig(policies, opts.config, opts.packEnforcementLevel ?? "advisory");
    this.stackTags = opts.stackTags ?? new Map<string, string>();
    this.live = resources.filter((r) => r.delete !== true);
    for (const r of this.live) this.byUrn.set(r.urn, r);
  }

  result(): RunResult {
    const { violations, notApplicable, remediations } = this;
    const model = this.model();
    return { violations, notApplicable, remediations, resourceCount: this.live.length, model };
  }

  /** The live resources linked by URN, once per run. */
  private model(): PolicyResource[] {
    return (this.linked ??= linkStack(this.live));
  }

  /** Resource policies on one resource's inputs: remediations first, then validations. */
  async resource(r: StateResource): Promise<void> {
    const args = this.resourceArgs(r);
    const inputs = proxy.unknownCheckingProxy(
      (deserialize(r.inputs ?? {}) ?? {}) as Record<string, unknown>,
    );
    const props = await this.remediate(r, inputs, args);
    await this.validate(r, props, args);
  }

  /** What a resource policy is called with, given the props and the policy (for its config). */
  private resourceArgs(r: StateResource): ResourceArgs {
    const name = nameFromUrn(r.urn);
    const provider = providerOf(r, this.byUrn);
    return (props, policyName) => ({
      type: r.type,
      urn: r.urn,
      name,
      opts: options(r),
      ...(provider ? { provider } : {}),
      stackTags: this.stackTags,
      isType: (cls) => typeOf(cls) === r.type,
      asType: ((cls: unknown) =>
        typeOf(cls) === r.type ? props : undefined) as ResourceValidationArgs["asType"],
      getConfig: <T extends object>() => structuredClone(this.cfgOf(policyName).properties) as T,
      notApplicable: throwNotApplicable,
      props,
    });
  }

  /** Policies at level "remediate", in order, each seeing the previous one's result. */
  private async remediate(r: StateResource, props: Props, args: ResourceArgs): Promise<Props> {
    for (const p of this.resourcePolicies) {
      if (this.cfgOf(p.name).enforcementLevel !== "remediate" || !p.remediateResource) continue;
      const t = typeOf(p.remediateResource);
      if (t && t !== r.type) continue;
      try {
        const result = await Promise.resolve(p.remediateResource(args(props, p.name)));
        if (result) {
          this.remediations.push({
            policyName: p.name,
            urn: r.urn,
            properties: result as Record<string, unknown>,
          });
          props = proxy.unknownCheckingProxy(deserialize(result) as Record<string, unknown>);
        }
      } catch (e) {
        this.settle(e, p, "resource", r.urn);
      }
    }
    return props;
  }

  /** Resource validations on the (remediated) props. */
  private async validate(r: StateResource, props: Props, args: ResourceArgs): Promise<void> {
    for (const p of this.resourcePolicies) {
      const level = reportLevel(this.cfgOf(p.name).enforcementLevel);
      if (!level || !p.validateResource) continue;
      if (!Array.isArray(p.validateResource)) {
        const t = typeOf(p.validateResource);
        if (t && t !== r.type) continue;
      }
      const validations = Array.isArray(p.validateResource)
        ? p.validateResource
        : [p.validateResource];
      const report = this.reporter(p, level, "resource", r.urn);
      for (const v of validations) {
        try {
          await Promise.resolve(v(args(props, p.name), report));
        } catch (e) {
          this.settle(e, p, "resource", r.urn, "Error validating resource with");
        }
      }
    }
  }

  /** Stack policies on the outputs, resources linked by URN. */
  async stack(): Promise<void> {
    if (this.stackPolicies.length === 0) return;
    const resources = this.model();
    for (const p of this.stackPolicies) {
      const level = reportLevel(this.cfgOf(p.name).enforcementLevel);
      if (!level) continue;
      const t = typeOf(p.validateStack);
      if (t && !this.live.some((r) => r.type === t)) {
        this.notApplicable.push({
          policyName: p.name,
          reason: `Policy only applies to resources of type '${t}'`,
        });
        continue;
      }
      const args: StackValidationArgs = {
        resources,
        stackTags: this.stackTags,
        getConfig: <T extends object>() => structuredClone(this.cfgOf(p.name).properties) as T,
        notApplicable: throwNotApplicable,
      };
      try {
        await Promise.resolve(p.validateStack(args, this.reporter(p, level, "stack", undefined)));
      } catch (e) {
        this.settle(e, p, "stack", undefined, "Error validating stack with");
      }
    }
  }

  private cfgOf(name: string): ResolvedPolicyConfig {
    return this.config.get(name) as ResolvedPolicyConfig;
  }

  private policyFrom(kind: string, name: string): string {
    return `${kind} '${name}' from policy pack '${this.packName}@v${this.packVersion}'`;
  }

  /** Where a violation points: the pack, and the resource when there is one. */
  private at(urn: string | undefined) {
    return {
      policyPackName: this.packName,
      policyPackVersion: this.packVersion,
      urn,
      resourceName: urn ? nameFromUrn(urn) : undefined,
      resourceType: urn ? this.byUrn.get(urn)?.type : undefined,
    };
  }

  /**
   * What a policy's throw means: "not applicable" and an unknown value (preview) are reported;
   * anything else fails the run (wrapped with `failure` naming the policy, when given).
   */
  private settle(
    e: unknown,
    p: AnyPolicy,
    kind: Violation["kind"],
    urn: string | undefined,
    failure?: string,
  ): void {
    if (e instanceof NotApplicableError) {
      this.notApplicable.push({ policyName: p.name, reason: e.reason });
    } else if (e instanceof proxy.UnknownValueError) {
      const { policyPackName, policyPackVersion, resourceName, resourceType } = this.at(urn);
      this.violations.push({
        policyName: p.name,
        policyPackName,
        policyPackVersion,
        description: p.description,
        message: `can't run ${this.policyFrom("policy", p.name)} during preview: ${e.message}`,
        detail: e.message,
        urn,
        resourceName,
        resourceType,
        enforcementLevel: "advisory",
        severity: p.severity,
        kind,
      });
    } else if (failure) {
      throw new Error(`${failure} ${this.policyFrom("policy", p.name)}: ${(e as Error).message}`, {
        cause: e,
      });
    } else {
      throw e;
    }
  }

  /** The `reportViolation` a policy gets: a message, or a violation object overriding fields. */
  private reporter(
    p: AnyPolicy,
    level: EnforcementLevel,
    kind: Violation["kind"],
    fixedUrn: string | undefined,
  ): ReportViolation {
    return ((message: string | Record<string, unknown>, urn?: string) => {
      const target = fixedUrn ?? urn;
      const base = { ...this.at(target), kind };
      if (typeof message === "object" && message !== null) {
        const info = message;
        const description = String(info.description ?? p.description);
        this.violations.push({
          ...base,
          policyName: String(info.name ?? p.name),
          description,
          message: String(info.message ?? info.description ?? p.description),
          detail: String(info.message ?? ""),
          urn: (info.urn as string | undefined) ?? target,
          enforcementLevel: (info.enforcementLevel as EnforcementLevel | undefined) ?? level,
          severity: (info.severity as Severity | undefined) ?? p.severity,
        });
        return;
      }
      this.violations.push({
        ...base,
        policyName: p.name,
        description: p.description,
        message: message ? `${p.description}\n${message}` : p.description,
        detail: message ?? "",
        enforcementLevel: level,
        severity: p.severity,
      });
    }) as ReportViolation;
  }
}

/** Builds the engine's PolicyResource list: outputs behind the unknown proxy, links by URN. */
export function linkStack(resources: readonly StateResource[]): PolicyResource[] {
  const states = new Map(resources.map((r) => [r.urn, r]));
  const map = new Map<string, PolicyResource>();
  const out: PolicyResource[] = [];
  for (const r of resources) {
    const outputs = (deserialize(r.outputs ?? {}) ?? {}) as Record<string, unknown>;
    // Bridged providers always carry `id` in outputs; plans and some exports keep it top-level only.
    if (r.id !== undefined && r.id !== "" && outputs.id === undefined) outputs.id = r.id;
    const props = proxy.unknownCheckingProxy(outputs);
    const type = r.type;
    const res: PolicyResource = {
      type,
      props,
      urn: r.urn,
      name: nameFromUrn(r.urn),
      opts: options(r),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => typeOf(cls) === type,
      asType: ((cls: unknown) =>
        typeOf(cls) === type ? props : undefined) as PolicyResource["asType"],
    };
    const provider = providerOf(r, states);
    if (provider) res.provider = provider;
    map.set(r.urn, res);
    out.push(res);
  }
  resources.forEach((r, i) => {
    const res = out[i] as PolicyResource;
    if (r.parent) {
      const parent = map.get(r.parent);
      if (parent) res.parent = parent;
    }
    res.dependencies = (r.dependencies ?? [])
      .map((u) => map.get(u))
      .filter((d): d is PolicyResource => d !== undefined);
    for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
      res.propertyDependencies[k] = urns
        .map((u) => map.get(u))
        .filter((d): d is PolicyResource => d !== undefined);
    }
  });
  return out;
}

/** True when a run has violations at the mandatory level. */
export function hasMandatory(result: RunResult): boolean {
  return result.violations.some((v) => v.enforcementLevel === "mandatory");
}
