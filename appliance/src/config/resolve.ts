/**
 * Resolves the command line and the optional YAML file into one {@link ApplianceConfig}.
 * Precedence: defaults < config file < command line. Pure: the file's text is passed in.
 * Every problem is collected and reported at once as a {@link ConfigError}, YAML problems with
 * `file:line:column`.
 */
import { Command, CommanderError } from "commander";
import { LineCounter, isMap, isNode, isPair, isScalar, parseDocument, type Document } from "yaml";
import { splitCommand } from "../hooks/split";
import { DEFAULT_CONFIG, LOG_LEVELS, type ApplianceConfig, type LogLevel } from "./config";
import { addRunOptions, givenOptions, type CliOptions } from "./options";
import { configFileSchema, type ConfigFile } from "./schema";
import { ipv4CidrProblem } from "./cidr";

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Parses a CPU list like "0-2,5" (reference --udpaffinity format). */
export function parseCpuList(text: string): number[] | undefined {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 4096) return undefined;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** Most verbose level named in a reference `--logging` string such as "all=debug,udp=info". */
export function levelFromLogging(text: string): LogLevel | undefined {
  const map: Record<string, LogLevel> = {
    debugdetail: "trace",
    debug: "debug",
    info: "info",
    important: "info",
    warning: "warn",
    warn: "warn",
    error: "error",
    critical: "fatal",
  };
  let best: LogLevel | undefined;
  for (const part of text.split(/[,\s]+/)) {
    const level = map[(part.split("=")[1] ?? part).trim().toLowerCase()];
    if (level && (best === undefined || LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(best)))
      best = level;
  }
  return best;
}

interface NumberRule {
  readonly integer?: boolean;
  readonly min: number;
  readonly max: number;
}

function num(
  problems: string[],
  flag: string,
  text: string | undefined,
  rule: NumberRule,
): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  if (
    text.trim() === "" ||
    !Number.isFinite(v) ||
    (rule.integer && !Number.isInteger(v)) ||
    v < rule.min ||
    v > rule.max
  ) {
    problems.push(
      `${flag}: expected ${rule.integer ? "an integer" : "a number"} from ${rule.min} to ${rule.max}, got "${text}"`,
    );
    return undefined;
  }
  return v;
}

function lineCol(lc: LineCounter, offset: number): string {
  const p = lc.linePos(offset);
  return `${p.line}:${p.col}`;
}

/** Position of the YAML node at `path` (or of the nearest existing parent). */
function positionOf(
  doc: Document,
  lc: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): string {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (key !== undefined && n === path.length && isMap(node)) {
      for (const item of node.items) {
        if (isPair(item) && isScalar(item.key) && item.key.value === key && item.key.range) {
          return lineCol(lc, item.key.range[0]);
        }
      }
    }
    if (isNode(node) && node.range) return lineCol(lc, node.range[0]);
  }
  return "1:1";
}

/** Parses and validates a YAML configuration file. */
export function parseConfigFile(
  text: string,
  fileName = "config",
): { ok: true; value: ConfigFile } | { ok: false; problems: string[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const p = e.linePos?.[0];
        return `${fileName}:${p ? `${p.line}:${p.col}` : "1:1"}: ${e.message.split("\n")[0]}`;
      }),
    };
  }
  const data: unknown = doc.toJS() ?? {};
  const r = configFileSchema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  const problems: string[] = [];
  for (const issue of r.error.issues) {
    const path = issue.path;
    const where = path.length > 0 ? `${path.join(".")}: ` : "";
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) {
        const at = positionOf(doc, lc, path, k);
        problems.push(`${fileName}:${at}: ${[...path, k].join(".")}: unknown key`);
      }
      continue;
    }
    problems.push(`${fileName}:${positionOf(doc, lc, path)}: ${where}${issue.message}`);
  }
  return { ok: false, problems };
}

function commandArgv(
  problems: string[],
  what: string,
  cmd: string | readonly string[] | undefined,
): readonly string[] | undefined {
  if (cmd === undefined) return undefined;
  if (typeof cmd !== "string") return cmd;
  try {
    const argv = splitCommand(cmd);
    if (argv.length === 0) {
      problems.push(`${what}: empty command`);
      return undefined;
    }
    return argv;
  } catch (err) {
    problems.push(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

function affinityOf(
  problems: string[],
  what: string,
  v: string | number | undefined,
): number[] | undefined {
  if (v === undefined) return undefined;
  const list = parseCpuList(String(v));
  if (!list) problems.push(`${what}: expected a CPU list like 0-2,5, got "${v}"`);
  return list;
}

/**
 * Merges explicitly given command-line options over a parsed config file over the defaults.
 * Throws ConfigError listing every problem.
 */
export function resolveOptions(
  cli: CliOptions,
  file?: ConfigFile,
  fileName?: string,
): ApplianceConfig {
  const d = DEFAULT_CONFIG;
  const f: ConfigFile = file ?? {};
  const problems: string[] = [];
  const sec = { min: 0.001, max: 86_400 * 365 };
  const intn = (min: number, max: number) => ({ integer: true, min, max });

  const tcp =
    num(problems, "--flow-timeout-tcp", cli.flowTimeoutTcp, sec) ??
    num(problems, "-i/--idle", cli.idle, sec) ??
    f.flows?.idleTimeout?.tcp ??
    d.flows.timeouts.tcp;
  const udp =
    num(problems, "--flow-timeout-udp", cli.flowTimeoutUdp, sec) ??
    f.flows?.idleTimeout?.udp ??
    d.flows.timeouts.udp;
  const other =
    num(problems, "--flow-timeout-other", cli.flowTimeoutOther, sec) ??
    f.flows?.idleTimeout?.other ??
    d.flows.timeouts.other;

  let logLevel: LogLevel = f.logLevel ?? d.logLevel;
  if (cli.logging !== undefined) {
    const l = levelFromLogging(cli.logging);
    if (l) logLevel = l;
    else problems.push(`--logging: no level found in "${cli.logging}" (e.g. all=debug)`);
  }
  if (cli.debug) logLevel = "debug";
  if (cli.logLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(cli.logLevel))
      logLevel = cli.logLevel as LogLevel;
    else
      problems.push(`--log-level: expected one of ${LOG_LEVELS.join(", ")}, got "${cli.logLevel}"`);
  }

  const healthPort = num(problems, "-p/--port", cli.port, intn(1, 65535)) ?? f.health?.port;
  const create = commandArgv(problems, "-c/--cmdnew", cli.cmdnew ?? f.hooks?.create);
  const destroy = commandArgv(problems, "-r/--cmddel", cli.cmddel ?? f.hooks?.destroy);
  const udpThreads = num(problems, "--udpthreads", cli.udpthreads, intn(1, 1024)) ?? f.threads?.udp;
  const tunThreads = num(problems, "--tunthreads", cli.tunthreads, intn(1, 1024)) ?? f.threads?.tun;
  const udpAffinity = affinityOf(
    problems,
    "--udpaffinity",
    cli.udpaffinity ?? f.threads?.udpAffinity,
  );
  const tunAffinity = affinityOf(
    problems,
    "--tunaffinity",
    cli.tunaffinity ?? f.threads?.tunAffinity,
  );

  const gwlbCidrs = cli.gwlbCidr ?? f.gwlbCidrs ?? d.gwlbCidrs;
  if (cli.gwlbCidr) {
    for (const c of cli.gwlbCidr) {
      const problem = ipv4CidrProblem(c);
      if (problem) problems.push(`--gwlb-cidr: ${problem}`);
    }
  }

  const config: ApplianceConfig = {
    listen: {
      address: cli.listen ?? f.listen?.address ?? d.listen.address,
      port:
        num(problems, "--geneve-port", cli.genevePort, intn(1, 65535)) ??
        f.listen?.port ??
        d.listen.port,
    },
    socketBufferBytes:
      num(problems, "--socket-buffer", cli.socketBuffer, intn(65536, 2 ** 31 - 1)) ??
      f.socketBufferBytes ??
      d.socketBufferBytes,
    batchSize:
      num(problems, "--batch-size", cli.batchSize, intn(1, 1024)) ?? f.batchSize ?? d.batchSize,
    rxCoalesceUs:
      num(problems, "--rx-coalesce-us", cli.rxCoalesceUs, intn(0, 10000)) ??
      f.rxCoalesceUs ??
      d.rxCoalesceUs,
    mtu: num(problems, "--mtu", cli.mtu, intn(576, 9001)) ?? f.mtu ?? d.mtu,
    maxEndpoints:
      num(problems, "--max-endpoints", cli.maxEndpoints, intn(1, 65535)) ??
      f.maxEndpoints ??
      d.maxEndpoints,
    endpointIdleTimeoutSeconds:
      num(problems, "-t/--timeout", cli.timeout, { min: 0, max: 86_400 * 365 }) ??
      f.endpointIdleTimeout ??
      d.endpointIdleTimeoutSeconds,
    flows: {
      maxEntries:
        num(problems, "--max-flows", cli.maxFlows, intn(1, 100_000_000)) ??
        f.flows?.maxEntries ??
        d.flows.maxEntries,
      timeouts: { tcp, udp, other },
    },
    hold: {
      timeoutSeconds:
        num(problems, "--hold-timeout", cli.holdTimeout, { min: 0, max: 600 }) ??
        f.hold?.timeout ??
        d.hold.timeoutSeconds,
      maxPackets:
        num(problems, "--hold-packets", cli.holdPackets, intn(1, 65536)) ??
        f.hold?.maxPackets ??
        d.hold.maxPackets,
      maxBytes:
        num(problems, "--hold-bytes", cli.holdBytes, intn(1, 2 ** 30)) ??
        f.hold?.maxBytes ??
        d.hold.maxBytes,
    },
    hooks: {
      ...(create ? { create } : {}),
      ...(destroy ? { destroy } : {}),
      timeoutSeconds:
        num(problems, "--hook-timeout", cli.hookTimeout, sec) ??
        f.hooks?.timeout ??
        d.hooks.timeoutSeconds,
    },
    health: {
      ...(healthPort !== undefined ? { port: healthPort } : {}),
      address: cli.healthAddress ?? f.health?.address ?? d.health.address,
      format: cli.json ? "json" : (f.health?.format ?? d.health.format),
      detailed: cli.simple ? false : (f.health?.detailed ?? d.health.detailed),
      windowSeconds:
        num(problems, "--health-window", cli.healthWindow, { min: 1, max: 3600 }) ??
        f.health?.window ??
        d.health.windowSeconds,
      graceSeconds:
        num(problems, "--health-grace", cli.healthGrace, { min: 0, max: 3600 }) ??
        f.health?.grace ??
        d.health.graceSeconds,
      verifyIntervalSeconds:
        num(problems, "--health-verify-interval", cli.healthVerifyInterval, {
          min: 1,
          max: 3600,
        }) ??
        f.health?.verifyInterval ??
        d.health.verifyIntervalSeconds,
      canary: {
        intervalSeconds:
          num(problems, "--canary-interval", cli.canaryInterval, { min: 0.1, max: 60 }) ??
          f.health?.canary?.interval ??
          d.health.canary.intervalSeconds,
        failures:
          num(problems, "--canary-failures", cli.canaryFailures, intn(1, 100)) ??
          f.health?.canary?.failures ??
          d.health.canary.failures,
      },
    },
    rpFilter: {
      manage: cli.rpFilter ?? f.rpFilter?.manage ?? d.rpFilter.manage,
      global: cli.rpFilterGlobal ?? f.rpFilter?.global ?? d.rpFilter.global,
      intervalSeconds:
        num(problems, "--rp-filter-interval", cli.rpFilterInterval, { min: 0, max: 3600 }) ??
        f.rpFilter?.interval ??
        d.rpFilter.intervalSeconds,
    },
    ...((cli.rules ?? f.rules) ? { rulesFile: cli.rules ?? f.rules } : {}),
    externalForwarding: cli.externalForwarding ?? f.externalForwarding ?? d.externalForwarding,
    gwlbCidrs,
    logLevel,
    threads: {
      ...(udpThreads !== undefined ? { udp: udpThreads } : {}),
      ...(udpAffinity ? { udpAffinity } : {}),
      ...(tunThreads !== undefined ? { tun: tunThreads } : {}),
      ...(tunAffinity ? { tunAffinity } : {}),
    },
    ...(fileName ? { configFile: fileName } : {}),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Why this configuration cannot forward anything (empty when it can): with neither a rules file
 * nor a CREATE hook, nothing connects gwi-X to gwo-X and every packet the GWLB sends is lost
 * while the daemon looks alive. `tollgate run` refuses such a configuration unless the user says
 * forwarding is wired outside the daemon.
 */
export function forwardingProblems(config: ApplianceConfig): string[] {
  if (config.rulesFile || config.hooks.create || config.externalForwarding) return [];
  return [
    [
      "no forwarding path: without a rules file or a CREATE hook nothing forwards gwi-X to gwo-X and every packet the GWLB sends is dropped. Add one of:",
      "  --rules FILE (YAML `rules: FILE`); examples/rules/default.yaml inspects and allows all traffic",
      "  -c/--cmdnew COMMAND (YAML `hooks.create`), a CREATE hook that sets up forwarding",
      "  --external-forwarding (YAML `externalForwarding: true`) if forwarding is wired outside the daemon",
    ].join("\n"),
  ];
}

/** A fresh `run` command with every option, throwing instead of exiting on errors. */
export function runOptionsCommand(): Command {
  const cmd = addRunOptions(new Command("run"));
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  cmd.allowExcessArguments(false);
  return cmd;
}

/**
 * Resolves `tollgate run` arguments (without the program name and the `run` word) and the text
 * of the `--config` file when one is named. Pure; throws ConfigError.
 */
export function resolveConfig(argv: readonly string[], fileText?: string): ApplianceConfig {
  const cmd = runOptionsCommand();
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError([err.message.replace(/^error: /, "")]);
    throw err;
  }
  const cli = givenOptions(cmd);
  return resolveWithFile(cli, fileText);
}

/** Resolves given CLI options plus the config file text (required when cli.config is set). */
export function resolveWithFile(cli: CliOptions, fileText?: string): ApplianceConfig {
  if (cli.config === undefined) return resolveOptions(cli);
  if (fileText === undefined) throw new ConfigError([`--config ${cli.config}: file not read`]);
  const parsed = parseConfigFile(fileText, cli.config);
  if (!parsed.ok) throw new ConfigError(parsed.problems);
  return resolveOptions(cli, parsed.value, cli.config);
}
