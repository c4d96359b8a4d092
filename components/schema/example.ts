import * as YAML from "yaml";
import { z } from "zod";
import { defaultOf, docOf, unwrap } from "./fields";
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
const shapeOf = (s: z.ZodType): Shape | undefined =>
  (unwrap(s) as unknown as { def: { type: string; shape?: Shape } }).def.type === "object"
    ? (unwrap(s) as unknown as { def: { shape: Shape } }).def.shape
    : undefined;

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
  for (const [name, field] of Object.entries(shape)) {
    const key = depth === 0 ? `${prefix}${name}` : name;
    const doc = docOf(field);
    const inner = shapeOf(field);
    if (doc === undefined && inner) {
      out.push("", `  # ${pad}${key}:`, ...keyLines(inner, depth + 1, prefix));
      continue;
    }
    if (doc === undefined) continue;
    out.push(...docLines(doc.doc, `  # ${pad}`));
    out.push(`  # ${pad}${key}:${valueText(field, doc.default)}`);
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
  const out: ExampleKnob[] = [];
  for (const [name, field] of Object.entries(shape)) {
    const inner = shapeOf(field);
    if (docOf(field) === undefined && inner) out.push(...exampleKnobs(inner, [...at, name]));
    else if (docOf(field) !== undefined) {
      const def = (
        unwrap(field) as unknown as { def: { type: string; entries?: Record<string, string> } }
      ).def;
      const choices = def.type === "enum" ? Object.values(def.entries ?? {}) : [];
      out.push({ path: [...at, name], default: defaultOf(field), choices });
    }
  }
  return out;
}
