/**
 * Policy pack configuration, resolved the way the Pulumi CLI does before it configures a pack:
 * `all` and per-policy enforcement levels, schema defaults filled in, values validated.
 */
import type { EnforcementLevel, Policies, Policy, PolicyConfigSchema } from "@pulumi/policy/policy";

export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = [
  "advisory",
  "mandatory",
  "remediate",
  "disabled",
];

/** The `--policy-pack-config` file shape: `{ all?: level, "<policy>": level | { enforcementLevel?, ...props } }`. */
export type PolicyPackConfigInput = Record<string, unknown>;

export interface ResolvedPolicyConfig {
  readonly enforcementLevel: EnforcementLevel;
  readonly properties: Record<string, unknown>;
}

export class PolicyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyConfigError";
  }
}

const isLevel = (v: unknown): v is EnforcementLevel =>
  typeof v === "string" && (ENFORCEMENT_LEVELS as string[]).includes(v);

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  items?: unknown;
  minimum?: number;
  maximum?: number;
  default?: unknown;
};

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "array":
      return Array.isArray(v);
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v);
    case "null":
      return v === null;
    default:
      return true;
  }
}

function check(path: string, schema: JsonSchema, v: unknown): string | undefined {
  const types =
    schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((t) => typeOk(t, v)))
    return `${path} must be ${types.join(" or ")}, got ${JSON.stringify(v)}`;
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    return `${path} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  }
  if (typeof v === "number") {
    if (schema.minimum !== undefined && v < schema.minimum)
      return `${path} must be >= ${schema.minimum}`;
    if (schema.maximum !== undefined && v > schema.maximum)
      return `${path} must be <= ${schema.maximum}`;
  }
  if (
    Array.isArray(v) &&
    schema.items &&
    typeof schema.items === "object" &&
    !Array.isArray(schema.items)
  ) {
    for (let i = 0; i < v.length; i++) {
      const e = check(`${path}[${i}]`, schema.items as JsonSchema, v[i]);
      if (e) return e;
    }
  }
  return undefined;
}

/** Schema defaults of a policy's configSchema. */
export function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema?.properties ?? {})) {
    const d = (s as JsonSchema).default;
    if (d !== undefined) out[k] = structuredClone(d);
  }
  return out;
}

/**
 * Resolves every policy's enforcement level and config properties. Throws PolicyConfigError naming
 * the policy and key on unknown policies, unknown keys, bad levels, wrong types or missing required keys.
 */
export function resolveConfig(
  policies: Policies,
  input: PolicyPackConfigInput | undefined,
  packLevel: EnforcementLevel,
): Map<string, ResolvedPolicyConfig> {
  const cfg = input ?? {};
  const byName = new Map<string, Policy>(policies.map((p) => [p.name, p]));
  for (const k of Object.keys(cfg)) {
    if (k !== "all" && !byName.has(k)) {
      throw new PolicyConfigError(
        `policy config names unknown policy "${k}"; known policies: ${[...byName.keys()].join(", ")}`,
      );
    }
  }
  if (cfg.all !== undefined && !isLevel(cfg.all)) {
    throw new PolicyConfigError(
      `policy config "all" must be one of ${ENFORCEMENT_LEVELS.join(", ")}`,
    );
  }
  const out = new Map<string, ResolvedPolicyConfig>();
  for (const p of policies) {
    const raw = cfg[p.name];
    let level: EnforcementLevel | undefined;
    let props: Record<string, unknown> = {};
    if (typeof raw === "string") {
      if (!isLevel(raw))
        throw new PolicyConfigError(
          `policy config "${p.name}" must be one of ${ENFORCEMENT_LEVELS.join(", ")} or an object`,
        );
      level = raw;
    } else if (raw !== undefined) {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new PolicyConfigError(
          `policy config "${p.name}" must be an enforcement level or an object`,
        );
      }
      const { enforcementLevel, ...rest } = raw as Record<string, unknown>;
      if (enforcementLevel !== undefined && !isLevel(enforcementLevel)) {
        throw new PolicyConfigError(
          `policy config "${p.name}".enforcementLevel must be one of ${ENFORCEMENT_LEVELS.join(", ")}`,
        );
      }
      level = enforcementLevel as EnforcementLevel | undefined;
      props = rest;
    }
    const schema = p.configSchema;
    for (const [k, v] of Object.entries(props)) {
      const s = schema?.properties?.[k] as JsonSchema | undefined;
      if (!s) {
        const known = Object.keys(schema?.properties ?? {});
        throw new PolicyConfigError(
          `policy config "${p.name}" has unknown key "${k}"${known.length ? `; known keys: ${known.join(", ")}` : "; this policy takes no configuration"}`,
        );
      }
      const err = check(`policy config "${p.name}".${k}`, s, v);
      if (err) throw new PolicyConfigError(err);
    }
    const properties = { ...schemaDefaults(schema), ...props };
    for (const req of schema?.required ?? []) {
      if (properties[req] === undefined)
        throw new PolicyConfigError(`policy config "${p.name}" is missing required key "${req}"`);
    }
    out.set(p.name, {
      enforcementLevel:
        level ?? (isLevel(cfg.all) ? cfg.all : undefined) ?? p.enforcementLevel ?? packLevel,
      properties,
    });
  }
  return out;
}
