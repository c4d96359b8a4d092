/**
 * The appliance's settings, defined once. Each entry of {@link SETTINGS} is one setting: its YAML
 * key (`--config FILE`), its value type with range, default and meaning. From this table come
 * the resolved config's TypeScript type ({@link ApplianceConfig}), its defaults
 * ({@link DEFAULT_CONFIG}), the YAML file's zod schema ({@link configFileSchema}), the error
 * messages, the README's reference tables (docs.ts) and, with the option table in options.ts,
 * the `tollgate run` command-line options.
 *
 * The tree's shape is the resolved config's shape (`config.flows.timeouts.tcp`); `key` is how the
 * YAML file spells it (`flows.idleTimeout.tcp`). Adding a knob: one entry here, one row in
 * options.ts if it has a flag, its use, its test.
 */
import { z } from "zod";
import { splitCommand } from "../hooks/split";
import {
  GENEVE_PORT,
  GWLB_MTU,
  GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
  GWLB_TCP_IDLE_TIMEOUT_SECONDS,
} from "../protocol";
import { ipv4CidrProblem } from "./cidr";
import { FLOW_TABLE_BYTES_PER_ENTRY, FLOW_TABLE_MAX_CAPACITY } from "../flow/table";
import { FLOW_RECORD_BYTES_PER_ENTRY } from "../flow/records";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DATAPATH_MODES = ["auto", "kernel", "user"] as const;
export type DatapathMode = (typeof DATAPATH_MODES)[number];

/** How a value is read from YAML and from the command line, with the same range and messages. */
export interface ValueType<T> {
  /** Validates (and converts) the value parsed from YAML. */
  readonly yaml: z.ZodType<T>;
  /** Validates (and converts) a command-line value: the option's string, list or fixed value. */
  readonly cli: z.ZodType<T>;
  /** Type and range as the docs show them, e.g. "integer (1-65535)". */
  readonly type: string;
}

/** One setting. `NoDefault` settings are optional in the resolved config. */
export interface Setting<T, NoDefault extends boolean = boolean, K extends string = string> {
  readonly kind: "setting";
  /** Dotted YAML path, e.g. "flows.idleTimeout.tcp". */
  readonly key: K;
  readonly value: ValueType<T>;
  readonly default: NoDefault extends true ? undefined : T;
  /** What the docs and --help say the default is, when not the value itself. */
  readonly defaultText?: string;
  /** Meaning, for the docs. */
  readonly doc: string;
}

type AnySetting = Setting<unknown, boolean, string>;
interface SettingTree {
  readonly [name: string]: AnySetting | SettingTree;
}

/** The resolved value type of a setting tree: settings without a default become optional keys. */
export type Resolved<T> = {
  readonly [K in keyof T as T[K] extends Setting<unknown, true> ? never : K]: T[K] extends Setting<
    infer V,
    false
  >
    ? V
    : Resolved<T[K]>;
} & {
  readonly [K in keyof T as T[K] extends Setting<unknown, true> ? K : never]?: T[K] extends Setting<
    infer V,
    true
  >
    ? V
    : never;
};

/** Union of the YAML keys of a setting tree. */
export type SettingKeys<T> = {
  [K in keyof T]: T[K] extends Setting<unknown, boolean, infer Key> ? Key : SettingKeys<T[K]>;
}[keyof T];

function setting<T, const K extends string>(
  key: K,
  value: ValueType<T>,
  o: { default: NoInfer<T>; doc: string; defaultText?: string },
): Setting<T, false, K>;
function setting<T, const K extends string>(
  key: K,
  value: ValueType<T>,
  o: { doc: string; defaultText?: string },
): Setting<T, true, K>;
function setting<T, K extends string>(
  key: K,
  value: ValueType<T>,
  o: { default?: T; doc: string; defaultText?: string },
): Setting<T, boolean, K> {
  return {
    kind: "setting",
    key,
    value,
    default: o.default as T,
    ...(o.defaultText !== undefined ? { defaultText: o.defaultText } : {}),
    doc: o.doc,
  };
}

/** A zod schema that converts with `f`, which returns the value or a problem message. */
function checked<I, T>(input: z.ZodType<I>, f: (v: I) => Checked<T>): z.ZodType<T> {
  return input.transform((v, ctx) => {
    const r = f(v);
    if ("value" in r) return r.value;
    ctx.addIssue({ code: "custom", message: r.problem });
    return z.NEVER;
  }) as unknown as z.ZodType<T>;
}

type Checked<T> = { value: T } | { problem: string };
const fail = (problem: string): { problem: string } => ({ problem });
const got = (v: unknown) => (typeof v === "string" ? `"${v}"` : JSON.stringify(v));

function num(o: { int?: boolean; min: number; max: number; unit?: string }): ValueType<number> {
  const expected = `expected ${o.int ? "an integer" : "a number"} from ${o.min} to ${o.max}`;
  const ok = (n: unknown): n is number =>
    typeof n === "number" &&
    Number.isFinite(n) &&
    (!o.int || Number.isInteger(n)) &&
    n >= o.min &&
    n <= o.max;
  return {
    yaml: checked(z.unknown(), (v) => (ok(v) ? { value: v } : fail(`${expected}, got ${got(v)}`))),
    cli: checked(z.string(), (text) => {
      const n = Number(text.trim());
      return text.trim() !== "" && ok(n) ? { value: n } : fail(`${expected}, got "${text}"`);
    }),
    type: `${o.unit ?? (o.int ? "integer" : "number")} (${o.min}-${o.max})`,
  };
}

const seconds = (min = 0.001, max = 86_400 * 365) => num({ min, max, unit: "seconds" });

function str(type: string): ValueType<string> {
  const s = checked(z.unknown(), (v) =>
    typeof v === "string" && v !== ""
      ? { value: v }
      : fail(`expected a non-empty string, got ${got(v)}`),
  );
  return { yaml: s, cli: s, type };
}

const bool: ValueType<boolean> = {
  yaml: checked(z.unknown(), (v) =>
    typeof v === "boolean" ? { value: v } : fail(`expected true or false, got ${got(v)}`),
  ),
  cli: z.boolean(),
  type: "boolean",
};

function oneOf<const T extends string>(values: readonly T[]): ValueType<T> {
  const s = checked(z.unknown(), (v) =>
    (values as readonly unknown[]).includes(v)
      ? { value: v as T }
      : fail(`expected one of ${values.join(", ")}, got ${got(v)}`),
  );
  return { yaml: s, cli: s, type: values.map((v) => `\`${v}\``).join(", ") };
}

/** A hook command: a string split like a shell would (without running one), or an argv list. */
const command: ValueType<readonly string[]> = (() => {
  const split = (text: string): Checked<readonly string[]> => {
    try {
      const argv = splitCommand(text);
      return argv.length > 0 ? { value: argv } : { problem: "empty command" };
    } catch (err) {
      return fail((err as Error).message);
    }
  };
  return {
    yaml: checked(z.union([z.string(), z.array(z.string()).min(1)]), (v) =>
      typeof v === "string" ? split(v) : { value: v },
    ),
    cli: checked(z.string(), split),
    type: "command string or argv list",
  };
})();

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

const cpuList: ValueType<readonly number[]> = (() => {
  const s = checked(z.unknown(), (v) => {
    const list =
      typeof v === "string" || (typeof v === "number" && Number.isInteger(v) && v >= 0)
        ? parseCpuList(String(v))
        : undefined;
    return list ? { value: list } : fail(`expected a CPU list like 0-2,5, got ${got(v)}`);
  });
  return { yaml: s, cli: s, type: "CPU list string, e.g. `0-1,3`" };
})();

const cidrs: ValueType<readonly string[]> = (() => {
  const s = z.array(
    z.string().superRefine((text, ctx) => {
      const problem = ipv4CidrProblem(text);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  );
  return { yaml: s, cli: s, type: "list of IPv4 CIDRs" };
})();

export const SETTINGS = {
  listen: {
    address: setting("listen.address", str("IPv4 address"), {
      default: "0.0.0.0",
      doc: "IPv4 address GENEVE is received on",
    }),
    port: setting("listen.port", num({ int: true, min: 1, max: 65535, unit: "port" }), {
      default: GENEVE_PORT,
      doc: "UDP port GENEVE is received on",
    }),
  },
  socketBufferBytes: setting(
    "socketBufferBytes",
    num({ int: true, min: 65536, max: 2 ** 31 - 1, unit: "bytes" }),
    {
      default: 64 * 1024 * 1024,
      doc: "SO_RCVBUF/SO_SNDBUF of the GENEVE sockets (forced past `rmem_max` with CAP_NET_ADMIN)",
    },
  ),
  datapath: setting("datapath", oneOf(DATAPATH_MODES), {
    default: "auto",
    doc: "where GENEVE is decapsulated and encapsulated: `kernel` (eBPF programs on the uplink and the tun interfaces; Linux >= 6.6 with tcx, libbpf, the compiled BPF object), `user` (the daemon, batched syscalls), `auto` (kernel where this machine supports it, else user, with the reason logged). See [the two data paths](#the-two-data-paths)",
  }),
  batchSize: setting("batchSize", num({ int: true, min: 1, max: 1024 }), {
    default: 64,
    doc: "datagrams per recvmmsg / packets per tun drain",
  }),
  rxCoalesceUs: setting(
    "rxCoalesceUs",
    num({ int: true, min: 0, max: 10000, unit: "microseconds" }),
    {
      default: 100,
      doc: "under load, wait this long after a wake-up so that more datagrams are received at once (fewer wake-ups and syscalls per packet; sparse traffic is never delayed); `0` = off",
    },
  ),
  mtu: setting("mtu", num({ int: true, min: 576, max: 9001, unit: "bytes" }), {
    default: GWLB_MTU,
    doc: "MTU of the gwi-/gwo- interfaces (GWLB drops replies over 8500 bytes without ICMP)",
  }),
  maxEndpoints: setting("maxEndpoints", num({ int: true, min: 1, max: 65535 }), {
    default: 4096,
    doc: "most GWLB endpoints (tun pairs) at once",
  }),
  endpointIdleTimeoutSeconds: setting("endpointIdleTimeout", seconds(0), {
    default: 0,
    doc: "remove an endpoint's interfaces (running the DESTROY hook) after this long without packets; `0` = never",
  }),
  flows: {
    maxEntries: setting(
      "flows.maxEntries",
      num({ int: true, min: 1, max: FLOW_TABLE_MAX_CAPACITY }),
      {
        default: 1_000_000,
        doc: `bound of each flow table: the daemon's (user-space data path; its ${FLOW_TABLE_BYTES_PER_ENTRY + FLOW_RECORD_BYTES_PER_ENTRY}-byte slots are reserved at start and committed as flows arrive, 1,000,000 flows: about ${Math.round((1e6 * (FLOW_TABLE_BYTES_PER_ENTRY + FLOW_RECORD_BYTES_PER_ENTRY)) / 2 ** 20)} MiB) and, with \`datapath\` kernel, the kernel's flow map \`tg_flows\` (an LRU hash preallocated at start: about 209 bytes per entry, 199 MiB for 1,000,000; it can start evicting up to a few hundred entries before it is full, its free nodes being kept per CPU); when a table is full, the least recently used flow is evicted, counted in \`tollgate_flow_evictions_total\` (label \`path\`: \`user\` the daemon's table, \`kernel\` the kernel's map), shown by health and logged, and its replies are dropped until its next packet from the GWLB`,
      },
    ),
    timeouts: {
      tcp: setting("flows.idleTimeout.tcp", seconds(), {
        default: GWLB_TCP_IDLE_TIMEOUT_SECONDS,
        doc: "TCP flow idle timeout: set it to the GWLB listener's `tcpIdleTimeoutSeconds`",
      }),
      udp: setting("flows.idleTimeout.udp", seconds(), {
        default: GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
        doc: "UDP flow idle timeout (GWLB: 120, fixed)",
      }),
      other: setting("flows.idleTimeout.other", seconds(), {
        default: GWLB_OTHER_IDLE_TIMEOUT_SECONDS,
        doc: "idle timeout of other protocols, e.g. ICMP",
      }),
    },
  },
  hold: {
    timeoutSeconds: setting("hold.timeout", seconds(0, 600), {
      default: 3,
      doc: "hold a new endpoint's packets until its listeners (rp_filter, CREATE hook, rules) finished, at most this long, then forward them anyway; `0` = no hold",
    }),
    maxPackets: setting("hold.maxPackets", num({ int: true, min: 1, max: 65536 }), {
      default: 256,
      doc: "most packets held per new endpoint; newer ones are dropped",
    }),
    maxBytes: setting("hold.maxBytes", num({ int: true, min: 1, max: 2 ** 30, unit: "bytes" }), {
      default: 1 << 20,
      doc: "most bytes held per new endpoint",
    }),
  },
  hooks: {
    create: setting("hooks.create", command, {
      doc: "CREATE hook, run as `<command> CREATE gwi-X gwo-X <endpoint id>` once an endpoint's interfaces are up",
      defaultText: "none",
    }),
    destroy: setting("hooks.destroy", command, {
      doc: "DESTROY hook, run as `<command> DESTROY gwi-X gwo-X <endpoint id>` before an endpoint's interfaces are removed",
      defaultText: "none",
    }),
    timeoutSeconds: setting("hooks.timeout", seconds(), {
      default: 30,
      doc: "a hook still running after this long gets SIGTERM, then SIGKILL 2 s later",
    }),
  },
  health: {
    port: setting("health.port", num({ int: true, min: 1, max: 65535, unit: "port" }), {
      doc: "TCP port of the HTTP health (`GET /`) and Prometheus metrics (`GET /metrics`) server",
      defaultText: "no server",
    }),
    address: setting("health.address", str("address"), {
      default: "::",
      doc: "address the health server listens on (`::`: all IPv4 and IPv6 addresses)",
    }),
    format: setting("health.format", oneOf(["text", "json"]), {
      default: "text",
      doc: "health body format when the request does not ask (`?format=`)",
    }),
    detailed: setting("health.detailed", bool, {
      default: true,
      doc: "`false`: health answers with the status code only (empty body)",
    }),
    windowSeconds: setting("health.window", seconds(1, 3600), {
      default: 10,
      doc: "traffic window the health verdict looks at",
    }),
    minPackets: setting("health.minPackets", num({ int: true, min: 1, max: 1_000_000 }), {
      default: 20,
      doc: "fewest GENEVE datagrams in a window before none forwarded (or no reply returned) fails health: a few stray datagrams must not",
    }),
    graceSeconds: setting("health.grace", seconds(0, 3600), {
      default: 10,
      doc: "time a new endpoint gets to set up forwarding (CREATE hook, rules) and pass its first canary; meanwhile health says `starting`",
    }),
    verifyIntervalSeconds: setting("health.verifyInterval", seconds(1, 3600), {
      default: 5,
      doc: "period of the rule engine check (tools, rules file, applied state): broken tools turn health 503 within this plus the check's run time",
    }),
    canary: {
      intervalSeconds: setting("health.canary.interval", seconds(0.1, 60), {
        default: 1,
        doc: "period of the health canary sent through each endpoint gwi-X -> gwo-X",
      }),
      failures: setting("health.canary.failures", num({ int: true, min: 1, max: 100 }), {
        default: 3,
        doc: "canaries lost in a row that fail an endpoint: a broken path turns health 503 within (failures + 1) x interval",
      }),
    },
  },
  rpFilter: {
    manage: setting("rpFilter.manage", bool, {
      default: true,
      doc: "disable rp_filter on the tun interfaces and keep it disabled (`false`: the hooks must do it)",
    }),
    global: setting("rpFilter.global", bool, {
      default: true,
      doc: "also set `net.ipv4.conf.all/default.rp_filter` to 0 (the kernel uses the maximum)",
    }),
    intervalSeconds: setting("rpFilter.interval", seconds(0, 3600), {
      default: 5,
      doc: "how often rp_filter is re-checked and re-asserted; `0` = only at interface creation",
    }),
  },
  rulesFile: setting("rules", str("path"), {
    doc: "rules file applied to every endpoint (see `tollgate rules --help`)",
    defaultText: "none",
  }),
  suricata: {
    logDir: setting("suricata.logDir", str("directory"), {
      default: "/var/log/tollgate/suricata",
      doc: "Suricata's log directory; the daemon follows its EVE log `<logDir>/eve.json` for alerts (metrics, `tollgate alerts`)",
    }),
    runDir: setting("suricata.runDir", str("directory"), {
      default: "/run/tollgate/suricata",
      doc: "where the daemon writes Suricata's generated `suricata.yaml` and `tollgate.rules` and Suricata its unix socket and pidfile (used when the rules file has a `suricata:` section)",
    }),
    command: setting("suricata.command", command, {
      default: ["suricata"],
      doc: "Suricata's program (looked up in PATH), run without a shell with the generated configuration",
    }),
  },
  alerts: {
    log: setting("alerts.log", str("path"), {
      default: "/var/log/tollgate/alerts.json",
      doc: "alert log the daemon writes: one JSON line per Suricata alert, with the GWLB endpoint it came through; `tollgate alerts` reads it",
    }),
  },
  externalForwarding: setting("externalForwarding", bool, {
    default: false,
    doc: "forwarding gwi-X -> gwo-X is wired outside the daemon; without it, a configuration with neither rules nor CREATE hook is refused",
  }),
  gwlbCidrs: setting("gwlbCidrs", cidrs, {
    default: [],
    defaultText: "any source (warned)",
    doc: "accept GENEVE only from these IPv4 CIDRs (the GWLB's subnets); others are dropped and counted (SOURCE_NOT_ALLOWED)",
  }),
  logLevel: setting("logLevel", oneOf(LOG_LEVELS), {
    default: "info",
    doc: "log level",
  }),
  threads: {
    udp: setting("threads.udp", num({ int: true, min: 1, max: 1024 }), {
      doc: "accepted for compatibility: the data path is one thread with batched syscalls; validated and logged",
      defaultText: "",
    }),
    udpAffinity: setting("threads.udpAffinity", cpuList, {
      doc: "accepted for compatibility; validated, not applied (pin the process with `taskset`/`CPUAffinity=`)",
      defaultText: "",
    }),
    tun: setting("threads.tun", num({ int: true, min: 1, max: 1024 }), {
      doc: "accepted for compatibility",
      defaultText: "",
    }),
    tunAffinity: setting("threads.tunAffinity", cpuList, {
      doc: "accepted for compatibility; validated, not applied",
      defaultText: "",
    }),
  },
} as const;

/** The YAML key of a setting, e.g. "flows.idleTimeout.tcp". */
export type SettingKey = SettingKeys<typeof SETTINGS>;

/** The resolved configuration the daemon runs with. */
export type ApplianceConfig = Resolved<typeof SETTINGS> & {
  /** The configuration file that was read, if any. */
  readonly configFile?: string;
};

function isSetting(node: AnySetting | SettingTree): node is AnySetting {
  return (node as AnySetting).kind === "setting";
}

/** Every setting with its path in the resolved config, in table order. */
export function settingLeaves(
  tree: SettingTree = SETTINGS,
  at: readonly string[] = [],
): { readonly path: readonly string[]; readonly setting: AnySetting }[] {
  return Object.entries(tree).flatMap(([name, node]) =>
    isSetting(node) ? [{ path: [...at, name], setting: node }] : settingLeaves(node, [...at, name]),
  );
}

/** The setting with this YAML key. */
export function settingByKey(key: SettingKey): AnySetting {
  const found = settingLeaves().find((l) => l.setting.key === key);
  if (!found) throw new Error(`no setting ${key}`);
  return found.setting;
}

/** The groups of the resolved config, created empty (every group exists even with no values). */
export function emptyGroups(tree: SettingTree = SETTINGS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(tree))
    if (!isSetting(node)) out[name] = emptyGroups(node);
  return out;
}

/** Sets `value` at `path` in nested plain objects (the groups exist, see emptyGroups). */
export function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown) {
  let at = target;
  for (const name of path.slice(0, -1)) at = at[name] as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

/** The value at `path` in nested plain objects, if any. */
export function getIn(source: unknown, path: readonly string[]): unknown {
  let at = source;
  for (const name of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[name];
  }
  return at;
}

/** Every setting's default, in the resolved config's shape. */
export const DEFAULT_CONFIG: ApplianceConfig = (() => {
  const out = emptyGroups();
  for (const { path, setting: s } of settingLeaves())
    if (s.default !== undefined) setIn(out, path, s.default);
  return out as ApplianceConfig;
})();

/** Values read from the YAML file, keyed like the file (converted: hook commands as argv...). */
export type ConfigFile = Record<string, unknown>;

/** The YAML file's schema: every key optional, unknown keys are errors. */
export const configFileSchema: z.ZodType<ConfigFile> = (() => {
  interface Shape {
    [name: string]: Shape | z.ZodType;
  }
  const root: Shape = {};
  for (const { setting: s } of settingLeaves()) {
    const names = s.key.split(".");
    let at = root;
    for (const name of names.slice(0, -1)) at = (at[name] ??= {}) as Shape;
    at[names[names.length - 1]!] = s.value.yaml;
  }
  const build = (shape: Shape): z.ZodType =>
    z.strictObject(
      Object.fromEntries(
        Object.entries(shape).map(([k, v]) => [
          k,
          (v instanceof z.ZodType ? v : build(v)).optional(),
        ]),
      ),
    );
  return build(root) as z.ZodType<ConfigFile>;
})();
