/**
 * Reading Tollgate's own live kernel state: iptables-save (own chains and jumps), ipset, tc
 * filters (by preference range and cookie), ip rules/routes (by protocol), sysctls.
 * Parsers are pure; `readLiveState` does the I/O through a CommandRunner.
 */
import { ipArgv } from "./commands";
import { SET_PREFIX, TEMP_SUFFIX } from "./ipset";
import {
  CHAIN_PREFIX,
  FAMILIES,
  ROUTE_PROTO,
  TABLES,
  TC_PREF_FIRST,
  TC_PREF_REDIRECT,
  type Family,
  type IpAddr,
  type IpRoute,
  type IpRule,
  type Table,
} from "./model";
import { runChecked, type CommandRunner } from "../command";

export interface IptablesOwnState {
  /** table -> own chain -> its rules as iptables-save prints them ("-A CHAIN ..."). */
  readonly chains: Record<Table, Map<string, string[]>>;
  /** table -> "FROM TO" -> number of exact `-A FROM -j TO` jumps into own chains. */
  readonly jumps: Record<Table, Map<string, number>>;
}

export function emptyOwnState(): IptablesOwnState {
  const chains = {} as Record<Table, Map<string, string[]>>;
  const jumps = {} as Record<Table, Map<string, number>>;
  for (const t of TABLES) {
    chains[t] = new Map();
    jumps[t] = new Map();
  }
  return { chains, jumps };
}

/** Extracts own chains and jumps from iptables-save output. */
export function parseIptablesSave(text: string): IptablesOwnState {
  const state = emptyOwnState();
  let table: Table | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      const t = line.slice(1).trim();
      table = (TABLES as readonly string[]).includes(t) ? (t as Table) : undefined;
    } else if (!table) {
      continue;
    } else if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0]!;
      if (name.startsWith(CHAIN_PREFIX)) state.chains[table].set(name, []);
    } else if (line.startsWith("-A ")) {
      const chain = line.split(" ")[1]!;
      if (chain.startsWith(CHAIN_PREFIX)) {
        state.chains[table].get(chain)?.push(line);
      } else {
        const m = /^-A (\S+) -j (TOLLGATE-\S+)$/.exec(line);
        if (m) {
          const key = `${m[1]!} ${m[2]!}`;
          state.jumps[table].set(key, (state.jumps[table].get(key) ?? 0) + 1);
        }
      }
    }
  }
  return state;
}

/** Non-Tollgate lines of an iptables-save dump (for asserting that others' rules survive). */
export function foreignRules(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("-A ") && !/^-A TOLLGATE-/.test(l) && !/ -j TOLLGATE-\S+$/.test(l));
}

export interface LiveTcFilter {
  readonly dev: string;
  readonly pref: number;
  readonly protocol: string;
  readonly cookie?: string;
}

interface TcJson {
  pref?: number;
  protocol?: string;
  options?: { actions?: { cookie?: string }[] };
}

/** Own filters (preference 49000-49999) from `tc -j filter show dev X ingress`. */
export function parseTcFilters(dev: string, json: string): LiveTcFilter[] {
  const items = (JSON.parse(json || "[]") as TcJson[]) ?? [];
  const byPref = new Map<number, LiveTcFilter>();
  for (const it of items) {
    const pref = it.pref ?? -1;
    if (pref < TC_PREF_FIRST || pref > TC_PREF_REDIRECT) continue;
    const cookie = it.options?.actions?.find((a) => a.cookie)?.cookie;
    const prev = byPref.get(pref);
    if (!prev || (cookie && !prev.cookie))
      byPref.set(pref, { dev, pref, protocol: it.protocol ?? "all", cookie });
  }
  return [...byPref.values()].sort((a, b) => a.pref - b.pref);
}

export type LiveIpRule = IpRule;

interface RuleJson {
  priority?: number;
  iif?: string;
  src?: string;
  srclen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  protocol?: string;
}

/** Normalised identity of an ip rule. */
export function ipRuleKey(r: IpRule): string {
  return `${r.family} pref ${r.pref}${r.iif ? ` iif ${r.iif}` : ""}${r.src ? ` from ${r.src}` : ""}${r.fwmark ? ` fwmark ${r.fwmark}` : ""} lookup ${r.table}`;
}

export function parseIpRules(family: Family, json: string): LiveIpRule[] {
  const items = (JSON.parse(json || "[]") as RuleJson[]) ?? [];
  return items
    .filter((r) => r.protocol === String(ROUTE_PROTO))
    .map((r) => {
      let fwmark: string | undefined;
      if (r.fwmark !== undefined) {
        const v = Number(r.fwmark);
        const m = r.fwmask !== undefined ? Number(r.fwmask) : 0xffffffff;
        fwmark = `0x${v.toString(16)}/0x${m.toString(16)}`;
      }
      const src =
        r.src !== undefined && r.src !== "all"
          ? `${r.src}/${r.srclen ?? (family === "ipv4" ? 32 : 128)}`
          : undefined;
      return { family, pref: r.priority ?? 0, iif: r.iif, src, fwmark, table: r.table ?? "main" };
    });
}

export interface LiveIpRoute extends IpRoute {
  readonly table: string;
}

interface RouteJson {
  type?: string;
  dst?: string;
  dev?: string;
  table?: string;
}

export function ipRouteKey(r: IpRoute): string {
  const dst = r.dst === "default" ? (r.family === "ipv4" ? "0.0.0.0/0" : "::/0") : r.dst;
  return `${r.family} ${r.type} ${dst} dev ${r.dev} table ${r.table}`;
}

export function parseIpRoutes(family: Family, json: string): LiveIpRoute[] {
  const items = (JSON.parse(json || "[]") as RouteJson[]) ?? [];
  return items.map((r) => ({
    family,
    type: r.type ?? "unicast",
    dst: r.dst ?? "default",
    dev: r.dev ?? "",
    table: r.table ?? "main",
  }));
}

export type LiveIpAddr = IpAddr;

export function ipAddrKey(a: IpAddr): string {
  return `${a.family} ${a.address} dev ${a.dev}`;
}

interface AddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** Tollgate's REDIRECT addresses (169.254.x.y/32, fe80::7467:z/128) on gwi-* interfaces. */
export function parseOwnAddrs(json: string): LiveIpAddr[] {
  const out: LiveIpAddr[] = [];
  for (const link of (JSON.parse(json || "[]") as AddrJson[]) ?? []) {
    if (!link.ifname?.startsWith("gwi-")) continue;
    for (const a of link.addr_info ?? []) {
      if (a.family === "inet" && a.prefixlen === 32 && a.local?.startsWith("169.254.")) {
        out.push({ family: "ipv4", dev: link.ifname, address: `${a.local}/32` });
      } else if (
        a.family === "inet6" &&
        a.prefixlen === 128 &&
        a.local?.startsWith("fe80::7467:")
      ) {
        out.push({ family: "ipv6", dev: link.ifname, address: `${a.local}/128` });
      }
    }
  }
  return out;
}

export interface LiveState {
  /** Raw iptables-save output per family ("" when the tool is missing). */
  readonly save: Record<Family, string>;
  readonly iptables: Record<Family, IptablesOwnState>;
  /** Own ipsets (tg-*, excluding temporaries) and their `ipset save` text. */
  readonly ipsets: readonly string[];
  readonly ipsetSave: string;
  readonly interfaces: readonly string[];
  readonly tc: readonly LiveTcFilter[];
  /** Devices that have an ingress qdisc. */
  readonly ingress: readonly string[];
  readonly ipRules: readonly LiveIpRule[];
  readonly ipRoutes: readonly LiveIpRoute[];
  readonly ipAddrs: readonly LiveIpAddr[];
  readonly sysctls: ReadonlyMap<string, string>;
}

const SAVE: Record<Family, string> = { ipv4: "iptables-save", ipv6: "ip6tables-save" };

export interface ReadOptions {
  readonly families: readonly Family[];
  readonly ipset: boolean;
  /** Devices whose tc filters to read besides every gwi-* interface. */
  readonly devices?: readonly string[];
  readonly sysctlKeys?: readonly string[];
  /** Also read the sets' contents (`ipset save`, for a rollback snapshot). Defaults to true. */
  readonly setContents?: boolean;
}

export async function readLiveState(runner: CommandRunner, opts: ReadOptions): Promise<LiveState> {
  const out = (argv: string[]) => runChecked(runner, argv).then((r) => r.stdout);
  const fams = opts.families;
  // Independent reads run in parallel: this is on the path between an endpoint appearing and
  // its rules being in place.
  const [saves, setNames, linksJson, rulesJson, routesJson, addrJson, sysctlOut] =
    await Promise.all([
      Promise.all(FAMILIES.map((f) => (fams.includes(f) ? out([SAVE[f]]) : Promise.resolve("")))),
      opts.ipset ? out(["ipset", "list", "-n"]) : Promise.resolve(""),
      out(["ip", "-j", "link", "show"]),
      Promise.all(fams.map((f) => out(ipArgv(f, "-j", "rule", "show")))),
      Promise.all(
        fams.map((f) =>
          out(ipArgv(f, "-j", "route", "show", "table", "all", "proto", String(ROUTE_PROTO))),
        ),
      ),
      out(["ip", "-j", "addr", "show"]),
      (opts.sysctlKeys ?? []).length > 0
        ? // One process for all keys; -e skips keys that do not exist (yet).
          runner.run(["sysctl", "-e", ...(opts.sysctlKeys ?? [])]).then((r) => r.stdout)
        : Promise.resolve(""),
    ]);
  const save = { ipv4: saves[0]!, ipv6: saves[1]! } as Record<Family, string>;
  const iptables = { ipv4: parseIptablesSave(save.ipv4), ipv6: parseIptablesSave(save.ipv6) };
  const ipsets = setNames
    .split("\n")
    .map((n) => n.trim())
    .filter((n) => n.startsWith(SET_PREFIX) && !n.endsWith(TEMP_SUFFIX));
  const ipsetSave =
    (opts.setContents ?? true)
      ? (await Promise.all(ipsets.map((n) => out(["ipset", "save", n])))).join("")
      : "";
  const interfaces = (JSON.parse(linksJson || "[]") as { ifname: string }[]).map(
    (l) => l.ifname.split("@")[0]!,
  );
  const devs = [
    ...new Set([...interfaces.filter((n) => n.startsWith("gwi-")), ...(opts.devices ?? [])]),
  ].filter((d) => interfaces.includes(d));
  const perDev = await Promise.all(
    devs.map(async (dev) => {
      const q = await runner.run(["tc", "-j", "qdisc", "show", "dev", dev, "ingress"]);
      if (q.code !== 0 || !q.stdout.includes('"ingress"')) return undefined;
      return parseTcFilters(dev, await out(["tc", "-j", "filter", "show", "dev", dev, "ingress"]));
    }),
  );
  const ingress = devs.filter((_, i) => perDev[i] !== undefined);
  const tc = perDev.flatMap((f) => f ?? []);
  const ipRules = fams.flatMap((f, i) => parseIpRules(f, rulesJson[i]!));
  const ipRoutes = fams.flatMap((f, i) => parseIpRoutes(f, routesJson[i]!));
  const ipAddrs = parseOwnAddrs(addrJson);
  const sysctls = new Map<string, string>();
  for (const line of sysctlOut.split("\n")) {
    const m = /^(\S+) = (.*)$/.exec(line);
    if (m) sysctls.set(m[1]!, m[2]!.trim());
  }
  return {
    save,
    iptables,
    ipsets,
    ipsetSave,
    interfaces,
    tc,
    ingress,
    ipRules,
    ipRoutes,
    ipAddrs,
    sysctls,
  };
}
