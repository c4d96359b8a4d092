/**
 * Commands are argv arrays run without a shell behind one small interface, so everything that runs
 * commands (the rule engine, the lab) is tested with a fake runner and no root.
 *
 * The contract: {@link CommandRunner.run} resolves with the exit code and output, whatever the exit
 * code; {@link runChecked} is the one way to say "this command must succeed" (it rejects with a
 * {@link CommandError} otherwise).
 */
import { execFile } from "node:child_process";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin. */
  readonly input?: string;
}

export interface CommandRunner {
  /** Runs argv[0] with the remaining arguments. Never throws for a non-zero exit. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** A command that had to succeed exited non-zero. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    const err = result.stderr.trim().split("\n").slice(0, 6).join(" | ");
    super(`${argv.join(" ")}: exit ${result.code}${err ? `: ${err}` : ""}`);
    this.name = "CommandError";
  }
}

/** Runs a command that must succeed: rejects with a {@link CommandError} on a non-zero exit. */
export async function runChecked(
  runner: CommandRunner,
  argv: readonly string[],
  input?: string,
): Promise<CommandResult> {
  const r = await runner.run(argv, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new CommandError(argv, r);
  return r;
}

export interface ExecRunnerOptions {
  /** Run every command inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Kill a command still running after this many milliseconds (exit code 1). No limit by default. */
  readonly timeoutMs?: number;
}

/**
 * child_process.execFile, no shell, with `LC_ALL=C`. A command that cannot be started exits 127
 * with the reason on stderr.
 */
export class ExecRunner implements CommandRunner {
  constructor(private readonly options: ExecRunnerOptions = {}) {}

  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const { netns, timeoutMs } = this.options;
    const full = netns ? ["ip", "netns", "exec", netns, ...argv] : [...argv];
    return new Promise((resolve) => {
      const child = execFile(
        full[0]!,
        full.slice(1),
        {
          maxBuffer: 512 * 1024 * 1024,
          env: { ...process.env, LC_ALL: "C" },
          timeout: timeoutMs ?? 0,
        },
        (error, stdout, stderr) => {
          const code =
            error === null ? 0 : typeof error.code === "number" ? error.code : error.code ? 127 : 1;
          const reason =
            error?.killed && timeoutMs
              ? `killed after ${timeoutMs} ms`
              : error && code === 127
                ? error.message
                : "";
          resolve({ code, stdout: String(stdout), stderr: String(stderr || reason) });
        },
      );
      child.stdin?.on("error", () => undefined);
      if (options?.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  }
}
