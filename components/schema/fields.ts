import { z } from "zod";

/**
 * Building blocks of the stack config schema (components/schema/stack.ts). Every field carries
 * its own error messages (what is wrong and the fix) and its documentation (`.meta()`), so the
 * types, defaults, ranges, messages and the docs table all come from one declaration.
 */

/** Documentation of one key: the docs table's columns (type and default are derived when unset). */
export interface FieldDoc {
  /** The "Meaning" column (markdown). */
  readonly doc: string;
  /** The "Type" column when the schema's own kind says too little (e.g. `CIDR`). */
  readonly type?: string;
  /** The "Default" column when the default is not a plain `.default()` value. */
  readonly default?: string;
}

/** Separates problem and fix inside a zod issue message (turned into a ConfigError later). */
const SEP = "\u0000";

/** An issue message: what is wrong and the fix (see {@link splitMessage}). */
export function message(problem: string, fix: string): string {
  return `${problem}${SEP}${fix}`;
}

/** The problem and fix of a message built by {@link message}; other texts have a generic fix. */
export function splitMessage(text: string): { problem: string; fix: string } {
  const at = text.indexOf(SEP);
  return at < 0
    ? { problem: text, fix: "see docs/configuration.md" }
    : { problem: text.slice(0, at), fix: text.slice(at + SEP.length) };
}

/** How a value appears in a message: `null`, `a list`, or its type and JSON. */
export function describeValue(value: unknown): string {
  return value === null
    ? "null"
    : Array.isArray(value)
      ? "a list"
      : `${typeof value} ${JSON.stringify(value)}`;
}

/** Attaches the documentation of a key (read by the docs generator). */
export function documented<T extends z.ZodType>(schema: T, doc: FieldDoc): T {
  return schema.meta({ ...doc }) as T;
}

/** The documentation attached by {@link documented}, if any. */
export function docOf(schema: z.ZodType): FieldDoc | undefined {
  const m = schema.meta() as Partial<FieldDoc> | undefined;
  return m?.doc === undefined ? undefined : (m as FieldDoc);
}

export const str = (): z.ZodString =>
  z.string({
    error: (iss) => message(`must be a string, got ${describeValue(iss.input)}`, "quote the value"),
  });

export const bool = (): z.ZodBoolean =>
  z.boolean({
    error: (iss) =>
      message(`must be true or false, got ${describeValue(iss.input)}`, "write true or false"),
  });

export const num = (): z.ZodNumber =>
  z.number({
    error: (iss) =>
      message(`must be a number, got ${describeValue(iss.input)}`, "give a plain number such as 2"),
  });

/** Inclusive integer range of a number field (read by the docs generator). */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

const ranges = new WeakMap<z.ZodType, IntRange>();

/** Records the whole-number range a field accepts (shown in the docs' Type column). */
export function withRange<T extends z.ZodType>(schema: T, min: number, max: number): T {
  ranges.set(schema, { min, max });
  return schema;
}

/** A whole number from `min` to `max`. */
export function int(min: number, max: number): z.ZodNumber {
  return withRange(
    num().refine((v) => Number.isInteger(v) && v >= min && v <= max, {
      error: (iss) =>
        message(`${String(iss.input)} is out of range`, `use a whole number from ${min} to ${max}`),
    }),
    min,
    max,
  );
}

/** The range of a field built by {@link int} (looking through optional/default wrappers). */
export function rangeOf(schema: z.ZodType): IntRange | undefined {
  const inner = unwrap(schema);
  return ranges.get(inner);
}

export const enumOf = <const T extends readonly [string, ...string[]]>(
  values: T,
): z.ZodEnum<{ [K in T[number]]: K }> =>
  z.enum(values, {
    error: (iss) =>
      message(`${JSON.stringify(iss.input)} is not allowed`, `use one of ${values.join(", ")}`),
  });

/** Marks a message that belongs to the parent key (an element of a list of strings). */
export const ON_PARENT = "\u0001";
const LIST_OF_STRINGS_FIX = "use a YAML list of strings";
const LIST_OF_STRINGS = message("must be a list of strings, got a list", LIST_OF_STRINGS_FIX);

// Lists are plain arrays (not `.readonly()`): the component args interfaces take `T[]`, the only
// list form Pulumi's schema inference accepts.
export const stringList = (): z.ZodArray<z.ZodString> =>
  z.array(z.string({ error: () => ON_PARENT + LIST_OF_STRINGS }), {
    error: (iss) =>
      message(`must be a list of strings, got ${describeValue(iss.input)}`, LIST_OF_STRINGS_FIX),
  });

export const stringMap = (): z.ZodReadonly<z.ZodRecord<z.ZodString, z.ZodString>> =>
  z
    .record(z.string(), str(), {
      error: (iss) =>
        message(
          `must be an object, got ${describeValue(iss.input)}`,
          "use a YAML mapping (key: value lines)",
        ),
    })
    .readonly();

/** A list of mappings; `missingFix`, when given, makes the list required. */
export function objectList<S extends z.ZodType>(item: S, missingFix?: string): z.ZodArray<S> {
  return z.array(item, {
    error: (iss) =>
      iss.input === undefined && missingFix !== undefined
        ? message("is missing", missingFix)
        : message(
            `must be a list of objects, got ${describeValue(iss.input)}`,
            "use a YAML list of mappings",
          ),
  });
}

/** A mapping that rejects unknown keys (the issue mapper adds "did you mean"). */
export function section<S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "invalid_type"
        ? message(
            `must be an object, got ${describeValue(iss.input)}`,
            "use a YAML mapping (key: value lines)",
          )
        : undefined,
  });
}

/** A string that must be present and not empty; `fix` says what to set. */
export function required(fix: string): z.ZodString {
  const missing = message("is missing", fix);
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? missing
          : message(`must be a string, got ${describeValue(iss.input)}`, "quote the value"),
    })
    .refine((v) => v !== "", { error: () => missing });
}

/** The schema under optional / default / readonly wrappers. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def: { type: string; innerType?: z.ZodType } };
  while (
    s.def.innerType !== undefined &&
    ["optional", "default", "prefault", "readonly", "nullable"].includes(s.def.type)
  ) {
    s = s.def.innerType as typeof s;
  }
  return s;
}

/** The value a `.default()`/`.prefault()` field takes when absent, if it has one. */
export function defaultOf(schema: z.ZodType): unknown {
  let s = schema as z.ZodType & {
    def: { type: string; innerType?: z.ZodType; defaultValue?: unknown };
  };
  while (s.def.innerType !== undefined) {
    if (s.def.type === "default") return s.def.defaultValue;
    s = s.def.innerType as typeof s;
  }
  return undefined;
}

/** What the docs renderers read of a (wrapped) schema: its kind, object shape, list element, enum entries. */
export interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly entries?: Record<string, string>;
}

/** The definition of `schema` below its optional/default/documentation wrappers. */
export const defOf = (schema: z.ZodType): SchemaDef =>
  (unwrap(schema) as unknown as { def: SchemaDef }).def;
