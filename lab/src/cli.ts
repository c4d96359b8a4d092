/**
 * `tollgate-lab`: the local lab (real appliance behind an emulated GWLB in network namespaces).
 *   tollgate-lab [demo]   up + scripted demo + follow-the-packet trace + down   (npm run lab)
 *   tollgate-lab up       build the lab and leave it running                    (npm run lab:up)
 *   tollgate-lab status   what is running, targets' health, counters          (npm run lab:status)
 *   tollgate-lab down     remove everything with the prefix                     (npm run lab:down)
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { NATIVE_ADDON_PATH } from "@tollgate/appliance";
import type { ServerStats } from "./agent/server";
import { controlJson } from "./control";
import { parseFailoverMode, type FailoverMode } from "./emulator/balancer";
import type { EmulatorStatus } from "./emulator/config";
import { parseHashMode, type HashMode } from "./emulator/hash";
import { resolveHealthSettings, DEFAULT_HEALTH } from "./emulator/health";
import { labDown, labUp, LabExistsError, readState } from "./orchestrate/lab";
import { gatherFacts, preflightProblems } from "./orchestrate/preflight";
import { defaultPaths, processSpecs, serverSocket } from "./orchestrate/processes";
import { labCommandRunner, setupSteps, tunSteps } from "./topology/commands";
import { listLabNamespaces, realProcessControl } from "./orchestrate/teardown";
import { DEFAULT_RULES_FILE, loadEffectiveRules, runLabSession, runOptionsFor } from "./session";
import { DEFAULT_PREFIX, planTopology } from "./topology/plan";

interface CommonOpts {
  prefix: string;
  stateDir?: string;
}

interface RunOpts extends CommonOpts {
  rules: string;
  hash: HashMode;
  failover: FailoverMode;
  appliance: "tollgate" | "reflector";
  healthInterval: number;
  healthTimeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  keep?: boolean;
  daemonArg: string[];
  json?: boolean;
}

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  };
}

/** Turns a throwing parser into a commander argument parser. */
function asArg<T>(parse: (value: string) => T) {
  return (v: string): T => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

const T0 = Date.now();
const log = (line: string) =>
  process.stdout.write(`[${((Date.now() - T0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const print = (line: string) => process.stdout.write(`${line}\n`);

function common(cmd: Command): Command {
  return cmd
    .option("--prefix <prefix>", "prefix of every namespace the lab creates", DEFAULT_PREFIX)
    .option(
      "--state-dir <dir>",
      "pid files, logs and control sockets (default: /run/tollgate-lab/<prefix>)",
    );
}

function runOptions(cmd: Command): Command {
  return common(cmd)
    .option(
      "--rules <file>",
      "rules file the appliances load (tollgate --rules)",
      DEFAULT_RULES_FILE,
    )
    .addOption(
      new Option(
        "--hash <mode>",
        "flow hash (target group stickiness): 5-tuple, 3-tuple (source_ip_dest_ip_proto), 2-tuple (source_ip_dest_ip)",
      )
        .default("5-tuple")
        .argParser(asArg(parseHashMode)),
    )
    .addOption(
      new Option("--failover <mode>", "target failover on unhealthy: rebalance or no_rebalance")
        .default("rebalance")
        .argParser(asArg(parseFailoverMode)),
    )
    .addOption(
      new Option(
        "--appliance <kind>",
        "what runs in the appliance namespaces: tollgate, or a GENEVE reflector to check the lab alone",
      )
        .choices(["tollgate", "reflector"])
        .default("tollgate"),
    )
    .option(
      "--health-interval <ms>",
      "health check interval (AWS: 5-300 s; the lab is faster)",
      int("--health-interval"),
      DEFAULT_HEALTH.intervalMs,
    )
    .option(
      "--health-timeout <ms>",
      "health check timeout",
      int("--health-timeout"),
      DEFAULT_HEALTH.timeoutMs,
    )
    .option(
      "--healthy-threshold <n>",
      "consecutive passes to become healthy",
      int("--healthy-threshold"),
      DEFAULT_HEALTH.healthyThreshold,
    )
    .option(
      "--daemon-arg <arg>",
      "extra argument for every tollgate daemon, repeatable (e.g. --daemon-arg=--log-level --daemon-arg=debug)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--unhealthy-threshold <n>",
      "consecutive failures to become unhealthy",
      int("--unhealthy-threshold"),
      DEFAULT_HEALTH.unhealthyThreshold,
    );
}

function healthOf(o: RunOpts) {
  return resolveHealthSettings({
    intervalMs: o.healthInterval,
    timeoutMs: o.healthTimeout,
    healthyThreshold: o.healthyThreshold,
    unhealthyThreshold: o.unhealthyThreshold,
  });
}

/** Stops with every problem and its fix when the machine cannot run the lab. */
function preflight(appliance: "tollgate" | "reflector"): void {
  const { problems, warnings } = preflightProblems(
    gatherFacts(NATIVE_ADDON_PATH, defaultPaths().applianceBin, appliance === "tollgate"),
  );
  for (const w of warnings) log(`warning: ${w}`);
  if (problems.length > 0) {
    process.stderr.write(
      `tollgate-lab cannot start:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
    );
    process.exit(2);
  }
}

function topologyOf(o: CommonOpts) {
  return planTopology({ prefix: o.prefix, ...(o.stateDir ? { stateDir: o.stateDir } : {}) });
}

async function demo(o: RunOpts): Promise<void> {
  preflight(o.appliance);
  const health = healthOf(o);
  const r = await runLabSession({
    prefix: o.prefix,
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    rulesFile: o.rules,
    hashMode: o.hash,
    failover: o.failover,
    health,
    appliance: o.appliance,
    daemonArgs: o.daemonArg,
    keep: o.keep ?? false,
    // --json: progress on stderr, one JSON document on stdout.
    log: o.json ? (l) => process.stderr.write(`${l}\n`) : log,
    print: o.json ? () => undefined : print,
  });
  if (o.json) {
    print(
      JSON.stringify(
        {
          prefix: r.topology.prefix,
          passed: !r.error && (r.demo?.passed ?? false),
          error: r.error,
          steps: r.demo?.steps.map(({ id, title, status, detail, ms }) => ({
            id,
            title,
            status,
            detail,
            ms,
          })),
          killed: r.demo?.killed,
          timings: r.timings,
          leftovers: r.teardown?.leftovers,
          report: r.report,
        },
        null,
        2,
      ),
    );
  }
  if (r.error) {
    process.stderr.write(`tollgate-lab: ${r.error}\n`);
    process.exit(1);
  }
  if (r.demo && !r.demo.passed) process.exit(1);
}

async function up(o: RunOpts): Promise<void> {
  preflight(o.appliance);
  const runner = labCommandRunner();
  const t = topologyOf(o);
  const rules = loadEffectiveRules(o.rules, t.gwlb.endpointId);
  const t0 = Date.now();
  // Interrupted half-way: remove what was built (once built, the lab stays up on purpose).
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    log(`${sig}: tearing down what was built`);
    void labDown(runner, realProcessControl, t, log).finally(() =>
      process.exit(sig === "SIGINT" ? 130 : 143),
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await labUp({
      prefix: t.prefix,
      stateDir: t.stateDir,
      run: runOptionsFor(
        {
          ...o,
          rulesFile: o.rules,
          hashMode: o.hash,
          health: healthOf(o),
          daemonArgs: o.daemonArg,
          log,
          print,
        },
        rules,
        t,
      ),
      detached: true,
      runner,
      paths: defaultPaths(),
      log,
    });
  } catch (e) {
    if (e instanceof LabExistsError) throw e;
    if (interrupted) return new Promise<void>(() => undefined); // the signal handler tears down and exits
    log(`error: ${(e as Error).message}`);
    log("tearing down what was built");
    await labDown(runner, realProcessControl, t, log);
    process.exit(1);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  print(`lab ${t.prefix} is up in ${((Date.now() - t0) / 1000).toFixed(1)} s. Try:`);
  print(`  sudo ip netns exec ${t.namespaces.client} curl -s http://${t.server.address}/`);
  print(`  sudo ip netns exec ${t.namespaces.client} ping -c 2 ${t.server.address}`);
  print(
    `  sudo npm run lab:status${t.prefix === DEFAULT_PREFIX ? "" : ` -- --prefix ${t.prefix}`}`,
  );
  print(`  sudo npm run lab:down${t.prefix === DEFAULT_PREFIX ? "" : ` -- --prefix ${t.prefix}`}`);
}

async function down(o: CommonOpts): Promise<void> {
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write("tollgate-lab down: run it as root (sudo npm run lab:down)\n");
    process.exit(2);
  }
  const t = topologyOf(o);
  const r = await labDown(labCommandRunner(), realProcessControl, t, log);
  if (r.namespaces.length === 0) log(`no lab with prefix ${t.prefix} was running`);
  for (const e of r.errors) log(`error: ${e}`);
  if (r.leftovers.length > 0) {
    process.stderr.write(`still present: ${r.leftovers.join(", ")}\n`);
    process.exit(1);
  }
}

async function status(o: CommonOpts & { json?: boolean }): Promise<void> {
  const runner = labCommandRunner();
  const t = topologyOf(o);
  const nss = await listLabNamespaces(runner, t.prefix);
  const state = readState(t);
  let emu: EmulatorStatus | undefined;
  let server: ServerStats | undefined;
  try {
    emu = await controlJson<EmulatorStatus>(
      t.gwlb.controlSocket,
      "GET",
      "/status",
      undefined,
      2000,
    );
    server = await controlJson<ServerStats>(serverSocket(t), "GET", "/stats", undefined, 2000);
  } catch {
    // not running
  }
  if (o.json) {
    print(
      JSON.stringify({ prefix: t.prefix, namespaces: nss, state, emulator: emu, server }, null, 2),
    );
    return;
  }
  if (nss.length === 0) {
    print(`no lab with prefix ${t.prefix} is running (start one with: sudo npm run lab:up)`);
    return;
  }
  print(`lab ${t.prefix}: namespaces ${nss.join(", ")}`);
  if (state)
    print(
      `  started ${state.createdAt}, rules ${state.rulesFile}, ${state.hashMode} hash, failover ${state.failover}`,
    );
  for (const ns of nss) {
    const r = await runner.run(["ip", "netns", "pids", ns]);
    const pids = r.stdout.split(/\s+/).filter(Boolean);
    print(`  ${ns}: ${pids.length} process(es)${pids.length ? ` (${pids.join(" ")})` : ""}`);
  }
  if (!emu) {
    print("  emulator: not answering on its control socket");
    return;
  }
  print(
    `  emulator: up ${(emu.uptimeMs / 1000).toFixed(0)} s, ${emu.hashMode} hash, failover ${emu.failover}, ${emu.flowCount} flow(s)`,
  );
  for (const x of emu.targets) {
    print(
      `    ${x.name} ${x.address}: ${x.state} (${x.detail}), flows ${x.flows}, sent ${x.sentPackets}, returned ${x.returnedPackets}`,
    );
  }
  const c = emu.counters;
  print(
    `    endpoint rx ${c.endpointRx}, GENEVE out ${c.encapsulated}, in ${c.geneveRx}, decapsulated ${c.decapsulated}, moved ${c.flowsMoved}, drops ${JSON.stringify(c.drops)}`,
  );
  if (server)
    print(
      `  server: ${
        Object.entries(server)
          .map(([k, v]) => `${k} ${v.count}`)
          .join(", ") || "nothing received yet"
      }`,
    );
}

export function buildProgram(): Command {
  const program = new Command("tollgate-lab")
    .description(
      "Tollgate's local lab: the real appliance behind an emulated GWLB, in network namespaces (root)",
    )
    .showHelpAfterError();
  runOptions(
    program
      .command("demo", { isDefault: true })
      .description("up, scripted demo, follow-the-packet trace, down"),
  )
    .option("--keep", "leave the lab running after the demo")
    .option(
      "--json",
      "progress on stderr; the steps, timings and report as one JSON document on stdout",
    )
    .action((o: RunOpts) => demo(o));
  runOptions(program.command("up").description("build the lab and leave it running")).action(
    (o: RunOpts) => up(o),
  );
  common(
    program.command("down").description("stop every lab process and delete the lab's namespaces"),
  ).action((o: CommonOpts) => down(o));
  common(
    program.command("status").description("namespaces, processes, targets' health and counters"),
  )
    .option("--json", "machine-readable output")
    .action((o: CommonOpts & { json?: boolean }) => status(o));
  runOptions(
    program
      .command("plan")
      .description(
        "print every command and process `up` would run, without running anything (no root needed)",
      ),
  ).action((o: RunOpts) => plan(o));
  return program;
}

/** Prints what `up` would do: the ip/sysctl commands in order, then each process and its namespace. */
function plan(o: RunOpts): void {
  const t = topologyOf(o);
  const rules = loadEffectiveRules(o.rules, t.gwlb.endpointId);
  const run = runOptionsFor(
    {
      ...o,
      rulesFile: o.rules,
      hashMode: o.hash,
      health: healthOf(o),
      daemonArgs: o.daemonArg,
      log,
      print,
    },
    rules,
    t,
  );
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  for (const step of [...setupSteps(t), ...tunSteps(t)]) {
    print(`# ${step.title}`);
    for (const argv of step.commands) print(argv.map(quote).join(" "));
  }
  print("# processes (each started as: ip netns exec <namespace> <command>)");
  for (const spec of processSpecs(t, run, defaultPaths())) {
    print(`${spec.name} in ${spec.ns}: ${spec.argv.map(quote).join(" ")}`);
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  // A closed pipe (`npm run lab | head`) must not kill the lab before it tears down.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  }
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (e) {
    process.stderr.write(`tollgate-lab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
