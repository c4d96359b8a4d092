import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  type ApplianceConfig,
  buildProgram,
  type RunningDaemon,
  type StartDaemon,
} from "@tollgate/appliance";

/**
 * Runs the `tollgate` CLI with a fake daemon that stops at once. `files` are written to a scratch
 * directory and arguments equal to their names are replaced by their paths. Returns the config
 * the daemon was started with (undefined: not started), the exit code and what went to stderr.
 */
export async function runCli(
  argv: readonly string[],
  files: Readonly<Record<string, string>> = {},
): Promise<{
  config: ApplianceConfig | undefined;
  code: number | string | undefined;
  stderr: string;
}> {
  let got: ApplianceConfig | undefined;
  const start: StartDaemon = async (config) => {
    got = config;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const d: RunningDaemon = { stop: async () => stop(), stopped };
    setImmediate(() => stop());
    return d;
  };
  const program = buildProgram(start);
  program.exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const write = process.stderr.write;
  const errs: string[] = [];
  process.stderr.write = ((s: string) => (errs.push(s), true)) as typeof process.stderr.write;
  const saved = process.exitCode;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-cli-"));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const args = argv.map((a) => (a in files ? path.join(dir, a) : a));
    await program.parseAsync(["node", "tollgate", ...args]);
    return { config: got, code: process.exitCode, stderr: errs.join("") };
  } finally {
    process.exitCode = saved;
    process.stderr.write = write;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
