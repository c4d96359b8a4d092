/**
 * `npm run plan`: runs the Tollgate program offline under Pulumi mocks with a stack config file
 * and prints, per inspected subnet and direction, the hops a packet takes ("follow the packet").
 * `--json` writes the captured deployment (the shape of `pulumi stack export`) instead.
 */
import { Command, Option } from "commander";
import * as fs from "fs";
import { parseLocatedYaml } from "@tollgate/appliance";
import {
  checkRegion,
  closest,
  isConfigError,
  KNOWN_REGIONS,
  knownAzs,
  problemAt,
  PROVIDER_REGIONS,
} from "@tollgate/components";
import {
  followThePacket,
  formatPacketWalks,
  linkStack,
  topologyDiagram,
  topologyOf,
  walkedPaths,
  type SubnetWalk,
  type Topology,
  type WalkedPath,
} from "@tollgate/policy";
import { captureStack, type DeploymentV3 } from "./capture";

/** Top-level keys of a `Pulumi.<stack>.yaml` file (pulumi.com/docs/iac/concepts/projects/stack-settings-file). */
const STACK_FILE_KEYS = [
  "config",
  "secretsprovider",
  "encryptedkey",
  "encryptionsalt",
  "environment",
];

/** A stack config file as the plan reads it: the capture config and the file's own problems. */
export interface StackFile {
  /** `tollgate:` keys without the namespace, other namespaces as is; secure values left out. */
  readonly config: Record<string, unknown>;
  /** Problems of the file's shape, each `file:line:col: what. Fix: ...`. */
  readonly problems: readonly string[];
}

/**
 * Reads a `Pulumi.<stack>.yaml` file and checks its shape as Pulumi would read it: a mapping with
 * the stack settings under `config:`, known top-level keys (did you mean), every config key
 * namespaced (`tollgate:` / `aws:`), and an `aws:region` (the plan never assumes one). Throws a
 * {@link PlanError} when there is nothing to plan (unreadable, empty, no `config:` mapping).
 */
export function loadStackFile(file: string, project = "tollgate"): StackFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new PlanError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { doc, syntaxErrors, locate } = parseLocatedYaml(text, file);
  if (syntaxErrors.length > 0) throw new PlanError(syntaxErrors.join("\n"));
  const top: unknown = doc.toJS();
  const stop = (problem: string, fix: string): never => {
    throw new PlanError(`${locate([])}: ${problem}. Fix: ${fix}.`);
  };
  if (top === null || top === undefined)
    stop(
      "is empty",
      "put the stack settings under config:, at least aws:region (see Pulumi.dev.yaml)",
    );
  if (typeof top !== "object" || Array.isArray(top))
    stop("is not a mapping", "put the stack settings under config: (see Pulumi.dev.yaml)");
  const problems: string[] = [];
  const keys = Object.keys(top as object);
  for (const k of keys.filter((k) => !STACK_FILE_KEYS.includes(k))) {
    const near = closest(k, STACK_FILE_KEYS);
    problems.push(
      ...problemAt(
        locate([k], true),
        `${k} is not a stack file setting`,
        k.includes(":")
          ? "put the stack settings under config: (indented below it)"
          : near !== undefined
            ? `did you mean ${near}?`
            : `use ${STACK_FILE_KEYS.join(", ")}`,
      ).problems,
    );
  }
  const config = (top as { config?: unknown }).config;
  if (config === undefined || config === null) {
    if (problems.length > 0) throw new PlanError(problems.join("\n"));
    stop("has no config: settings", "put the stack settings under config:, at least aws:region");
  }
  if (typeof config !== "object" || Array.isArray(config))
    throw new PlanError(
      `${locate(["config"])}: config must be a mapping of keys to values. Fix: write one key: value per line below config:.`,
    );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    if (!k.includes(":")) {
      problems.push(
        `${locate(["config", k], true)}: ${k} has no namespace, which Pulumi refuses. Fix: write ${project}:${k} (or aws:${k} for a provider setting).`,
      );
      continue;
    }
    const value =
      v !== null && typeof v === "object" && "value" in (v as object)
        ? (v as { value: unknown }).value
        : v;
    if ((v as { secure?: unknown } | null)?.secure !== undefined) continue;
    out[k.startsWith(`${project}:`) ? k.slice(project.length + 1) : k] = value;
  }
  const region = out["aws:region"];
  const standIn = (r: string) => `the rest of the file was checked as if it were ${r}`;
  if (region === undefined) {
    out["aws:region"] = "us-east-1";
    problems.push(
      `${locate(["config"], true)}: aws:region is not set, and the plan does not assume one (${standIn("us-east-1")}). Fix: add aws:region: <region> under config:, e.g. aws:region: us-east-1.`,
    );
  } else if (typeof region !== "string" || knownAzs(region) === undefined) {
    const name = String(region);
    const near = closest(name, KNOWN_REGIONS) ?? "us-east-1";
    out["aws:region"] = near;
    const where = locate(["config", "aws:region"]);
    problems.push(
      PROVIDER_REGIONS.includes(name)
        ? `${where}: aws:region ${name} is not in the offline region table, so the plan cannot check its AZs (${standIn(near)}). Fix: add it to components/regions.ts (how: see the comment there), or preview against AWS.`
        : `${where}: ${messageOf(() => checkRegion(name))} (${standIn(near)})`,
    );
  }
  return { config: out, problems };
}

/** Reads a `Pulumi.<stack>.yaml` file into capture config; throws its shape problems. */
export function readStackConfig(file: string, project = "tollgate"): Record<string, unknown> {
  const f = loadStackFile(file, project);
  if (f.problems.length > 0) throw new PlanError(f.problems.join("\n"));
  return f.config;
}

export class PlanError extends Error {}

/** The message `fn` throws (for a check that reports by throwing). */
function messageOf(fn: () => void): string {
  try {
    fn();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

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
      "kept for compatibility: the plan always exits 3 when a path skips inspection, leaves its AZ or is not delivered",
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
  const problems: string[] = [];
  try {
    const file = loadStackFile(opts.config);
    problems.push(...file.problems);
    let dep: DeploymentV3;
    try {
      dep = await capture({ config: file.config, stack: opts.stack });
    } catch (e) {
      if (!isConfigError(e)) throw e;
      problems.push(...e.problems);
      return report(problems, err);
    }
    if (problems.length > 0) return report(problems, err);
    const followed = follow(dep);
    const paths = walkedPaths(followed.walks);
    const bad = paths.filter(({ verdict: v }) => !v.inspected || !v.sameAz || !v.delivered);
    const text = opts.json
      ? JSON.stringify(dep, null, 2) + "\n"
      : opts.diagram
        ? topologyDiagram(followed.topology, followed.walks)
        : header(dep, opts.config) + formatPacketWalks(paths) + summary(paths.length, bad.length);
    if (opts.out) {
      fs.writeFileSync(opts.out, text);
      err.write(`wrote ${opts.out} (${dep.deployment.resources.length} resources)\n`);
    } else {
      out.write(text);
    }
    if (bad.length > 0) {
      err.write(
        `plan: ${bad.length} of ${paths.length} paths are not inspected in their own AZ or not delivered: this config must not be deployed\n`,
      );
      return 3;
    }
    return 0;
  } catch (e) {
    if (e instanceof PlanError) return report([e.message], err);
    throw e;
  }
}

/** Prints every problem (one per line) and a count; the exit code of a config that cannot deploy. */
function report(problems: readonly string[], err: NodeJS.WritableStream): number {
  for (const p of problems) err.write(`plan: ${p}\n`);
  if (problems.length > 1)
    err.write(`plan: ${problems.length} problems; nothing was planned (fix them and run again)\n`);
  return 2;
}

/** The routing model of a captured deployment and every path followed over it (built once). */
function follow(dep: DeploymentV3): { topology: Topology; walks: SubnetWalk[] } {
  const topology = topologyOf(linkStack(dep.deployment.resources));
  return { topology, walks: followThePacket(topology, { spokes: true }) };
}

/** Follow the packet over a captured deployment, with the policy pack's routing model. */
export function planPaths(dep: DeploymentV3): WalkedPath[] {
  return walkedPaths(follow(dep).walks);
}

function summary(total: number, bad: number): string {
  return bad === 0
    ? `\n${total} paths: every one inspected by the GWLB endpoint of its own AZ and delivered.\n`
    : `\n${total} paths: ${bad} NOT inspected in their own AZ or not delivered (see above).\n`;
}

function header(dep: DeploymentV3, file: string): string {
  const provider = dep.deployment.resources.find((r) => r.type === "pulumi:providers:aws");
  const stack = dep.deployment.resources.find((r) => r.type === "pulumi:pulumi:Stack");
  const region = String(provider?.inputs.region ?? "?");
  const azs = (stack?.outputs.availabilityZones as string[] | undefined) ?? [];
  return `Tollgate plan for ${file}: region ${region}, AZs ${azs.join(", ")}, ${dep.deployment.resources.length} resources (offline, Pulumi mocks)\n`;
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
