/**
 * Rule -> iptables match fragments, per address family. A rule with several sources,
 * destinations or port groups expands into several iptables rules (the cartesian product).
 */
import ipaddr from "ipaddr.js";
import type { Family } from "./model";
import { ICMP_TYPES } from "./protocols";
import { parsePortSpec, type Rule } from "./schema";

export interface MatchContext {
  /** ipset name holding the endpoint's protected CIDRs for this family; undefined when none. */
  readonly protectedSet?: string;
  /** ipset name of a named set for this family. */
  setName(name: string, family: Family): string;
}

/** Family of a CIDR or address. */
export function cidrFamily(cidr: string): Family {
  return cidr.includes(":") ? "ipv6" : "ipv4";
}

/** Canonical CIDR text (network address, explicit prefix) as iptables-save prints it. */
export function canonicalCidr(cidr: string): string {
  const [addr, len] = cidr.includes("/")
    ? ipaddr.parseCIDR(cidr)
    : [ipaddr.parse(cidr), cidr.includes(":") ? 128 : 32];
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${len}`;
}

export function asList<T>(v: T | readonly T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? [...(v as T[])] : [v as T];
}

/** Families a rule applies to (before per-family address filtering). */
export function ruleFamilies(rule: Rule, ipv6: boolean): Family[] {
  let fams: Family[] = ipv6 ? ["ipv4", "ipv6"] : ["ipv4"];
  if (rule.family === "ipv4") fams = fams.filter((f) => f === "ipv4");
  if (rule.family === "ipv6") fams = fams.filter((f) => f === "ipv6");
  if (rule.proto === "icmp") fams = fams.filter((f) => f === "ipv4");
  if (rule.proto === "icmpv6") fams = fams.filter((f) => f === "ipv6");
  return fams;
}

/** Protocols iptables names itself (others it prints from /etc/protocols, if present). */
const PROTO_BY_NUMBER: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  50: "esp",
  51: "ah",
  58: "ipv6-icmp",
  132: "sctp",
};

function protoArg(proto: Rule["proto"], family: Family): string | undefined {
  if (proto === undefined || proto === "all") return undefined;
  if (typeof proto === "number") return PROTO_BY_NUMBER[proto] ?? String(proto);
  if (proto === "gre") return "47";
  if (proto === "icmpv6") return "ipv6-icmp";
  if (proto === "icmp" && family === "ipv6") return "ipv6-icmp";
  return String(proto);
}

/** Match on a named set (`@name`) by source or destination. */
function setMatch(ctx: MatchContext, ref: string, family: Family, dir: "src" | "dst"): string {
  return `-m set --match-set ${ctx.setName(ref.slice(1), family)} ${dir}`;
}

/** Address alternatives for one side in one family; undefined = no constraint; [] = cannot match. */
function addressAlternatives(
  value: Rule["src"],
  side: "s" | "d",
  family: Family,
  ctx: MatchContext,
): string[] | undefined {
  const items = asList(value);
  if (items.length === 0) return undefined;
  const dir = side === "s" ? "src" : "dst";
  const out: string[] = [];
  for (const item of items) {
    if (item.startsWith("@")) {
      out.push(setMatch(ctx, item, family, dir));
    } else if (cidrFamily(item) === family) {
      out.push(`-${side} ${canonicalCidr(item)}`);
    }
  }
  return out;
}

/** Port alternatives: multiport groups of at most 15 slots, plus one per @set. */
function portAlternatives(
  value: Rule["ports"],
  dir: "src" | "dst",
  proto: string,
  family: Family,
  ctx: MatchContext,
): string[] | undefined {
  const items = asList(value);
  if (items.length === 0) return undefined;
  const out: string[] = [];
  const literal: string[] = [];
  for (const item of items) {
    if (typeof item === "string" && item.startsWith("@")) {
      out.push(setMatch(ctx, item, family, dir));
    } else {
      const [lo, hi] = parsePortSpec(item)!;
      literal.push(lo === hi ? String(lo) : `${lo}:${hi}`);
    }
  }
  const flag = dir === "src" ? "sport" : "dport";
  if (literal.length === 1) {
    out.unshift(`-m ${proto} --${flag} ${literal[0]!}`);
  } else if (literal.length > 1) {
    out.unshift(...multiportGroups(literal).map((g) => `-m multiport --${flag}s ${g.join(",")}`));
  }
  return out;
}

/** Splits ports ("80", "8000:8100") into groups of at most 15 multiport slots (a range takes 2). */
function multiportGroups(ports: readonly string[]): string[][] {
  const groups: string[][] = [];
  let cur: string[] = [];
  let slots = 0;
  for (const p of ports) {
    const w = p.includes(":") ? 2 : 1;
    if (slots + w > 15) {
      groups.push(cur);
      cur = [];
      slots = 0;
    }
    cur.push(p);
    slots += w;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

function icmpAlternatives(rule: Rule, family: Family): string[] | undefined {
  const items = asList(rule.icmpType);
  if (items.length === 0) return undefined;
  const table = ICMP_TYPES[family];
  return items.map((item) => {
    let text = String(item);
    if (typeof item === "string" && /^[a-z-]+$/.test(item)) {
      const n = table[item];
      if (n === undefined)
        throw new Error(`unknown ${family === "ipv4" ? "ICMP" : "ICMPv6"} type "${item}"`);
      text = String(n);
    }
    return family === "ipv4" ? `-m icmp --icmp-type ${text}` : `-m icmp6 --icmpv6-type ${text}`;
  });
}

const UNIT: Record<string, string> = {
  s: "sec",
  sec: "sec",
  second: "sec",
  m: "min",
  min: "min",
  minute: "min",
  h: "hour",
  hour: "hour",
  d: "day",
  day: "day",
};

/** `limit` -> xt_limit (global) or xt_hashlimit (per source/destination/flow). */
export function limitMatch(limit: Rule["limit"], hashName: string): string | undefined {
  if (limit === undefined) return undefined;
  const spec = typeof limit === "string" ? { rate: limit } : limit;
  const [n, unit] = spec.rate.split("/") as [string, string];
  const rate = `${n}/${UNIT[unit]!}`;
  const burst = spec.burst ?? 5;
  const per = "per" in spec ? spec.per : undefined;
  if (per === undefined || per === "none") {
    return burst === 5
      ? `-m limit --limit ${rate}`
      : `-m limit --limit ${rate} --limit-burst ${burst}`;
  }
  const mode = {
    source: "srcip",
    destination: "dstip",
    flow: "srcip,srcport,dstip,dstport",
  }[per];
  return `-m hashlimit --hashlimit-upto ${rate} --hashlimit-burst ${burst} --hashlimit-mode ${mode} --hashlimit-name ${hashName}`;
}

const CANONICAL_FIRST = ["-s ", "! -s ", "-d ", "! -d ", "-i ", "! -i ", "-o ", "! -o ", "-p "];

/** Orders fragments as iptables-save prints them and merges split tcp/udp port matches. */
function canonical(fragments: string[]): string {
  const slot = (f: string) => {
    const i = CANONICAL_FIRST.findIndex((p) => f.startsWith(p));
    return i < 0 ? CANONICAL_FIRST.length : Math.floor(i / 2);
  };
  const sorted = fragments
    .map((f, i) => ({ f, i, s: slot(f) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.f);
  return sorted.join(" ").replace(/(-m (tcp|udp|sctp) --sport \S+) -m \2 (--dport)/, "$1 $3");
}

/** What every match construct sees. */
interface MatchInput {
  readonly rule: Rule;
  readonly family: Family;
  readonly ctx: MatchContext;
  readonly hashName: string;
  /** iptables `-p` argument, undefined for any protocol. */
  readonly proto: string | undefined;
}

/**
 * A match construct: alternatives (one of which must match), undefined when the rule does not
 * constrain it, [] when no alternative exists in this family, or CANNOT_MATCH to stop at once.
 */
type MatchConstruct = (m: MatchInput) => string[] | undefined | typeof CANNOT_MATCH;
const CANNOT_MATCH = null;

const portProtos = new Set(["tcp", "udp", "sctp"]);

/** Every match construct, in the order iptables-save prints them (after `canonical`). */
const MATCH_CONSTRUCTS: readonly MatchConstruct[] = [
  ({ proto }) => (proto ? [`-p ${proto}`] : undefined),
  ({ rule, family, ctx }) => addressAlternatives(rule.src, "s", family, ctx),
  ({ rule, family, ctx }) => addressAlternatives(rule.dst, "d", family, ctx),
  ({ rule, ctx }) => {
    if (rule.direction !== "in" && rule.direction !== "out") return undefined;
    if (!ctx.protectedSet) return CANNOT_MATCH;
    return [`-m set --match-set ${ctx.protectedSet} ${rule.direction === "in" ? "dst" : "src"}`];
  },
  ({ rule, family, ctx, proto }) =>
    proto && portProtos.has(proto)
      ? portAlternatives(rule.sourcePorts, "src", proto, family, ctx)
      : undefined,
  ({ rule, family, ctx, proto }) =>
    proto && portProtos.has(proto)
      ? portAlternatives(rule.ports, "dst", proto, family, ctx)
      : undefined,
  ({ rule, family }) => icmpAlternatives(rule, family),
  ({ rule }) =>
    rule.state
      ? [`-m conntrack --ctstate ${rule.state.map((s) => s.toUpperCase()).join(",")}`]
      : undefined,
  ({ rule, hashName }) => {
    const lim = limitMatch(rule.limit, hashName);
    return lim ? [lim] : undefined;
  },
  ({ rule }) => (rule.comment ? [`-m comment --comment "${rule.comment}"`] : undefined),
];

/** Every combination picking one alternative per part; none when a part has no alternative. */
function cartesian(parts: readonly (readonly string[])[]): string[][] {
  let out: string[][] = [[]];
  for (const alternatives of parts) {
    if (alternatives.length === 0) return [];
    out = out.flatMap((prefix) => alternatives.map((alt) => [...prefix, alt]));
  }
  return out;
}

/**
 * All match fragments for `rule` in `family`, one string per iptables rule (without -A/-j), in
 * iptables-save's canonical order (so plans compare exactly). `iface` ("-i gwi-X") is placed
 * where iptables-save prints it. An empty array means the rule cannot match in this family.
 */
export function expandMatches(
  rule: Rule,
  family: Family,
  ctx: MatchContext,
  hashName: string,
  iface?: string,
): string[] {
  const input: MatchInput = { rule, family, ctx, hashName, proto: protoArg(rule.proto, family) };
  const parts: string[][] = iface ? [[iface]] : [];
  for (const construct of MATCH_CONSTRUCTS) {
    const alternatives = construct(input);
    if (alternatives === CANNOT_MATCH) return [];
    if (alternatives) parts.push(alternatives);
  }
  return cartesian(parts).map(canonical);
}
