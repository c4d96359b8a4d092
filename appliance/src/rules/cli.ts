import { promises as fs } from "node:fs";
import type { Command } from "commander";
import { parseCapabilities } from "./capabilities";
import { ApplyError, RulesEngine, stateFileForNetns } from "./engine";
import type { CompiledRuleset, EndpointRef } from "./model";
import { readRulesFile, type LoadedRules } from "./parse";
import { formatProblem } from "./problems";
import { endpointRefs, sampleEndpoint, validateRulesFile } from "./validate";
import { ExecRunner } from "../command";

interface CommonOptions {
  capabilities?: string;
  endpoint?: string[];
  netns?: string;
  stateFile?: string;
}

/** Loads and validates a rules file; prints the errors and returns undefined when invalid. */
export async function loadRulesFile(file: string): Promise<LoadedRules | undefined> {
  const r = await readRulesFile(file);
  if (r.ok) return r.rules;
  const errors = "readError" in r ? [`${file}: ${r.readError}`] : r.errors;
  for (const e of errors) process.stderr.write(`${e}\n`);
  return undefined;
}

function engineFor(o: CommonOptions): RulesEngine {
  return new RulesEngine({
    runner: new ExecRunner({ netns: o.netns }),
    capabilities: o.capabilities ? parseCapabilities(o.capabilities) : undefined,
    stateFile: o.stateFile ?? (o.netns ? stateFileForNetns(o.netns) : undefined),
    log: (m) => process.stderr.write(`${m}\n`),
  });
}

async function endpointsFor(engine: RulesEngine, o: CommonOptions): Promise<EndpointRef[]> {
  const extra = endpointRefs(o.endpoint);
  const found = await engine.discoverEndpoints();
  const all = new Map([...found, ...extra].map((e) => [e.gwi, e]));
  return [...all.values()];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Runs a command action; errors (not root, missing tool) become one line and exit code 1. */
function guarded<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const hint = process.getuid?.() !== 0 ? " (most rules commands need root)" : "";
      process.stderr.write(`tollgate rules: ${(e as Error).message}${hint}\n`);
      process.exitCode = 1;
    }
  };
}

/** A command action on a rules file: runs `fn` once the file is loaded and valid (else exit 1). */
function withRulesFile<O>(
  fn: (loaded: LoadedRules, o: O, file: string) => Promise<void>,
): (file: string, o: O) => Promise<void> {
  return async (file: string, o: O) => {
    const loaded = await loadRulesFile(file);
    if (!loaded) {
      process.exitCode = 1;
      return;
    }
    await fn(loaded, o, file);
  };
}

function common(cmd: Command): Command {
  return cmd
    .option(
      "--capabilities <list>",
      "skip probing: comma list of ingress,u32,mirred,flower,matchall,gact,ipset,ip6tables",
    )
    .option(
      "--endpoint <id>",
      "also compile for this endpoint (vpce-<hex17>, <hex17>, gwi-<id>); repeatable",
      collect,
    )
    .option("--netns <name>", "operate inside this network namespace")
    .option(
      "--state-file <path>",
      "record of applied tc filters and the apply lock (default: per network namespace under /run/tollgate)",
    );
}

/** Reads a file for a command; prints why it cannot and returns undefined. */
async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    process.stderr.write(
      `${file}: cannot read it (${(e as Error).message}). Fix: give the path of a rules file.\n`,
    );
    return undefined;
  }
}

/**
 * `rules check`: every problem of the file at once (validate.ts), without root or a kernel
 * change; then what was checked, and with --print the compiled documents.
 */
async function check(file: string, o: { endpoint?: string[]; print?: boolean }): Promise<void> {
  const text = await readText(file);
  const v =
    text === undefined ? undefined : validateRulesFile(text, { file, endpoints: o.endpoint });
  if (!v) {
    process.exitCode = 1;
    return;
  }
  for (const p of v.problems) process.stderr.write(`${formatProblem(p)}\n`);
  for (const n of v.notes) process.stderr.write(`note: ${n}\n`);
  if (o.print && v.compiled) printCompiled(v.compiled, sampleLabel(v.rules));
  process.stdout.write(`checked:\n${v.checked.map((c) => `  ${c}\n`).join("")}`);
  if (v.problems.length > 0) {
    process.stderr.write(`${file}: ${v.problems.length} problem(s)\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${file}: OK\n`);
  }
}

/** The label of the sample endpoint in printed rules. */
function sampleLabel(loaded: LoadedRules | undefined): string {
  const s = sampleEndpoint(loaded);
  return `# ${s.gwi}/${s.gwo} is a SAMPLE endpoint (${s.key}, not a real one): the rules any endpoint without a section gets`;
}

function printCompiled(c: CompiledRuleset, label: string): void {
  process.stdout.write(`${label}\n`);
  process.stdout.write(`# iptables-restore --noflush\n${c.iptablesRestore}`);
  if (c.ip6tablesRestore)
    process.stdout.write(`# ip6tables-restore --noflush\n${c.ip6tablesRestore}`);
  if (c.ipsetRestore) process.stdout.write(`# ipset restore\n${c.ipsetRestore}`);
  for (const a of [...c.tc, ...c.ipRules]) process.stdout.write(`${a.join(" ")}\n`);
  for (const s of c.sysctls) process.stdout.write(`sysctl -w ${s.key}=${s.value}\n`);
}

/** Without root, plan compiles on assumed capabilities but cannot read iptables and ipset. */
const isRoot = () => process.getuid?.() === 0;

/**
 * `rules plan`: exit 1 when the rules do not compile, 2 on changes with --detailed-exitcode.
 * Without root it shows what was compiled without the comparison; with no endpoint present or
 * given, it also shows a sample endpoint's rules (labelled, not applied, not counted).
 */
async function plan(
  loaded: LoadedRules,
  o: CommonOptions & { detailedExitcode?: boolean },
): Promise<void> {
  const readLive = isRoot();
  if (!readLive && o.detailedExitcode)
    throw new Error("--detailed-exitcode compares with the live rules, which needs root");
  const engine = engineFor(o);
  const endpoints = await endpointsFor(engine, o);
  const result = await engine.plan(loaded, endpoints, { readLive });
  process.stdout.write(result.text);
  if (endpoints.length === 0) await printSample(engine, loaded);
  if (result.changes < 0) process.exitCode = 1;
  else if (result.changes > 0 && o.detailedExitcode) process.exitCode = 2;
}

/** The compiled rules of the sample endpoint, labelled as such. */
async function printSample(engine: RulesEngine, loaded: LoadedRules): Promise<void> {
  const sample = sampleEndpoint(loaded);
  const c = await engine.compile(loaded, [sample]);
  process.stdout.write(
    `\nno endpoint is present or given (--endpoint ID): below are the rules of a SAMPLE endpoint, not applied and not counted as changes\n`,
  );
  for (const e of c.errors) process.stdout.write(`error (sample endpoint): ${e}\n`);
  printCompiled(c, sampleLabel(loaded));
}

/** `rules apply`: exit 1 when refused or rolled back, 3 when the rollback failed too. */
async function apply(loaded: LoadedRules, o: CommonOptions, file: string): Promise<void> {
  const engine = engineFor(o);
  try {
    const r = await engine.apply(loaded, await endpointsFor(engine, o));
    for (const n of r.compiled.notes) process.stderr.write(`note: ${n}\n`);
    process.stdout.write(
      `applied ${file}: ${r.compiled.endpoints.length} endpoint(s), verified, ${r.ms.toFixed(0)} ms\n`,
    );
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = e instanceof ApplyError && e.rolledBack ? 1 : 3;
  }
}

/** Registers `tollgate rules check|plan|apply|show|remove` on the appliance CLI. */
export function registerRulesCommands(program: Command): void {
  const rules = program
    .command("rules")
    .description(
      "declarative rules compiled to iptables, ipset, tc and policy routing, applied atomically",
    );

  rules
    .command("check")
    .argument("<file>", "rules file (YAML)")
    .option("--endpoint <id>", "compile for this endpoint too; repeatable", collect)
    .option("--print", "print the compiled documents")
    .description(
      "report every problem of a rules file at once (file:line:col, what, fix) and compile it for each endpoint section and a sample endpoint; no root, no kernel change",
    )
    .action(check);

  common(rules.command("plan"))
    .argument("<file>", "rules file (YAML)")
    .option("--detailed-exitcode", "exit 2 when there are changes")
    .description(
      "show what apply would change against the live kernel state (without root: what it compiles, on assumed capabilities; with no endpoint: a sample endpoint's rules)",
    )
    .action(guarded(withRulesFile(plan)));

  common(rules.command("apply"))
    .argument("<file>", "rules file (YAML)")
    .description(
      "apply the rules in one transaction; on any failure the previous rules are restored",
    )
    .action(guarded(withRulesFile(apply)));

  rules
    .command("show")
    .option("--netns <name>", "operate inside this network namespace")
    .option("--capabilities <list>", "skip probing")
    .description("print Tollgate's live rules (own chains, sets, tc filters, ip rules)")
    .action(
      guarded(async (o: CommonOptions) => {
        process.stdout.write(await engineFor(o).show());
      }),
    );

  rules
    .command("remove")
    .option("--netns <name>", "operate inside this network namespace")
    .option("--capabilities <list>", "skip probing")
    .description(
      "remove every Tollgate chain, jump, set, tc filter and ip rule (others' rules untouched)",
    )
    .action(
      guarded(async (o: CommonOptions) => {
        await engineFor(o).remove();
        process.stdout.write("removed\n");
      }),
    );
}
