/**
 * Problems in a rules file, each with its place (`file:line:col` and the key's path), what is
 * wrong and how to fix it. Every zod issue of the rules schema becomes one problem here, so a new
 * section of the schema is reported the same way without code of its own: built-in checks get a
 * fix derived from the issue (the allowed values, "did you mean", the range), custom checks carry
 * theirs in `params.fix` (see {@link problem} in schema.ts).
 */
import type { z } from "zod";

export type PathItem = string | number;

/** One problem of a rules file. */
export interface RulesProblem {
  readonly file: string;
  /** 1-based line and column of the offending key or value. */
  readonly line: number;
  readonly col: number;
  /** The key's path as users write it (`endpoints.vpce-0abc.rules[3].ports`); "" for the file. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/** A problem before it is located in the text. */
export interface Finding {
  readonly path: readonly PathItem[];
  readonly message: string;
  readonly fix: string;
  /** Point at the key of the last path element instead of its value. */
  readonly atKey?: boolean;
}

/** `rules.yaml:12:5: rules[3].ports: "70000" is not a port. Fix: use 1-65535.` */
export function formatProblem(p: RulesProblem): string {
  const where = p.path === "" ? "" : `${p.path}: `;
  return `${p.file}:${p.line}:${p.col}: ${where}${sentence(p.message)} Fix: ${sentence(p.fix)}`;
}

function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/** Formats a path the way users write it: `endpoints.vpce-0abc.rules[3].ports`. */
export function formatPath(path: readonly PathItem[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

/** Optimal string alignment distance (a swap of two neighbours counts as one edit). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` most likely stands for, if any: the only one it abbreviates, else the
 * nearest within a third of its length in edits (case-insensitive).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const extended = candidates.filter((c) => lower.length >= 3 && c.toLowerCase().startsWith(lower));
  if (extended.length === 1) return extended[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

// ---------------------------------------------------------------------------------------------
// What the schema allows at a path (for "did you mean" and "use one of")

interface Def {
  readonly type: string;
  readonly innerType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly options?: readonly z.core.$ZodType[];
  readonly shape?: Record<string, z.core.$ZodType>;
  readonly element?: z.core.$ZodType;
  readonly valueType?: z.core.$ZodType;
  readonly entries?: Record<string, string | number>;
  readonly values?: readonly unknown[];
}

const defOf = (s: z.core.$ZodType): Def => s._zod.def as unknown as Def;

/** The schemas a value at `path` must match (several below a union). */
function schemasAt(schema: z.core.$ZodType, path: readonly PathItem[]): z.core.$ZodType[] {
  const def = defOf(schema);
  const [head, ...rest] = path;
  const wrapped = def.innerType ?? def.in;
  if (wrapped) return schemasAt(wrapped, path);
  if (def.options) return def.options.flatMap((o) => schemasAt(o, path));
  if (head === undefined) return [schema];
  const next =
    def.shape?.[String(head)] ??
    (typeof head === "number" ? def.element : undefined) ??
    def.valueType;
  return next ? schemasAt(next, rest) : [];
}

/** Keys an object at `path` may have. */
function keysAt(schema: z.core.$ZodType, path: readonly PathItem[]): string[] {
  return schemasAt(schema, path).flatMap((s) => Object.keys(defOf(s).shape ?? {}));
}

/** The values an enum or literal at `path` allows (empty for other types). */
function valuesAt(schema: z.core.$ZodType, path: readonly PathItem[]): string[] {
  return schemasAt(schema, path).flatMap((s) => {
    const def = defOf(s);
    return [...Object.values(def.entries ?? {}), ...(def.values ?? [])].map(String);
  });
}

// ---------------------------------------------------------------------------------------------
// zod issue -> finding

const TYPE_WORDS: Record<string, string> = {
  array: "a list",
  object: "a mapping (key: value lines)",
  record: "a mapping (key: value lines)",
  number: "a number",
  int: "a whole number",
  string: "a text",
  boolean: "true or false",
};

const describe = (v: unknown) => JSON.stringify(v) ?? String(v);

function oneOf(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `one of ${values.join(", ")}`;
}

/** Words from other firewalls for values of the rules file. */
const SYNONYMS: Readonly<Record<string, string>> = {
  accept: "allow",
  permit: "allow",
  pass: "allow",
  deny: "drop",
  block: "drop",
};

/** The value of `values` that `text` most likely means. */
function guessValue(text: string, values: readonly string[]): string | undefined {
  const synonym = SYNONYMS[text.toLowerCase()];
  return synonym !== undefined && values.includes(synonym) ? synonym : didYouMean(text, values);
}

/** The fix for a value that is not one of `values`: the likely intended one, else the list. */
function useOneOf(input: unknown, values: readonly string[]): string {
  const guess = typeof input === "string" ? guessValue(input, values) : undefined;
  return guess ? `did you mean ${guess}? Use ${oneOf(values)}` : `use ${oneOf(values)}`;
}

function unknownKeyFix(key: string, known: readonly string[]): string {
  if (key === "<<") return "YAML merge keys (<<) are not read: write the keys out";
  const guess = didYouMean(key, known);
  if (guess) return `did you mean ${guess}?`;
  return known.length > 0 ? `remove it (keys here: ${known.join(", ")})` : "remove it";
}

type Issue = z.core.$ZodIssue;
type IssueOf<C extends Issue["code"]> = Extract<Issue, { code: C }>;
type Rule<C extends Issue["code"]> = (
  issue: IssueOf<C>,
  path: PathItem[],
  schema: z.core.$ZodType,
) => Finding[];

/** A required key that is not there. */
function missing(path: PathItem[], want: string): Finding[] {
  const key = path[path.length - 1];
  if (key === undefined)
    return [{ path, message: "the file is not a mapping", fix: "start it with version: 1" }];
  return [{ path, message: "missing (required)", fix: `add ${String(key)}: ${want}` }];
}

function invalidType(issue: IssueOf<"invalid_type">, path: PathItem[], schema: z.core.$ZodType) {
  const values = valuesAt(schema, path);
  const want = values.length > 0 ? oneOf(values) : (TYPE_WORDS[issue.expected] ?? issue.expected);
  if (issue.input === undefined || path.length === 0) return missing(path, want);
  const message = `${describe(issue.input)} is not ${want}`;
  if (issue.expected === "array" && typeof issue.input !== "object")
    return [{ path, message, fix: `write it as a list: [${String(issue.input)}]` }];
  return [{ path, message, fix: `write ${want} here` }];
}

function tooBig(issue: IssueOf<"too_big">, path: PathItem[]): Finding[] {
  const max = String(issue.maximum);
  if (issue.origin === "array" || issue.origin === "string")
    return [{ path, message: `longer than ${max}`, fix: `shorten it to at most ${max}` }];
  return [{ path, message: `${describe(issue.input)} is above ${max}`, fix: `use at most ${max}` }];
}

function tooSmall(issue: IssueOf<"too_small">, path: PathItem[]): Finding[] {
  const min = String(issue.minimum);
  if (issue.origin === "array")
    return [{ path, message: "empty list", fix: "list at least one item, or remove the key" }];
  if (issue.origin === "string")
    return [{ path, message: "too short", fix: `write at least ${min} characters` }];
  return [
    { path, message: `${describe(issue.input)} is below ${min}`, fix: `use at least ${min}` },
  ];
}

/** Descends into the union branch that got furthest (not the ones that failed on the type). */
function invalidUnion(issue: IssueOf<"invalid_union">, path: PathItem[], schema: z.core.$ZodType) {
  const branches = issue.errors.filter(
    (b) => !b.every((i) => i.code === "invalid_type" && i.path.length === 0),
  );
  const best = branches[0] ?? issue.errors[0];
  if (best) return findingsOf(best, schema, path);
  return [{ path, message: issue.message, fix: "see docs/rules.md" }];
}

const RULES: { [C in Issue["code"]]: Rule<C> } = {
  invalid_type: invalidType,
  too_big: tooBig,
  too_small: tooSmall,
  invalid_format: (issue, path) => [
    {
      path,
      message: `${describe(issue.input)} is not in the expected form`,
      fix: `use ${issue.message}`,
    },
  ],
  not_multiple_of: (issue, path) => [
    { path, message: issue.message, fix: `use a multiple of ${issue.divisor}` },
  ],
  unrecognized_keys: (issue, path, schema) =>
    issue.keys.map((k) => ({
      path: [...path, k],
      atKey: true,
      message: `unknown key "${k}"`,
      fix: unknownKeyFix(k, keysAt(schema, path)),
    })),
  invalid_union: invalidUnion,
  invalid_key: (issue, path, schema) =>
    findingsOf(issue.issues, schema, []).map((f) => ({ ...f, path, atKey: true })),
  invalid_element: (issue, path, schema) => findingsOf(issue.issues, schema, path),
  invalid_value: (issue, path) => {
    const values = issue.values.map(String);
    if (issue.input === undefined) return missing(path, oneOf(values));
    const message = `${describe(issue.input)} is not allowed here`;
    return [{ path, message, fix: useOneOf(issue.input, values) }];
  },
  custom: (issue, path) => [
    {
      path,
      message: issue.message,
      fix: String(issue.params?.fix ?? `see docs/rules.md for ${formatPath(path)}`),
    },
  ],
};

/**
 * Findings of zod issues from `schema` (parsed with `reportInput: true`, so values can be
 * quoted), each with a fix; `base` is the path of the value `schema` parsed.
 */
export function findingsOf(
  issues: readonly Issue[],
  schema: z.core.$ZodType,
  base: readonly PathItem[] = [],
): Finding[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...(issue.path as PathItem[])];
    const rule = RULES[issue.code] as Rule<typeof issue.code>;
    return rule(issue as never, path, schema);
  });
}
