import * as YAML from "yaml";
import { z } from "zod";
import { defaultOf, defOf, docOf, type FieldDoc } from "./fields";
import { tollgateSchema } from "./stack";

/**
 * `Pulumi.dev.yaml`, rendered from the stack schema (`npm run docs:config`; a test fails when the
 * committed file drifts): only `aws:region` is set, every `tollgate:` key is a comment showing its
 * real default and its documentation, so a copy changes exactly the keys its user uncomments.
 */

const WIDTH = 100;

const HEAD = [
  '# Example stack configuration for Tollgate (stack "dev"). Generated from the stack schema by',
  "# `npm run docs:config`: do not edit by hand (a test compares it with the schema).",
  "#",
  "# Only aws:region is set. Every tollgate: key below is commented out and shows its real default:",
  "# uncomment (and change) only what you need; everything else keeps its default. Keys without a",
  "# default say so. Reference: docs/configuration.md. Check a copy offline with",
  "# `npm run plan -- --config Pulumi.<stack>.yaml` (no AWS account, no Pulumi CLI needed).",
  "config:",
];

type Shape = Record<string, z.ZodType>;

/** One key of a level: a documented key (`doc`) or an undocumented section (`inner`). */
type Entry = { name: string; field: z.ZodType; doc?: FieldDoc; inner?: Shape };

/** The keys of one level the example shows (keys neither documented nor sections are left out). */
function entries(shape: Shape): Entry[] {
  return Object.entries(shape).flatMap(([name, field]): Entry[] => {
    const doc = docOf(field);
    const def = defOf(field);
    if (doc !== undefined) return [{ name, field, doc }];
    return def.type === "object" && def.shape ? [{ name, field, inner: def.shape }] : [];
  });
}

/** Markdown doc text as comment lines (backticks and links kept readable), wrapped. */
function docLines(text: string, indent: string): string[] {
  const plain = text.replace(/\[([^\]]+)\]\([^)]+\)/g, "$1");
  const out: string[] = [];
  let line = "";
  for (const word of plain.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
      out.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(`${indent}# ${line}`);
  return out;
}

/** The value part of a key's line: its default as YAML, or a note that it has none. */
function valueText(field: z.ZodType, docDefault: string | undefined): string {
  const v = defaultOf(field);
  const empty =
    v === undefined ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && v !== null && Object.keys(v).length === 0);
  if (empty) return docDefault ? ` # default: ${docDefault.replace(/`/g, "")}` : " # no default";
  const text = typeof v === "object" ? JSON.stringify(v) : YAML.stringify(v).trim();
  return ` ${text}`;
}

/** Comment lines for the keys of one level (`#` then the YAML indentation of that level). */
function keyLines(shape: Shape, depth: number, prefix: string): string[] {
  const out: string[] = [];
  const pad = "  ".repeat(depth);
  for (const { name, field, doc, inner } of entries(shape)) {
    const key = depth === 0 ? `${prefix}${name}` : name;
    if (inner) out.push("", `  # ${pad}${key}:`, ...keyLines(inner, depth + 1, prefix));
    else if (doc) {
      out.push(...docLines(doc.doc, `  # ${pad}`));
      out.push(`  # ${pad}${key}:${valueText(field, doc.default)}`);
    }
  }
  return out;
}

/** The text of Pulumi.dev.yaml for `region`. */
export function exampleStackFile(region = "us-east-1"): string {
  const shape = tollgateSchema.shape as Shape;
  return [...HEAD, `  aws:region: ${region}`, ...keyLines(shape, 0, "tollgate:"), ""].join("\n");
}

/** One key the example file shows: its path below `tollgate:`, default and enum choices. */
export interface ExampleKnob {
  readonly path: readonly string[];
  readonly default: unknown;
  readonly choices: readonly string[];
}

/** Every documented key of the example file (for tests that change each one alone). */
export function exampleKnobs(
  shape: Shape = tollgateSchema.shape as Shape,
  at: string[] = [],
): ExampleKnob[] {
  return entries(shape).flatMap(({ name, field, inner }) => {
    if (inner) return exampleKnobs(inner, [...at, name]);
    const def = defOf(field);
    const choices = def.type === "enum" ? Object.values(def.entries ?? {}) : [];
    return [{ path: [...at, name], default: defaultOf(field), choices }];
  });
}
