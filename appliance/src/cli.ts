/**
 * The `tollgate` command.
 *
 *   tollgate [run] [options]     run the GENEVE decapsulator daemon (the default command, so the
 *                                reference's `gwlbtun -c ... -p 8080` works as `tollgate -c ... -p 8080`)
 *   tollgate rules ...           rule engine (plan, apply, show)
 *   tollgate alerts              recent Suricata alerts (alerts/cli.ts)
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import type { ApplianceConfig } from "./config/config";
import { createLogger, type Logger } from "./config/logger";
import { addRunOptions, givenOptions, type CliOptions } from "./config/options";
import { ConfigError, forwardingProblems, loadConfig } from "./config/resolve";
import { registerRulesCommands } from "./rules/cli";
import { registerAlertsCommand } from "./alerts/cli";

/** What the CLI needs from daemon/index.ts. */
export interface RunningDaemon {
  stop(reason?: string): Promise<void>;
  /** Resolves once the daemon has stopped (signal or stop()). */
  readonly stopped: Promise<void>;
}

export type StartDaemon = (
  config: ApplianceConfig,
  options: { logger: Logger },
) => Promise<RunningDaemon>;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Loads daemon/index.ts lazily (it pulls in the native addon, not needed by other commands). */
async function loadStartDaemon(): Promise<StartDaemon> {
  const mod = await import("./daemon/index");
  return mod.startDaemon;
}

/** Reads the --config file, resolves the configuration, starts the daemon and waits for it to stop. */
export async function runCommand(cli: CliOptions, start?: StartDaemon): Promise<number> {
  let config: ApplianceConfig;
  try {
    config = loadConfig(cli);
    const refused = forwardingProblems(config);
    if (refused.length > 0) throw new ConfigError(refused);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    for (const p of problems) process.stderr.write(`tollgate: ${p}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  try {
    const startDaemon = start ?? (await loadStartDaemon());
    const daemon = await startDaemon(config, { logger });
    await daemon.stopped;
    logger.info("stopped");
    return 0;
  } catch (err) {
    logger.fatal({ err }, "cannot start");
    return 1;
  }
}

export function buildProgram(start?: StartDaemon): Command {
  const program = new Command("tollgate")
    .description(
      "Tollgate appliance: GENEVE decapsulator for AWS Gateway Load Balancer targets, rule engine",
    )
    .version(version(), "-V, --version");
  const run = program
    .command("run", { isDefault: true })
    .description(
      "run the GENEVE decapsulator daemon (default command; `tollgate run --help` lists every option)",
    );
  addRunOptions(run);
  run.action(async (_opts: unknown, cmd: Command) => {
    process.exitCode = await runCommand(givenOptions(cmd), start);
  });
  registerRulesCommands(program);
  registerAlertsCommand(program);
  program.addHelpText("after", () => {
    const lines = run.helpInformation().split("\n");
    const from = lines.findIndex((l) => l.startsWith("Reference-compatible"));
    return `\nDaemon options (for \`tollgate\` and \`tollgate run\`):\n\n${lines.slice(Math.max(0, from)).join("\n")}`;
  });
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  await runProgram(buildProgram(), "tollgate", argv);
}

/**
 * Runs a commander program as a command: commander's own exits become the exit code, any other
 * error is one line `<name>: <message>` on stderr and exit code 1.
 */
export async function runProgram(
  program: Command,
  name: string,
  argv: readonly string[],
): Promise<void> {
  program.exitOverride((err: CommanderError) => {
    throw err;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
