/**
 * `npm run plan`: runs the Tollgate program offline under Pulumi mocks with a stack config file
 * and prints, per inspected subnet and direction, the hops a packet takes ("follow the packet").
 * `--json` writes the captured deployment (the shape of `pulumi stack export`) instead.
 */
import { Command, Option } from "commander";
import * as fs from "fs";
import * as YAML from "yaml";
import { isConfigError } from "@tollgate/components";
import {
  followThePacket,
  formatPacketWalks,
  linkStack,
  stackDiagram,
  topologyOf,
  walkedPaths,
  type WalkedPath,
} from "@tollgate/policy";
import { captureStack, type DeploymentV3 } from "./capture";

/** Reads a `Pulumi.<stack>.yaml` file into capture config (namespace `tollgate:` stripped). */
export function readStackConfig(file: string, project = "tollgate"): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new PlanError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new PlanError(`${file}: "config" must be a mapping of keys to values`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    const value =
      v !== null && typeof v === "object" && "value" in (v as object)
        ? (v as { value: unknown }).value
        : v;
    if ((v as { secure?: unknown } | null)?.secure !== undefined) continue;
    out[k.startsWith(`${project}:`) ? k.slice(project.length + 1) : k] = value;
  }
  return out;
}

export class PlanError extends Error {}

export async function runPlan(
  argv: readonly string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  capture: typeof captureStack = captureStack,
): Promise<number> {
  const program = new Command()
    .name("plan")
    .description("Run the Tollgate program offline (Pulumi mocks) and show how packets are routed")
    .option("-c, --config <file>", "stack config file", "Pulumi.dev.yaml")
    .option("-s, --stack <name>", "stack name", "dev")
    .option(
      "--json",
      "write the captured deployment (pulumi stack export shape) instead of the hops",
    )
    .addOption(
      new Option(
        "--diagram",
        "write the topology and every followed path as a Mermaid flowchart instead of the hops",
      ).conflicts("json"),
    )
    .option("-o, --out <file>", "write the output to a file instead of stdout")
    .option(
      "--check",
      "exit 3 when any path skips inspection, leaves its AZ or is not delivered (for CI)",
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  try {
    program.parse([...argv], { from: "user" });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const opts = program.opts<{
    config: string;
    stack: string;
    json?: boolean;
    diagram?: boolean;
    out?: string;
    check?: boolean;
  }>();
  try {
    const config = readStackConfig(opts.config);
    const dep = await capture({ config, stack: opts.stack });
    const paths = planPaths(dep);
    const bad = paths.filter(({ verdict: v }) => !v.inspected || !v.sameAz || !v.delivered);
    const text = opts.json
      ? JSON.stringify(dep, null, 2) + "\n"
      : opts.diagram
        ? stackDiagram(dep.deployment.resources)
        : header(dep.deployment.resources.length, opts.config) +
          formatPacketWalks(paths) +
          summary(paths.length, bad.length);
    if (opts.out) {
      fs.writeFileSync(opts.out, text);
      err.write(`wrote ${opts.out} (${dep.deployment.resources.length} resources)\n`);
    } else {
      out.write(text);
    }
    if (opts.check && bad.length > 0) {
      err.write(`plan: ${bad.length} of ${paths.length} paths are not inspected in their own AZ\n`);
      return 3;
    }
    return 0;
  } catch (e) {
    if (isConfigError(e) || e instanceof PlanError) {
      err.write(`plan: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

/** Follow the packet over a captured deployment, with the policy pack's routing model. */
export function planPaths(dep: DeploymentV3): WalkedPath[] {
  return walkedPaths(
    followThePacket(topologyOf(linkStack(dep.deployment.resources)), { spokes: true }),
  );
}

function summary(total: number, bad: number): string {
  return bad === 0
    ? `\n${total} paths: every one inspected by the GWLB endpoint of its own AZ and delivered.\n`
    : `\n${total} paths: ${bad} NOT inspected in their own AZ or not delivered (see above).\n`;
}

function header(count: number, file: string): string {
  return `Tollgate plan for ${file}: ${count} resources (offline, Pulumi mocks)\n`;
}

if (require.main === module) {
  runPlan(process.argv.slice(2), process.stdout, process.stderr).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(
        `plan: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
