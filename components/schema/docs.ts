import { withGeneratedBlocks } from "@tollgate/appliance";
import { z } from "zod";
import { defaultOf, defOf, docOf, rangeOf } from "./fields";
import { tollgateSchema } from "./stack";

/**
 * The reference tables of docs/configuration.md, rendered from the stack schema: one table for
 * the top-level keys ("stack") and one per section (`inspection`, `fleet`, ...), written into
 * generated blocks by `npm run docs:config` (a test fails when they drift).
 */

const code = (v: unknown): string => `\`${String(v)}\``;

function typeOf(schema: z.ZodType): string {
  const def = defOf(schema);
  const range = rangeOf(schema);
  switch (def.type) {
    case "number":
      return range ? `number (${range.min}-${range.max})` : "number";
    case "enum":
      return Object.values(def.entries ?? {})
        .map(code)
        .join(" \\| ");
    case "array":
      return def.element && defOf(def.element).type === "string" ? "list of strings" : "list";
    case "record":
      return "map of strings";
    default:
      return def.type;
  }
}

function defaultText(schema: z.ZodType): string {
  const v = defaultOf(schema);
  if (v === undefined) return "none";
  if (Array.isArray(v) && v.length === 0) return "none";
  if (typeof v === "object" && v !== null && Object.keys(v).length === 0) return "none";
  return code(v);
}

/** One row per documented key below `schema` (sections are walked, list items are not). */
function rows(schema: z.ZodType, prefix: string): string[] {
  const out: string[] = [];
  for (const [name, field] of Object.entries(defOf(schema).shape ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    const doc = docOf(field);
    if (doc !== undefined) {
      const type = doc.type ?? typeOf(field);
      out.push(`| ${code(key)} | ${type} | ${doc.default ?? defaultText(field)} | ${doc.doc} |`);
    } else if (defOf(field).type === "object") {
      out.push(...rows(field, key));
    } else {
      throw new Error(
        `tollgate:${key} has no documentation: wrap it in documented() (components/schema/stack.ts)`,
      );
    }
  }
  return out;
}

const HEADER = "| Key | Type | Default | Meaning |\n| --- | --- | --- | --- |";

/** The generated tables by name: `stack` (top-level keys) and every section. */
export function configTables(schema: z.ZodObject = tollgateSchema): Record<string, string> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const top = Object.entries(shape).filter(([, f]) => docOf(f) !== undefined);
  const tables: Record<string, string> = {
    stack: [HEADER, ...rows(z.object(Object.fromEntries(top)), "")].join("\n"),
  };
  for (const [name, field] of Object.entries(shape)) {
    if (docOf(field) === undefined) tables[name] = [HEADER, ...rows(field, name)].join("\n");
  }
  return tables;
}

/**
 * `markdown` with every reference table replaced by what the schema renders now; throws when a
 * table's block (`<!-- generated: NAME (npm run docs:config) -->` ... `<!-- end: NAME -->`) is
 * missing.
 */
export function renderConfigDocs(markdown: string): string {
  return withGeneratedBlocks(markdown, configTables(), "npm run docs:config");
}
