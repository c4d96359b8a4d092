/**
 * Rules file loading: YAML (with line positions) -> zod validation -> semantic checks.
 * Returns a result instead of throwing; every error is line-precise:
 * `rules.yaml:12:5: endpoints.vpce-0abc.rules[3].ports: "70000" is not a port (1-65535)`.
 */
import { promises as fs } from "node:fs";
import type { z } from "zod";
import { base60, parseBase60, tunNames } from "../naming";
import { parseLocatedYaml } from "../yaml-location";
import { rulesFileSchema, type EndpointSection, type Rule, type RulesFile } from "./schema";

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

export type LoadResult = { ok: true; rules: LoadedRules } | { ok: false; errors: string[] };

type PathItem = string | number;

/** Formats a path the way users write it: `endpoints.vpce-0abc.rules[3].ports`. */
export function formatPath(path: readonly PathItem[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

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

interface Located {
  path: PathItem[];
  message: string;
  /** Point at the key of the last path element instead of its value. */
  atKey?: boolean;
}

/** Flattens zod issues, descending into the union branch that got furthest. */
function flattenIssues(issues: readonly z.core.$ZodIssue[], base: PathItem[] = []): Located[] {
  const out: Located[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as PathItem[])];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const branches = issue.errors.filter(
        (b) => !b.every((i) => i.code === "invalid_type" && i.path.length === 0),
      );
      const best = branches[0] ?? issue.errors[0]!;
      out.push(...flattenIssues(best, path));
    } else if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        out.push({ path: [...path, k], message: `unknown key "${k}"`, atKey: true });
      }
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** Parses and validates rules text. `name` is used in error messages (usually the file path). */
export function parseRules(text: string, name = "rules.yaml"): LoadResult {
  const { doc, syntaxErrors, locate: at } = parseLocatedYaml(text, name);
  if (syntaxErrors.length > 0) return { ok: false, errors: syntaxErrors };
  const locate = (l: Located): string => {
    const prefix = l.path.length > 0 ? `${formatPath(l.path)}: ` : "";
    return `${at(l.path, l.atKey ?? false)}: ${prefix}${l.message}`;
  };
  const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = rulesFileSchema.safeParse(data);
  if (!parsed.success) {
    return { ok: false, errors: flattenIssues(parsed.error.issues).map(locate) };
  }
  const file = parsed.data;
  const errors: Located[] = [];
  const endpoints = new Map<string, ResolvedEndpointSection>();
  const zones = new Map<number, string>();
  for (const [key, section] of Object.entries(file.endpoints ?? {})) {
    const r = resolveEndpointKey(key);
    if (!r) {
      errors.push({
        path: ["endpoints", key],
        atKey: true,
        message: `"${key}" is not an endpoint: use vpce-<17 hex digits>, <17 hex digits>, gwi-<id> or gwo-<id>`,
      });
      continue;
    }
    const prior = endpoints.get(r.gwi);
    if (prior) {
      errors.push({
        path: ["endpoints", key],
        atKey: true,
        message: `same endpoint as "${prior.key}"`,
      });
      continue;
    }
    if (section.zone !== undefined) {
      const other = zones.get(section.zone);
      if (other) {
        errors.push({
          path: ["endpoints", key, "zone"],
          message: `zone ${section.zone} is already used by "${other}"`,
        });
      }
      zones.set(section.zone, key);
    }
    endpoints.set(r.gwi, { key, ...r, section });
  }
  const sets = file.sets ?? {};
  const checkRules = (rules: readonly Rule[] | undefined, base: PathItem[]) => {
    (rules ?? []).forEach((rule, i) => {
      const refs: [keyof Rule, "net" | "port"][] = [
        ["src", "net"],
        ["dst", "net"],
        ["ports", "port"],
        ["sourcePorts", "port"],
      ];
      for (const [key, type] of refs) {
        const v = rule[key];
        const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
        items.forEach((item, j) => {
          if (typeof item !== "string" || !item.startsWith("@")) return;
          const setName = item.slice(1);
          const set = sets[setName];
          const path = [...base, i, key, ...(Array.isArray(v) ? [j] : [])];
          if (!set) errors.push({ path, message: `unknown set "${setName}"` });
          else if (set.type !== type)
            errors.push({
              path,
              message: `set "${setName}" has type ${set.type}, ${key} needs a ${type} set`,
            });
        });
      }
    });
  };
  checkRules(file.rules, ["rules"]);
  for (const [key, section] of Object.entries(file.endpoints ?? {})) {
    checkRules(section.rules, ["endpoints", key, "rules"]);
  }
  if (errors.length > 0) return { ok: false, errors: errors.map(locate) };
  return { ok: true, rules: { file, endpoints } };
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
