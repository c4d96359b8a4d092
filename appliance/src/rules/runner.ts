/**
 * Commands are argv arrays run without a shell behind this small interface, so the engine is
 * tested with a fake runner and no root.
 */
import { execFile } from "node:child_process";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** Runs argv[0] with the remaining arguments; `input` is written to stdin. Never throws for a non-zero exit. */
  run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult>;
}

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

/** Runs a command and throws CommandError on a non-zero exit. */
export async function runChecked(
  runner: CommandRunner,
  argv: readonly string[],
  input?: string,
): Promise<CommandResult> {
  const r = await runner.run(argv, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new CommandError(argv, r);
  return r;
}

/** child_process.execFile, no shell; optionally inside a network namespace (`ip netns exec`). */
export class ExecRunner implements CommandRunner {
  constructor(private readonly netns?: string) {}

  run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult> {
    const full = this.netns ? ["ip", "netns", "exec", this.netns, ...argv] : [...argv];
    return new Promise((resolve) => {
      const child = execFile(
        full[0]!,
        full.slice(1),
        { maxBuffer: 512 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } },
        (error, stdout, stderr) => {
          const code =
            error === null ? 0 : typeof error.code === "number" ? error.code : error.code ? 127 : 1;
          resolve({
            code,
            stdout: String(stdout),
            stderr: String(stderr || (error && code === 127 ? error.message : "")),
          });
        },
      );
      child.stdin?.on("error", () => undefined);
      if (options?.input !== undefined) child.stdin?.end(options.input);
      else child.stdin?.end();
    });
  }
}
