/**
 * Command-line options of `tollgate run`, generated from {@link RUN_OPTIONS}: each row names the
 * setting (schema.ts) it sets by its YAML key, so the value type, range, default and error
 * messages come from the setting. Compatible with the reference tunnel handler (gwlbtun) where
 * they overlap: -c -r -t -i -p -j -s -d, --udpthreads --udpaffinity --tunthreads --tunaffinity
 * --logging and their long forms (--cmdnew --cmddel --timeout --idle --port --json --debug).
 */
import { Command, Option } from "commander";
import { LOG_LEVELS, settingByKey, type LogLevel, type SettingKey } from "./schema";

export const OPTION_GROUPS = {
  reference: "Reference-compatible options (gwlbtun):",
  tollgate: "Tollgate options:",
} as const;

export interface RunOption {
  /** commander flags, e.g. "-p, --port <port>". */
  readonly flags: string;
  /** The setting this option sets; none for --config. */
  readonly key?: SettingKey;
  readonly description: string;
  readonly group: keyof typeof OPTION_GROUPS;
  /** For a flag without value: the setting's value when given (default: the flag's boolean). */
  readonly value?: unknown;
  /** For an option whose text is not the setting's value: the value, or why there is none. */
  readonly parse?: (text: string) => { value: unknown } | { problem: string };
  /** May be given several times; the values form a list. */
  readonly repeatable?: boolean;
  /** Leave "(default: ...)" out of --help (the description says it). */
  readonly hideDefault?: boolean;
}

/**
 * Every option, in --help order. When several options set one setting, the later one wins
 * (--flow-timeout-tcp over -i; --log-level over -d over --logging).
 */
export const RUN_OPTIONS: readonly RunOption[] = [
  {
    flags: "-c, --cmdnew <command>",
    key: "hooks.create",
    group: "reference",
    description:
      "CREATE hook, run as `<command> CREATE gwi-X gwo-X <endpoint id, 17 hex digits>` when an endpoint's interfaces are up. Split into argv like a shell would (quotes, backslashes) but run without a shell: no $VAR, globs, pipes or redirections",
  },
  {
    flags: "-r, --cmddel <command>",
    key: "hooks.destroy",
    group: "reference",
    description:
      "DESTROY hook, run as `<command> DESTROY gwi-X gwo-X <id>` before an endpoint's interfaces are removed",
  },
  {
    flags: "-t, --timeout <seconds>",
    key: "endpointIdleTimeout",
    group: "reference",
    description: "remove an endpoint's interfaces after this long without packets; 0 = never",
  },
  {
    flags: "-i, --idle <seconds>",
    key: "flows.idleTimeout.tcp",
    group: "reference",
    description: "TCP flow idle timeout; match the listener's tcpIdleTimeoutSeconds",
  },
  {
    flags: "-p, --port <port>",
    key: "health.port",
    group: "reference",
    description:
      "serve health (GET /) and Prometheus metrics (GET /metrics) over HTTP on this TCP port",
  },
  {
    flags: "-j, --json",
    key: "health.format",
    value: "json",
    group: "reference",
    hideDefault: true,
    description: "health detail as JSON by default (?format=text still gives text)",
  },
  {
    flags: "-s, --simple",
    key: "health.detailed",
    value: false,
    group: "reference",
    hideDefault: true,
    description: "health answers with the status code only, no body",
  },
  {
    flags: "--udpthreads <n>",
    key: "threads.udp",
    group: "reference",
    description: "accepted for compatibility; the data path is one thread with batched syscalls",
  },
  {
    flags: "--udpaffinity <cpus>",
    key: "threads.udpAffinity",
    group: "reference",
    description: "accepted for compatibility (e.g. 0-1,3); validated, not applied",
  },
  {
    flags: "--tunthreads <n>",
    key: "threads.tun",
    group: "reference",
    description: "accepted for compatibility",
  },
  {
    flags: "--tunaffinity <cpus>",
    key: "threads.tunAffinity",
    group: "reference",
    description: "accepted for compatibility (e.g. 0-1,3); validated, not applied",
  },
  {
    flags: "--logging <config>",
    key: "logLevel",
    group: "reference",
    hideDefault: true,
    description: "reference logging config (e.g. all=debug): the most verbose level named is used",
    parse: (text) => {
      const level = levelFromLogging(text);
      return level ? { value: level } : { problem: `no level found in "${text}" (e.g. all=debug)` };
    },
  },
  {
    flags: "-d, --debug",
    key: "logLevel",
    value: "debug",
    group: "reference",
    hideDefault: true,
    description: "debug logging (same as --log-level debug)",
  },
  {
    flags: "--config <file>",
    group: "tollgate",
    description:
      "YAML configuration file (keys documented in the README); command-line options override it",
  },
  {
    flags: "--rules <file>",
    key: "rules",
    group: "tollgate",
    description:
      "rules file applied to every endpoint (see `tollgate rules --help`; examples/rules/default.yaml inspects and allows everything)",
  },
  {
    flags: "--external-forwarding",
    key: "externalForwarding",
    group: "tollgate",
    hideDefault: true,
    description:
      "forwarding gwi-X -> gwo-X is set up outside the daemon: start without --rules and -c (otherwise refused)",
  },
  {
    flags: "--gwlb-cidr <cidr>",
    key: "gwlbCidrs",
    group: "tollgate",
    repeatable: true,
    description:
      "accept GENEVE only from this IPv4 CIDR (the GWLB's subnets); repeatable, replaces the file's list",
  },
  {
    flags: "--log-level <level>",
    key: "logLevel",
    group: "tollgate",
    description: "trace, debug, info, warn, error, fatal or silent",
  },
  {
    flags: "--listen <address>",
    key: "listen.address",
    group: "tollgate",
    description: "IPv4 address to receive GENEVE on",
  },
  {
    flags: "--geneve-port <port>",
    key: "listen.port",
    group: "tollgate",
    description: "UDP port to receive GENEVE on",
  },
  {
    flags: "--flow-timeout-tcp <seconds>",
    key: "flows.idleTimeout.tcp",
    group: "tollgate",
    description: "TCP flow idle timeout, same as -i (this one wins if both are given)",
  },
  {
    flags: "--flow-timeout-udp <seconds>",
    key: "flows.idleTimeout.udp",
    group: "tollgate",
    description: "UDP flow idle timeout",
  },
  {
    flags: "--flow-timeout-other <seconds>",
    key: "flows.idleTimeout.other",
    group: "tollgate",
    description: "idle timeout of other protocols, e.g. ICMP",
  },
  {
    flags: "--max-flows <n>",
    key: "flows.maxEntries",
    group: "tollgate",
    description: "flow table bound; least recently used flows are evicted",
  },
  {
    flags: "--max-endpoints <n>",
    key: "maxEndpoints",
    group: "tollgate",
    description: "most GWLB endpoints (tun pairs) at once",
  },
  {
    flags: "--mtu <bytes>",
    key: "mtu",
    group: "tollgate",
    description: "MTU of gwi-/gwo- interfaces (GWLB's maximum is 8500)",
  },
  {
    flags: "--batch-size <n>",
    key: "batchSize",
    group: "tollgate",
    description: "datagrams per recvmmsg / packets per tun drain",
  },
  {
    flags: "--datapath <mode>",
    key: "datapath",
    group: "tollgate",
    description:
      "auto (kernel where supported, else user; the reason is logged), kernel (eBPF, fail if unsupported) or user",
  },
  {
    flags: "--rx-coalesce-us <us>",
    key: "rxCoalesceUs",
    group: "tollgate",
    description:
      "under load, wait this long after a wake-up to receive more datagrams at once; 0 = off",
  },
  {
    flags: "--socket-buffer <bytes>",
    key: "socketBufferBytes",
    group: "tollgate",
    description: "SO_RCVBUF/SO_SNDBUF of the GENEVE sockets",
  },
  {
    flags: "--hook-timeout <seconds>",
    key: "hooks.timeout",
    group: "tollgate",
    description: "kill a hook still running after this long",
  },
  {
    flags: "--hold-timeout <seconds>",
    key: "hold.timeout",
    group: "tollgate",
    description:
      "hold a new endpoint's packets until its CREATE hook and rules finished, at most this long; 0 = no hold",
  },
  {
    flags: "--hold-packets <n>",
    key: "hold.maxPackets",
    group: "tollgate",
    description: "most packets held per new endpoint; newer ones are dropped",
  },
  {
    flags: "--hold-bytes <bytes>",
    key: "hold.maxBytes",
    group: "tollgate",
    description: "most bytes held per new endpoint",
  },
  {
    flags: "--health-address <address>",
    key: "health.address",
    group: "tollgate",
    description: "address the health server listens on (:: = all)",
  },
  {
    flags: "--health-window <seconds>",
    key: "health.window",
    group: "tollgate",
    description: "traffic window the health verdict looks at",
  },
  {
    flags: "--health-min-packets <n>",
    key: "health.minPackets",
    group: "tollgate",
    description: "fewest datagrams in a window before none forwarded fails health",
  },
  {
    flags: "--health-grace <seconds>",
    key: "health.grace",
    group: "tollgate",
    description: "time a new endpoint gets to set up forwarding and pass its first canary",
  },
  {
    flags: "--health-verify-interval <seconds>",
    key: "health.verifyInterval",
    group: "tollgate",
    description: "period of the rule engine check (tools, rules file, applied state)",
  },
  {
    flags: "--canary-interval <seconds>",
    key: "health.canary.interval",
    group: "tollgate",
    description: "period of the health canary sent through each endpoint gwi-X -> gwo-X",
  },
  {
    flags: "--canary-failures <n>",
    key: "health.canary.failures",
    group: "tollgate",
    description: "canaries lost in a row that make an endpoint (and health) fail",
  },
  {
    flags: "--no-rp-filter",
    key: "rpFilter.manage",
    group: "tollgate",
    hideDefault: true,
    description: "do not touch rp_filter (then the hooks must disable it)",
  },
  {
    flags: "--no-rp-filter-global",
    key: "rpFilter.global",
    group: "tollgate",
    hideDefault: true,
    description: "leave net.ipv4.conf.all/default.rp_filter alone (interfaces only)",
  },
  {
    flags: "--rp-filter-interval <seconds>",
    key: "rpFilter.interval",
    group: "tollgate",
    description: "how often rp_filter is re-checked and re-asserted; 0 = only at creation",
  },
];

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

/** The commander option of a row. */
export function commanderOption(row: RunOption): Option {
  const option = new Option(row.flags, row.description);
  const s = row.key !== undefined ? settingByKey(row.key) : undefined;
  if (s && !row.hideDefault && option.required) {
    const shown = s.defaultText ?? (s.default === undefined ? undefined : String(s.default));
    if (shown) option.description += ` (default: ${shown})`;
  }
  if (row.repeatable)
    option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  return option;
}

/** Raw option values as commander hands them over (only those given), by attribute name. */
export type CliOptions = Readonly<
  Record<string, string | boolean | readonly string[] | undefined>
> & {
  readonly config?: string;
};

/** Adds every `run` option to a command. */
export function addRunOptions(cmd: Command): Command {
  let group: string | undefined;
  for (const row of RUN_OPTIONS) {
    if (OPTION_GROUPS[row.group] !== group) {
      group = OPTION_GROUPS[row.group];
      cmd.optionsGroup(group);
    }
    cmd.addOption(commanderOption(row));
  }
  return cmd;
}

/** The options explicitly given (command line or environment), not commander's defaults. */
export function givenOptions(cmd: Command): CliOptions {
  const all = cmd.opts<Record<string, unknown>>();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    const src = cmd.getOptionValueSource(k);
    if (src !== undefined && src !== "default" && v !== undefined) out[k] = v;
  }
  return out as CliOptions;
}
