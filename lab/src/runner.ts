import { execFile } from "node:child_process";

/** One command as an argv array: never a shell string. */
export type Argv = readonly string[];

export interface RunOptions {
  /** Do not reject when the command exits non-zero (teardown, probes of state). Defaults to false. */
  readonly allowFailure?: boolean;
  /** Kill the command after this many milliseconds. Defaults to 10000. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly argv: Argv;
  /** Exit code; null when the command was killed (timeout) or could not be started. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs commands. The lab's orchestration only talks to the system through this. */
export interface CommandRunner {
  run(argv: Argv, options?: RunOptions): Promise<RunResult>;
}

/** Thrown when a command fails and the caller did not allow failure. */
export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-3).join(" | ");
    super(
      `command failed (exit ${result.code ?? "killed"}): ${result.argv.join(" ")}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "CommandError";
  }
}

/** The real runner: child_process.execFile, no shell. */
export class ExecFileRunner implements CommandRunner {
  run(argv: Argv, options: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new Error("empty command"));
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
        (error, stdout, stderr) => {
          let code: number | null = 0;
          if (error) {
            const c = (error as NodeJS.ErrnoException & { code?: unknown }).code;
            code = typeof c === "number" ? c : null;
            if (code === null && typeof c === "string" && stderr === "")
              stderr = `${c}: ${error.message}`;
          }
          const result: RunResult = { argv, code, stdout, stderr };
          if (code !== 0 && !options.allowFailure) reject(new CommandError(result));
          else resolve(result);
        },
      );
    });
  }
}

/**
 * Records commands instead of running them: `lab up --dry-run` prints them, and unit tests
 * assert on them. `respond` decides what each command returns (default: success, no output).
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: Argv[] = [];
  constructor(
    private readonly respond: (argv: Argv) => Partial<RunResult> | undefined = () => undefined,
  ) {}

  async run(argv: Argv, options: RunOptions = {}): Promise<RunResult> {
    this.calls.push(argv);
    const r = this.respond(argv) ?? {};
    const result: RunResult = {
      argv,
      code: r.code === undefined ? 0 : r.code,
      stdout: r.stdout ?? "",
      stderr: r.stderr ?? "",
    };
    if (result.code !== 0 && !options.allowFailure) throw new CommandError(result);
    return result;
  }
}
