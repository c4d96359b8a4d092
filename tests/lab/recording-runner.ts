import type { CommandResult, CommandRunner } from "@tollgate/appliance";

/** One command as an argv array. */
export type Argv = readonly string[];

/**
 * Records commands instead of running them, so tests assert on them. `respond` decides what each
 * command returns (default: success, no output).
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: Argv[] = [];
  constructor(
    private readonly respond: (argv: Argv) => Partial<CommandResult> | undefined = () => undefined,
  ) {}

  async run(argv: Argv): Promise<CommandResult> {
    this.calls.push(argv);
    const r = this.respond(argv) ?? {};
    return { code: r.code ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }
}
