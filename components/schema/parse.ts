import { z } from "zod";
import { ConfigError, configError, Problems } from "../errors";
import { ON_PARENT, splitMessage, unwrap } from "./fields";

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
};
const defOf = (s: z.ZodType): Def => (unwrap(s) as unknown as { def: Def }).def;

/**
 * Brings raw config values into the shapes the schema expects, the way Pulumi stores them:
 * numbers and booleans as strings, objects and lists as JSON text, numbers where a string is
 * meant, null for "unset". Throws a {@link ConfigError} for JSON text that does not parse.
 */
export function fromPulumiForms(schema: z.ZodType, value: unknown, key: string): unknown {
  if (value === null) return undefined;
  const def = defOf(schema);
  switch (def.type) {
    case "number":
      return typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))
        ? Number(value)
        : value;
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    case "string":
    case "enum":
      return typeof value === "number" ? String(value) : value;
    case "object": {
      const v = jsonText(value, key);
      if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
      const shape = def.shape ?? {};
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .map(([k, x]) => [k, shape[k] ? fromPulumiForms(shape[k], x, keyOf(key, [k])) : x])
          .filter(([, x]) => x !== undefined),
      );
    }
    case "array": {
      const v = jsonText(value, key);
      // List items are taken as written (a number in a list of strings is an error).
      return Array.isArray(v) && def.element && defOf(def.element).type !== "string"
        ? v.map((x, i) => fromPulumiForms(def.element!, x, keyOf(key, [i])))
        : v;
    }
    case "record": {
      const v = jsonText(value, key);
      return typeof v === "object" && v !== null && !Array.isArray(v) && def.valueType
        ? Object.fromEntries(
            Object.entries(v).map(([k, x]) => [k, fromPulumiForms(def.valueType!, x, key)]),
          )
        : v;
    }
    default:
      return value;
  }
}

function jsonText(value: unknown, key: string): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw configError(key, "is not valid JSON", "check the brackets and quotes of the value");
  }
}

/**
 * The keys of `args` that belong to the section `schema` (components receive their section's args
 * together with what the program supplies, e.g. `availabilityZones`).
 */
export function sectionArgs(schema: z.ZodObject, args: object): Record<string, unknown> {
  const all = args as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(schema.shape)
      .filter((k) => all[k] !== undefined)
      .map((k) => [k, all[k]]),
  );
}

/** The schema of the value at `path` below `schema` (undefined when the path leaves it). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const p of path) {
    if (s === undefined) return undefined;
    const def = defOf(s);
    s =
      def.type === "object"
        ? def.shape?.[String(p)]
        : def.type === "array"
          ? def.element
          : undefined;
  }
  return s;
}

/** Levenshtein-closest candidate within distance 3 (case-insensitive), for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      }
    }
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = 4;
  for (const c of candidates) {
    const dd = dist(word, c);
    if (dd < bestD) {
      best = c;
      bestD = dd;
    }
  }
  return best;
}

/** `a.b[0].c` from a base key and a zod path. */
export function keyOf(base: string, path: readonly PropertyKey[]): string {
  let k = base;
  for (const p of path) {
    k = typeof p === "number" ? `${k}[${p}]` : k ? `${k}.${String(p)}` : String(p);
  }
  return k;
}

/** Keys that were replaced, by full key (without `tollgate:`), with the fix naming the replacement. */
export type RetiredKeys = Readonly<Record<string, string>>;

/**
 * Every problem of one zod run as {@link ConfigError}s naming the full key: unknown and retired
 * keys first (a typo often explains the other problems), then the rest in schema order.
 */
export function configErrors(
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
  base: string,
  retired: RetiredKeys,
): ConfigError[] {
  const keys: ConfigError[] = [];
  const values: ConfigError[] = [];
  for (const iss of issues) {
    if (iss.code === "unrecognized_keys") {
      const def = defOf(schemaAt(schema, iss.path) ?? schema);
      const allowed = Object.keys(def.shape ?? {});
      for (const k of iss.keys) {
        const key = keyOf(base, [...iss.path, k]);
        const fix = retired[key];
        if (fix !== undefined) {
          keys.push(configError(key, "is no longer a setting", fix));
          continue;
        }
        const near = closest(k, allowed);
        keys.push(
          configError(
            key,
            "is not a known setting",
            near
              ? `did you mean tollgate:${keyOf(base, [...iss.path, near])}`
              : `use one of ${allowed.join(", ")} (see docs/configuration.md)`,
          ),
        );
      }
      continue;
    }
    const onParent = iss.message.startsWith(ON_PARENT);
    const path = onParent ? iss.path.slice(0, -1) : iss.path;
    const { problem, fix } = splitMessage(onParent ? iss.message.slice(1) : iss.message);
    values.push(configError(keyOf(base, path), problem, fix));
  }
  return [...keys, ...values];
}

/**
 * Parses `value` (typed args or raw config) with `schema`; `base` is the key of the section
 * (`fleet`, or "" for the whole config). Throws one {@link ConfigError} listing every problem.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  base: string,
  retired: RetiredKeys = {},
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = configErrors(schema, r.error.issues, base, retired).flatMap((e) => e.problems);
  throw problems.length > 0
    ? new ConfigError(problems)
    : configError(base || "config", "is not valid", "see docs/configuration.md");
}

/** `value` without the entry at `path` (a copy; unchanged when the path does not exist). */
function without(value: unknown, path: readonly PropertyKey[]): unknown {
  if (path.length === 0 || value === null || typeof value !== "object") return undefined;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<PropertyKey, unknown>;
  if (!(head! in copy)) return value;
  if (rest.length === 0) delete copy[head!];
  else copy[head!] = without(copy[head!], rest);
  return copy;
}

/**
 * Parses like {@link parseWith} but records every problem in `p` instead of throwing at once, and
 * then parses again without the values that failed (they take their defaults), so the checks across
 * keys still run on the rest and their problems are reported in the same run. Throws (everything
 * recorded in `p`) only when no valid remainder exists, e.g. a required key is missing.
 */
export function parseInto<S extends z.ZodType>(
  p: Problems,
  schema: S,
  value: unknown,
  base: string,
  retired: RetiredKeys = {},
): z.output<S> {
  let r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const e of configErrors(schema, r.error.issues, base, retired)) p.add(e);
  let v = value;
  for (let attempt = 0; attempt < 4 && !r.success; attempt++) {
    for (const iss of r.error.issues) {
      const paths =
        iss.code === "unrecognized_keys" ? iss.keys.map((k) => [...iss.path, k]) : [iss.path];
      for (const path of paths) v = without(v, path);
    }
    r = schema.safeParse(v);
  }
  if (r.success) return r.data;
  p.throwIfAny();
  throw configError(base || "config", "is not valid", "see docs/configuration.md");
}
