/**
 * `npm run docs:config`: rewrites the reference tables of docs/configuration.md from the stack
 * schema (components/schema/stack.ts). `--check` only reports drift (exit 1).
 */
import * as fs from "fs";
import * as path from "path";
import { renderConfigDocs } from "@tollgate/components";

export const CONFIG_DOCS = path.resolve(__dirname, "../../docs/configuration.md");

function main(argv: readonly string[]): number {
  const current = fs.readFileSync(CONFIG_DOCS, "utf8");
  const rendered = renderConfigDocs(current);
  if (rendered === current) return 0;
  if (argv.includes("--check")) {
    process.stderr.write(
      `${CONFIG_DOCS}: the reference tables differ from the schema; run npm run docs:config\n`,
    );
    return 1;
  }
  fs.writeFileSync(CONFIG_DOCS, rendered);
  process.stdout.write(`${CONFIG_DOCS}: reference tables rewritten from the schema\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
