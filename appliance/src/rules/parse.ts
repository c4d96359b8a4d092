/**
 * Rules file loading: YAML (with line positions) -> zod validation -> checks across sections.
 * Returns a result instead of throwing, with every problem at once, each line-precise and with
 * its fix: `rules.yaml:12:5: rules[3].ports: "70000" is not a port. Fix: write a port 1-65535 ...`.
 * The cross checks run on the parts of the file that are valid on their own, so one broken rule
 * does not hide the unknown set another rule references.
 */
import { promises as fs } from "node:fs";
import type { z } from "zod";
import { base60, parseBase60, tunNames } from "../naming";
import { parseLocatedYaml, type LocatedYaml } from "../yaml-location";
import { DEFAULT_MARK_MASK } from "./compile";
import {
  didYouMean,
  findingsOf,
  formatPath,
  formatProblem,
  type Finding,
  type PathItem,
  type RulesProblem,
} from "./problems";
import {
  defaultsSchema,
  endpointSchema,
  rulesFileSchema,
  setSchema,
  settingsSchema,
  type EndpointSection,
  type RulesFile,
} from "./schema";

export { formatPath };

export interface ResolvedEndpointSection {
  /** The key as written in the file. */
  readonly key: string;
  /** Base-60 suffix shared by `gwi-` and `gwo-` names. */
  readonly suffix: string;
  readonly gwi: string;
  readonly gwo: string;
  readonly section: EndpointSection;
}

export interface LoadedRules {
  readonly file: RulesFile;
  /** Endpoint sections keyed by their `gwi-` interface name. */
  readonly endpoints: ReadonlyMap<string, ResolvedEndpointSection>;
}

/** `errors` are the `problems`, formatted (`file:line:col: path: what. Fix: how.`). */
export type LoadResult =
  { ok: true; rules: LoadedRules } | { ok: false; errors: string[]; problems: RulesProblem[] };

/** Resolves an endpoint key (`vpce-<hex17>`, `<hex17>`, `gwi-<b60>`, `gwo-<b60>`) to names. */
export function resolveEndpointKey(
  key: string,
): { suffix: string; gwi: string; gwo: string } | undefined {
  let m = /^(?:vpce-)?([0-9a-f]{17})$/.exec(key);
  if (m) {
    const id = BigInt(`0x${m[1]!}`);
    if (id >= 1n << 64n) return undefined;
    const names = tunNames(id);
    return { suffix: names.gwi.slice(4), ...names };
  }
  m = /^gw[io]-([0-9A-Za-z]{1,11})$/.exec(key);
  if (m) {
    const id = parseBase60(m[1]!);
    if (id === undefined || base60(id) !== m[1]) return undefined;
    return { suffix: m[1]!, gwi: `gwi-${m[1]!}`, gwo: `gwo-${m[1]!}` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Checks across sections

type EndpointFields = Omit<EndpointSection, "rules">;

interface RawRule {
  readonly rule: Readonly<Record<string, unknown>>;
  readonly path: PathItem[];
}

/**
 * The parts of a (possibly invalid) file the cross checks need: rules as written, settings only
 * when valid (undefined: unknown, so checks that need them are skipped).
 */
interface Parts {
  /** Declared set names, with their type when the set is valid. */
  readonly setTypes: ReadonlyMap<string, string | undefined>;
  readonly defaults: EndpointFields | undefined;
  /** `settings.markMask` (its default when absent); undefined when the settings are invalid. */
  readonly markMask: number | undefined;
  /** Rules with their paths: the global ones, then each endpoint section's. */
  readonly rules: readonly RawRule[];
  /** Endpoint sections as written, with their settings when those are valid. */
  readonly sections: readonly { key: string; fields: EndpointFields | undefined }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function validOrUndefined<T>(schema: z.ZodType<T>, v: unknown): T | undefined {
  const r = schema.safeParse(v);
  return r.success ? r.data : undefined;
}

/** The rules of a list as written (mappings only), with their paths. */
function rulesOf(raw: unknown, base: PathItem[]): RawRule[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((rule: unknown, i) => (isRecord(rule) ? [{ rule, path: [...base, i] }] : []));
}

const endpointFieldsSchema = endpointSchema.omit({ rules: true });

function fieldsOf(section: unknown): EndpointFields | undefined {
  const { rules: _, ...rest } = isRecord(section) ? section : {};
  return validOrUndefined(endpointFieldsSchema, rest);
}

function partsOf(data: unknown): Parts {
  const raw = isRecord(data) ? data : {};
  const sets = Object.entries(isRecord(raw.sets) ? raw.sets : {});
  const endpoints = Object.entries(isRecord(raw.endpoints) ? raw.endpoints : {});
  const settings = validOrUndefined(settingsSchema, raw.settings ?? {});
  return {
    setTypes: new Map(sets.map(([k, v]) => [k, validOrUndefined(setSchema, v)?.type])),
    defaults: validOrUndefined(defaultsSchema, raw.defaults ?? {}),
    markMask: settings && (settings.markMask ?? DEFAULT_MARK_MASK),
    rules: [
      ...rulesOf(raw.rules, ["rules"]),
      ...endpoints.flatMap(([key, sec]) =>
        rulesOf(isRecord(sec) ? sec.rules : undefined, ["endpoints", key, "rules"]),
      ),
      // suricata.traffic entries are rule matches: same set reference checks.
      ...rulesOf(isRecord(raw.suricata) ? raw.suricata.traffic : undefined, [
        "suricata",
        "traffic",
      ]),
    ],
    sections: endpoints.map(([key, sec]) => ({ key, fields: fieldsOf(sec) })),
  };
}

/** How to write the endpoint `key` probably meant. */
function keyFix(key: string): string {
  const forms = "vpce-<17 hex digits>, <17 hex digits>, gwi-<id> or gwo-<id>";
  if (resolveEndpointKey(key.toLowerCase())) return `write it in lower case: ${key.toLowerCase()}`;
  const hex = /^(?:vpce-)?([0-9a-fA-F]+)$/.exec(key)?.[1];
  if (hex)
    return `an endpoint id has 17 hex digits, this has ${hex.length}: copy it from the VPC endpoint`;
  return `key the section by ${forms}`;
}

/** Endpoint keys that name no endpoint, or the same one as an earlier key. */
function endpointKeyFindings(parts: Parts): Finding[] {
  const seen = new Map<string, string>();
  return parts.sections.flatMap(({ key }): Finding[] => {
    const path = ["endpoints", key];
    const r = resolveEndpointKey(key);
    if (!r)
      return [{ path, atKey: true, message: `"${key}" is not an endpoint`, fix: keyFix(key) }];
    const prior = seen.get(r.gwi);
    if (!prior) seen.set(r.gwi, key);
    const fix = "merge the two sections into one";
    return prior ? [{ path, atKey: true, message: `same endpoint as "${prior}"`, fix }] : [];
  });
}

/** Two sections with the same fixed zone, or a zone outside `settings.markMask`. */
function zoneFindings(parts: Parts): Finding[] {
  const owner = new Map<number, string>();
  const mask = parts.markMask;
  return parts.sections.flatMap(({ key, fields }): Finding[] => {
    const zone = fields?.zone;
    if (zone === undefined) return [];
    if (mask !== undefined && (zone & mask) !== zone) {
      const message = `zone ${zone} has bits outside settings.markMask 0x${mask.toString(16)}`;
      const fix = `use a zone from 1 to ${mask} (within the mask), or widen settings.markMask`;
      return [{ path: ["endpoints", key, "zone"], message, fix }];
    }
    const other = owner.get(zone);
    if (!other) owner.set(zone, key);
    if (!other) return [];
    const message = `zone ${zone} is already used by "${other}"`;
    const fix = "give each endpoint its own zone, or remove zone to have one derived";
    return [{ path: ["endpoints", key, "zone"], message, fix }];
  });
}

/** The keys of a rule that may reference a set, with the set type each needs. */
const SET_REFS: readonly [string, "net" | "port"][] = [
  ["src", "net"],
  ["dst", "net"],
  ["ports", "port"],
  ["sourcePorts", "port"],
];

/** Why `@name` cannot be used where a `type` set is needed. */
function setReferenceProblem(parts: Parts, name: string, type: string): Omit<Finding, "path">[] {
  if (!parts.setTypes.has(name)) {
    const guess = didYouMean(name, [...parts.setTypes.keys()]);
    const fix = guess
      ? `did you mean @${guess}? Or declare ${name} under sets`
      : `declare it under sets: ${name}: { type: ${type}, entries: [...] }`;
    return [{ message: `unknown set "${name}"`, fix }];
  }
  const actual = parts.setTypes.get(name);
  if (actual === undefined || actual === type) return [];
  return [
    { message: `set "${name}" has type ${actual}, not ${type}`, fix: `use a ${type} set here` },
  ];
}

/** `@name` references to sets that are not declared, or of the wrong type. */
function setReferenceFindings(parts: Parts): Finding[] {
  return parts.rules.flatMap(({ rule, path: base }) =>
    SET_REFS.flatMap(([key, type]) => {
      const v = rule[key];
      const items: unknown[] = Array.isArray(v) ? v : [v];
      return items.flatMap((item, j): Finding[] => {
        if (typeof item !== "string" || !item.startsWith("@")) return [];
        const path = [...base, key, ...(Array.isArray(v) ? [j] : [])];
        return setReferenceProblem(parts, item.slice(1), type).map((p) => ({ ...p, path }));
      });
    }),
  );
}

/** The first valid rule under `base` that uses `direction: in|out`. */
function firstDirectionRule(parts: Parts, base: readonly PathItem[]) {
  return parts.rules.find(
    ({ rule, path }) =>
      (rule.direction === "in" || rule.direction === "out") && base.every((b, i) => path[i] === b),
  );
}

/**
 * Rules using `direction` where the endpoint has no protected CIDRs: for endpoints without a
 * section (global rules, `defaults.protected`) and for each section.
 */
function directionFindings(parts: Parts): Finding[] {
  if (!parts.defaults) return [];
  const defaults = parts.defaults.protected ?? [];
  const global = firstDirectionRule(parts, ["rules"]);
  const findings: Finding[] = [];
  if (global && defaults.length === 0) {
    findings.push({
      path: [...global.path, "direction"],
      message: "direction needs the protected side, and endpoints without a section have none",
      fix: "set defaults.protected to the protected CIDRs (your VPC's)",
    });
  }
  for (const { key, fields } of parts.sections) {
    if (!fields || (fields.protected ?? defaults).length > 0) continue;
    const own = firstDirectionRule(parts, ["endpoints", key, "rules"]);
    // A global rule without any protected CIDRs is reported once, above.
    const inherited =
      fields.inherit !== false && fields.protected !== undefined ? global : undefined;
    const user = own ?? inherited;
    if (!user) continue;
    findings.push({
      path: [...user.path, "direction"],
      message: `direction needs the protected side, and endpoint ${key} has none`,
      fix: `set endpoints.${key}.protected (or defaults.protected) to its protected CIDRs`,
    });
  }
  return findings;
}

/** Checks across sections, run on the valid parts even when other parts are invalid. */
const CROSS_CHECKS: readonly ((parts: Parts) => Finding[])[] = [
  endpointKeyFindings,
  zoneFindings,
  setReferenceFindings,
  directionFindings,
];

// ---------------------------------------------------------------------------------------------
// Driver

/** The valid file's endpoint sections keyed by their `gwi-` name (keys are checked already). */
function endpointMap(file: RulesFile): Map<string, ResolvedEndpointSection> {
  const endpoints = new Map<string, ResolvedEndpointSection>();
  for (const [key, section] of Object.entries(file.endpoints ?? {})) {
    const r = resolveEndpointKey(key)!;
    endpoints.set(r.gwi, { key, ...r, section });
  }
  return endpoints;
}

/** Fixes of the YAML errors people make most (by the yaml library's error code). */
const SYNTAX_FIXES: Readonly<Record<string, string>> = {
  DUPLICATE_KEY: "keep one of the two keys and merge their values",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  BAD_INDENT: "check the indentation, and close brackets and quotes opened on this line",
  MISSING_CHAR: "close the bracket or quote opened on this line",
};

/** Places a finding in the text. */
export function locate(f: Finding, located: LocatedYaml, file: string): RulesProblem {
  const { line, col } = located.position(f.path, f.atKey ?? false);
  return { file, line, col, path: formatPath(f.path), message: f.message, fix: f.fix };
}

function refused(problems: readonly RulesProblem[]): LoadResult {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, problems: sorted, errors: sorted.map(formatProblem) };
}

/**
 * Parses and validates rules text, reporting every problem at once. `name` is used in the
 * problems (usually the file path).
 */
export function parseRules(text: string, name = "rules.yaml"): LoadResult {
  const located = parseLocatedYaml(text, name);
  if (located.syntax.length > 0) {
    return refused(
      located.syntax.map(({ line, col, message, code }) => {
        const fix = SYNTAX_FIXES[code] ?? "correct the YAML here (indentation, brackets, quotes)";
        return { file: name, line, col, path: "", message, fix };
      }),
    );
  }
  const data: unknown = located.doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = rulesFileSchema.safeParse(data, { reportInput: true });
  const parts = partsOf(data);
  const findings = [
    ...(parsed.success ? [] : findingsOf(parsed.error.issues, rulesFileSchema)),
    ...CROSS_CHECKS.flatMap((check) => check(parts)),
  ];
  if (parsed.success && findings.length === 0)
    return { ok: true, rules: { file: parsed.data, endpoints: endpointMap(parsed.data) } };
  return refused(findings.map((f) => locate(f, located, name)));
}

/** Reads and parses a rules file; never throws (an unreadable file is `readError`). */
export async function readRulesFile(
  file: string,
): Promise<LoadResult | { ok: false; readError: string }> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    return { ok: false, readError: (e as Error).message };
  }
  return parseRules(text, file);
}
