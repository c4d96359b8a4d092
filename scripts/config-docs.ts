/**
 * `npm run docs:config`: rewrites the reference tables of docs/configuration.md from the stack
 * schema (components/schema/stack.ts). `--check` only reports drift (exit 1).
 */
import * as fs from "fs";
import * as path from "path";
import { exampleStackFile, renderConfigDocs } from "@tollgate/components";

export const CONFIG_DOCS = path.resolve(__dirname, "../../docs/configuration.md");
export const EXAMPLE_STACK = path.resolve(__dirname, "../../Pulumi.dev.yaml");

/** Each generated file and how it is rendered from its current text. */
const TARGETS: readonly { file: string; what: string; render: (current: string) => string }[] = [
  { file: CONFIG_DOCS, what: "reference tables", render: renderConfigDocs },
  { file: EXAMPLE_STACK, what: "example stack file", render: () => exampleStackFile() },
];

function main(argv: readonly string[]): number {
  let drift = 0;
  for (const t of TARGETS) {
    const current = fs.readFileSync(t.file, "utf8");
    const rendered = t.render(current);
    if (rendered === current) continue;
    if (argv.includes("--check")) {
      process.stderr.write(
        `${t.file}: the ${t.what} differ from the schema; run npm run docs:config\n`,
      );
      drift++;
      continue;
    }
    fs.writeFileSync(t.file, rendered);
    process.stdout.write(`${t.file}: ${t.what} rewritten from the schema\n`);
  }
  return drift > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
