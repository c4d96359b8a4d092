/**
 * The README's reference tables of the settings (command line and YAML file), rendered from the
 * settings table (schema.ts) and the option table (options.ts). `npm run docs:appliance` writes
 * them into appliance/README.md between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; a
 * test fails when the README differs.
 */
import { OPTION_GROUPS, RUN_OPTIONS, type RunOption } from "./options";
import { settingByKey, settingLeaves } from "./schema";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (text: string) => `\`${text}\``;

function defaultOf(s: ReturnType<typeof settingByKey>): string {
  if (s.defaultText !== undefined) return s.defaultText;
  return s.default === undefined ? "" : code(JSON.stringify(s.default).replace(/^"|"$/g, ""));
}

/** A flag without value shows the setting it sets, e.g. "`rpFilter.manage: true`". */
function optionDefault(r: RunOption): string {
  if (r.key === undefined) return "none";
  const s = settingByKey(r.key);
  return r.flags.includes("<") || s.default === undefined
    ? defaultOf(s)
    : code(`${s.key}: ${String(s.default)}`);
}

function optionTable(rows: readonly RunOption[]): string {
  return [
    "| option | meaning | default |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${code(r.flags)} | ${cell(r.description)} | ${optionDefault(r)} |`),
  ].join("\n");
}

function fileTable(): string {
  return [
    "| key | type | default | command line | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...settingLeaves().map(({ setting: s }) => {
      const flags = RUN_OPTIONS.filter((r) => r.key === s.key)
        .map((r) => code(r.flags.replace(/ <.*$/, "")))
        .join(", ");
      return `| ${code(s.key)} | ${cell(s.value.type)} | ${defaultOf(s)} | ${flags} | ${cell(s.doc)} |`;
    }),
  ].join("\n");
}

/** The generated blocks of appliance/README.md by name. */
export function settingsDocs(): Record<string, string> {
  const group = (g: keyof typeof OPTION_GROUPS) => RUN_OPTIONS.filter((r) => r.group === g);
  return {
    "options-reference": optionTable(group("reference")),
    "options-tollgate": optionTable(group("tollgate")),
    "config-file": fileTable(),
  };
}

/** `text` with each generated block replaced by its current rendering. Throws on a missing block. */
export function withGeneratedBlocks(
  text: string,
  blocks: Record<string, string>,
  command = "npm run docs:appliance",
): string {
  let out = text;
  for (const [name, body] of Object.entries(blocks)) {
    const begin = `<!-- generated: ${name} (${command}) -->`;
    const end = `<!-- end: ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README lacks the block ${begin} ... ${end}`);
    out = `${out.slice(0, from + begin.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}
