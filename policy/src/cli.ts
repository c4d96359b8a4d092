/**
 * `tollgate-policy`: runs the Tollgate pack offline over a stack export, a preview or a plan.
 * Exit codes: 0 no mandatory violation, 1 mandatory violations, 2 unreadable/malformed input or
 * config (clear message, no stack trace), 3 internal error.
 */
import { Command, CommanderError, Option } from "commander";
import { writeFileSync } from "node:fs";
import { tollgatePolicies } from "./policies";
import { PolicyConfigError } from "./runner/config";
import { modelDiagram } from "./runner/diagram";
import { formatJson, formatText } from "./runner/format";
import { InputError, readConfig, readInput } from "./runner/input";
import { hasMandatory, runPolicies } from "./runner/runner";

export const EXIT = { ok: 0, violations: 1, badInput: 2, internal: 3 } as const;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
};

interface CheckOptions {
  format: string;
  config?: string;
  diagram?: string;
}

/** The Mermaid diagram to a file, or after the report on standard output (`-`). */
function writeDiagram(target: string, format: string, text: string, io: Io): void {
  if (target === "-" && format === "json") {
    throw new InputError(
      "--diagram - would break the JSON report: give a file, e.g. --diagram plan.mmd",
    );
  }
  if (target === "-") io.out(`\n\`\`\`mermaid\n${text}\`\`\``);
  else {
    try {
      writeFileSync(target, text);
    } catch (e) {
      throw new InputError(`cannot write the diagram to ${target}: ${(e as Error).message}`);
    }
  }
}

async function check(file: string, opts: CheckOptions, io: Io): Promise<number> {
  const input = readInput(file);
  const config = opts.config ? readConfig(opts.config) : undefined;
  const result = await runPolicies(input.resources, { config, packEnforcementLevel: "advisory" });
  const source = file === "-" ? "standard input" : file;
  const report = { source, kind: input.kind, result, policies: tollgatePolicies };
  io.out(opts.format === "json" ? formatJson(report) : formatText(report));
  if (opts.diagram) writeDiagram(opts.diagram, opts.format, modelDiagram(result.model), io);
  return hasMandatory(result) ? EXIT.violations : EXIT.ok;
}

function list(format: string, io: Io): number {
  if (format === "json") {
    io.out(
      JSON.stringify(
        tollgatePolicies.map((p) => ({
          name: p.name,
          severity: p.severity,
          enforcementLevel: p.enforcementLevel,
          description: p.description,
          url: p.url,
          config: Object.keys(p.configSchema?.properties ?? {}),
        })),
        null,
        2,
      ),
    );
  } else {
    for (const p of tollgatePolicies)
      io.out(`${p.name} [${p.enforcementLevel}, ${p.severity}]\n  ${p.description}`);
  }
  return EXIT.ok;
}

/** Runs the CLI; resolves to the exit code (never throws, never prints a stack trace). */
export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const format = new Option("--format <format>", "output format")
    .choices(["text", "json"])
    .default("text");
  const program = new Command("tollgate-policy")
    .description(
      "Check a Pulumi stack against the Tollgate policy pack without the Pulumi CLI or AWS.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
    });
  program
    .command("check")
    .description(
      "check FILE: output of `pulumi stack export`, `pulumi preview --json` or `npm run plan -- --json`",
    )
    .argument("<file>", 'deployment or preview JSON file ("-" reads standard input)')
    .addOption(format)
    .option(
      "--config <file>",
      "policy config JSON (same format as `pulumi preview --policy-pack-config`)",
    )
    .option(
      "--diagram <file>",
      'also write the topology as a Mermaid flowchart, failing hops in red ("-": after the report)',
    )
    .action(async (file: string, opts: CheckOptions) => {
      code = await check(file, opts, io);
    });
  program
    .command("list")
    .description("list the policies of the pack")
    .addOption(
      new Option("--format <format>", "output format").choices(["text", "json"]).default("text"),
    )
    .action((opts: { format: string }) => {
      code = list(opts.format, io);
    });
  try {
    await program.parseAsync([...argv], { from: "node" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return EXIT.ok;
      return EXIT.badInput;
    }
    if (e instanceof InputError || e instanceof PolicyConfigError) {
      io.err(`tollgate-policy: ${e.message}`);
      return EXIT.badInput;
    }
    io.err(`tollgate-policy: internal error: ${(e as Error).message ?? String(e)}`);
    return EXIT.internal;
  }
}

/** Entry for bin/tollgate-policy.js. */
export function main(argv: readonly string[]): void {
  void run(argv).then((c) => {
    process.exitCode = c;
  });
}
