/**
 * Resolves the command line and the optional YAML file into one {@link ApplianceConfig}.
 * Precedence: defaults < config file < command line. Pure: the file's text is passed in.
 * Every problem is collected and reported at once as a {@link ConfigError}, YAML problems with
 * `file:line:column`.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { parseLocatedYaml, type YamlPath } from "../yaml-location";
import {
  addRunOptions,
  givenOptions,
  RUN_OPTIONS,
  type CliOptions,
  type RunOption,
} from "./options";
import {
  configFileSchema,
  emptyGroups,
  getIn,
  setIn,
  settingByKey,
  settingLeaves,
  type ApplianceConfig,
  type ConfigFile,
} from "./schema";

export { parseCpuList } from "./schema";
export { levelFromLogging } from "./options";

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Parses and validates a YAML configuration file. */
export function parseConfigFile(
  text: string,
  fileName = "config",
): { ok: true; value: ConfigFile } | { ok: false; problems: string[] } {
  const { doc, syntaxErrors, locate } = parseLocatedYaml(text, fileName);
  if (syntaxErrors.length > 0) return { ok: false, problems: syntaxErrors };
  const data: unknown = doc.toJS() ?? {};
  const r = configFileSchema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  const problems: string[] = [];
  for (const issue of r.error.issues) {
    const path: YamlPath = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
    const where = path.length > 0 ? `${path.join(".")}: ` : "";
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        problems.push(`${locate([...path, k], true)}: ${[...path, k].join(".")}: unknown key`);
      }
      continue;
    }
    problems.push(`${locate(path)}: ${where}${issue.message}`);
  }
  return { ok: false, problems };
}

/** A command-line value of `row`'s setting, or why it is not one. */
function cliValue(
  row: RunOption,
  raw: string | boolean | readonly string[],
): { value: unknown } | { problems: string[] } {
  if (row.parse && typeof raw === "string") {
    const r = row.parse(raw);
    return "value" in r ? r : { problems: [r.problem] };
  }
  const r = settingByKey(row.key!).value.cli.safeParse(row.value ?? raw);
  return r.success ? { value: r.data } : { problems: r.error.issues.map((i) => i.message) };
}

/** `-p/--port` for "-p, --port <port>". */
function flagLabel(row: RunOption): string {
  return row.flags.replace(/ <.*$/, "").split(/,\s*/).join("/");
}

/**
 * Merges explicitly given command-line options over a parsed config file over the defaults, for
 * every setting of the table. Throws ConfigError listing every problem, in table order.
 */
export function resolveOptions(
  cli: CliOptions,
  file?: ConfigFile,
  fileName?: string,
): ApplianceConfig {
  const problems: string[] = [];
  const config = emptyGroups();
  for (const { path, setting } of settingLeaves()) {
    let value = getIn(file, setting.key.split(".")) ?? setting.default;
    for (const row of RUN_OPTIONS) {
      if (row.key !== setting.key) continue;
      const raw = cli[new Option(row.flags).attributeName()];
      if (raw === undefined) continue;
      const r = cliValue(row, raw);
      if ("problems" in r) problems.push(...r.problems.map((p) => `${flagLabel(row)}: ${p}`));
      else value = r.value;
    }
    if (value !== undefined) setIn(config, path, value);
  }
  if (fileName) config.configFile = fileName;
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ApplianceConfig;
}

/**
 * Why this configuration cannot forward anything (empty when it can): with neither a rules file
 * nor a CREATE hook, nothing connects gwi-X to gwo-X and every packet the GWLB sends is lost
 * while the daemon looks alive. `tollgate run` refuses such a configuration unless the user says
 * forwarding is wired outside the daemon.
 */
export function forwardingProblems(config: ApplianceConfig): string[] {
  if (config.rulesFile || config.hooks.create || config.externalForwarding) return [];
  return [
    [
      "no forwarding path: without a rules file or a CREATE hook nothing forwards gwi-X to gwo-X and every packet the GWLB sends is dropped. Add one of:",
      "  --rules FILE (YAML `rules: FILE`); examples/rules/default.yaml inspects and allows all traffic",
      "  -c/--cmdnew COMMAND (YAML `hooks.create`), a CREATE hook that sets up forwarding",
      "  --external-forwarding (YAML `externalForwarding: true`) if forwarding is wired outside the daemon",
    ].join("\n"),
  ];
}

/** A fresh `run` command with every option, throwing instead of exiting on errors. */
export function runOptionsCommand(): Command {
  const cmd = addRunOptions(new Command("run"));
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  cmd.allowExcessArguments(false);
  return cmd;
}

/**
 * Resolves `tollgate run` arguments (without the program name and the `run` word) and the text
 * of the `--config` file when one is named. Pure; throws ConfigError.
 */
export function resolveConfig(argv: readonly string[], fileText?: string): ApplianceConfig {
  const cmd = runOptionsCommand();
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError([err.message.replace(/^error: /, "")]);
    throw err;
  }
  const cli = givenOptions(cmd);
  return resolveWithFile(cli, fileText);
}

/**
 * The one configuration loader of the CLI (`tollgate`, `tollgate alerts`): the given options plus
 * the `--config` file they name, read here; a file that cannot be read is a ConfigError naming it.
 */
export function loadConfig(
  cli: CliOptions,
  read: (file: string) => string = (file) => readFileSync(file, "utf8"),
): ApplianceConfig {
  if (cli.config === undefined) return resolveOptions(cli);
  let text: string;
  try {
    text = read(cli.config);
  } catch (e) {
    throw new ConfigError([
      `--config ${cli.config}: cannot be read (${(e as Error).message}). Fix: give the path of the daemon's configuration file (e.g. /etc/tollgate/tollgate.yaml)`,
    ]);
  }
  return resolveWithFile(cli, text);
}

/** Resolves given CLI options plus the config file text (required when cli.config is set). */
export function resolveWithFile(cli: CliOptions, fileText?: string): ApplianceConfig {
  if (cli.config === undefined) return resolveOptions(cli);
  if (fileText === undefined) throw new ConfigError([`--config ${cli.config}: file not read`]);
  const parsed = parseConfigFile(fileText, cli.config);
  if (!parsed.ok) throw new ConfigError(parsed.problems);
  return resolveOptions(cli, parsed.value, cli.config);
}
