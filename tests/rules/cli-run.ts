/** Runs the real `tollgate` program in process (as `node appliance/bin/tollgate.js ...` does), capturing its output. */
import { buildProgram, runProgram } from "@tollgate/appliance";

export interface CliResult {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

export async function tollgate(...args: string[]): Promise<CliResult> {
  let out = "";
  let err = "";
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => ((out += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((err += c), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await runProgram(buildProgram(), "tollgate", ["node", "tollgate", ...args]);
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { out, err, code };
}
