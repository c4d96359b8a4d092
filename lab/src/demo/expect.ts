import ipaddr from "ipaddr.js";
import {
  ICMP_TYPES,
  PROTOCOL_NUMBERS,
  type LoadedRules,
  type ProtocolName,
  type Rule,
} from "@tollgate/appliance";

/**
 * What the rules file says should happen to a new connection from the client, so the demo can
 * assert the appliance did exactly that. It mirrors the compiler's order: the endpoint's own
 * rules, then the global ones (unless `inherit: false`), first match wins, then the policy.
 * Rules it cannot evaluate from outside (redirect, queue, sets of an unknown kind) make the
 * expectation "unknown": the demo then reports what happened without asserting.
 */

export type Verdict = "allow" | "drop" | "reject" | "unknown";

export interface ProbeSpec {
  /** Defaults to 4. */
  readonly family?: 4 | 6;
  /** "icmp" is ICMPv6 for family 6. */
  readonly proto: "tcp" | "udp" | "icmp";
  readonly src: string;
  readonly dst: string;
  /** Destination port (tcp/udp). */
  readonly port?: number;
  /** ICMP type (8 = echo-request; ICMPv6: 128). */
  readonly icmpType?: number;
}

export interface Expectation {
  readonly verdict: Verdict;
  /** "rules[0] (lab blocked ports)", "default policy drop", ... */
  readonly because: string;
}

export interface EffectiveRules {
  readonly mode: string;
  /** `defaults.ipv6` (true unless the file turns IPv6 filtering off). */
  readonly ipv6: boolean;
  readonly policy: "allow" | "drop" | "reject";
  readonly established: boolean;
  readonly protectedCidrs: readonly string[];
  readonly rules: ReadonlyArray<{ readonly rule: Rule; readonly where: string }>;
  readonly sets: Record<
    string,
    { readonly type: "net" | "port"; readonly entries: ReadonlyArray<string | number> }
  >;
}

/** The rules that apply to the endpoint whose ingress interface is `gwi`. */
export function effectiveRules(loaded: LoadedRules, gwi: string): EffectiveRules {
  const f = loaded.file;
  const d = f.defaults ?? {};
  const ep = loaded.endpoints.get(gwi);
  const s = ep?.section;
  const inherit = s?.inherit ?? true;
  const own = (s?.rules ?? []).map((rule, i) => ({
    rule,
    where: `endpoints.${ep!.key}.rules[${i}]`,
  }));
  const global = inherit ? (f.rules ?? []).map((rule, i) => ({ rule, where: `rules[${i}]` })) : [];
  return {
    mode: s?.mode ?? d.mode ?? "inspect",
    ipv6: d.ipv6 ?? true,
    policy: s?.policy ?? d.policy ?? "allow",
    established: s?.established ?? d.established ?? true,
    protectedCidrs: s?.protected ?? d.protected ?? [],
    rules: [...own, ...global],
    sets: (f.sets ?? {}) as EffectiveRules["sets"],
  };
}

type Match = boolean | "unknown";

function list<T>(v: T | readonly T[] | undefined): readonly T[] {
  return v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

function inCidr(addr: string, cidr: string): boolean {
  try {
    const a = ipaddr.parse(addr);
    if (!cidr.includes("/")) return ipaddr.parse(cidr).toString() === a.toString();
    const [net, bits] = ipaddr.parseCIDR(cidr);
    return a.kind() === net.kind() && a.match([net, bits]);
  } catch {
    return false;
  }
}

function matchAddrs(addr: string, items: readonly string[], e: EffectiveRules): Match {
  if (items.length === 0) return true;
  for (const it of items) {
    if (it.startsWith("@")) {
      const set = e.sets[it.slice(1)];
      if (!set) return "unknown";
      if (set.entries.some((x) => inCidr(addr, String(x)))) return true;
    } else if (inCidr(addr, it)) return true;
  }
  return false;
}

function portIn(port: number, spec: string | number): boolean {
  const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(String(spec).trim());
  if (!m) return false;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return port >= lo && port <= hi;
}

function matchPorts(
  port: number | undefined,
  items: ReadonlyArray<string | number>,
  e: EffectiveRules,
): Match {
  if (items.length === 0) return true;
  if (port === undefined) return false;
  for (const it of items) {
    if (typeof it === "string" && it.startsWith("@")) {
      const set = e.sets[it.slice(1)];
      if (!set) return "unknown";
      if (set.entries.some((x) => portIn(port, x))) return true;
    } else if (portIn(port, it)) return true;
  }
  return false;
}

function matchIcmp(
  type: number | undefined,
  items: ReadonlyArray<string | number>,
  v6: boolean,
): Match {
  if (items.length === 0) return true;
  if (type === undefined) return false;
  const names = ICMP_TYPES[v6 ? "ipv6" : "ipv4"];
  for (const it of items) {
    const t = typeof it === "number" ? it : (names[it] ?? Number(it.split("/")[0]));
    if (Number.isNaN(t)) return "unknown";
    if (t === type) return true;
  }
  return false;
}

/** Does `rule` match the first packet of `p`? */
export function ruleMatches(rule: Rule, p: ProbeSpec, e: EffectiveRules): Match {
  const results: Match[] = [];
  const v6 = p.family === 6;
  if (rule.family === (v6 ? "ipv4" : "ipv6")) return false;
  if (rule.proto !== undefined && rule.proto !== "all") {
    const n = typeof rule.proto === "number" ? rule.proto : PROTOCOL_NUMBERS[rule.proto];
    const probe: ProtocolName = p.proto === "icmp" && v6 ? "icmpv6" : p.proto;
    if (n !== PROTOCOL_NUMBERS[probe]) return false;
  }
  results.push(matchAddrs(p.src, list(rule.src), e));
  results.push(matchAddrs(p.dst, list(rule.dst), e));
  results.push(matchPorts(p.port, list(rule.ports), e));
  if (rule.sourcePorts !== undefined) results.push("unknown");
  results.push(matchIcmp(p.icmpType, list(rule.icmpType), v6));
  if (rule.state !== undefined && !rule.state.includes("new")) return false;
  if (rule.direction === "out" || rule.direction === "in") {
    const side = rule.direction === "out" ? p.src : p.dst;
    if (e.protectedCidrs.length === 0) return "unknown";
    results.push(e.protectedCidrs.some((c) => inCidr(side, c)));
  }
  if (results.includes(false)) return false;
  return results.includes("unknown") ? "unknown" : true;
}

function label(where: string, rule: Rule): string {
  return `${where}${rule.comment ? ` (${rule.comment})` : ""}`;
}

/** First-match evaluation of a new connection against the effective rules. */
export function expectVerdict(e: EffectiveRules, p: ProbeSpec): Expectation {
  if (e.mode === "passthrough") {
    return { verdict: "allow", because: "passthrough mode (no filtering)" };
  }
  if (p.family === 6 && !e.ipv6) {
    return { verdict: "unknown", because: "defaults.ipv6 is false (IPv6 is not filtered)" };
  }
  for (const { rule, where } of e.rules) {
    const m = ruleMatches(rule, p, e);
    if (m === false) continue;
    if (rule.action === "log" || rule.action === "mirror") continue; // not terminal
    if (m === "unknown") return { verdict: "unknown", because: `${label(where, rule)} may match` };
    if (rule.action === "allow" || rule.action === "drop" || rule.action === "reject") {
      return { verdict: rule.action, because: label(where, rule) };
    }
    return { verdict: "unknown", because: `${label(where, rule)} (${rule.action})` };
  }
  return { verdict: e.policy, because: `default policy ${e.policy}` };
}

export interface BlockedPort {
  readonly proto: "tcp" | "udp";
  readonly port: number;
  readonly expectation: Expectation;
}

/**
 * Ports the rules block for the client -> server direction: the first port of each drop/reject
 * rule that is not shadowed by an earlier rule. At most `max`, TCP first.
 */
export function blockedPorts(e: EffectiveRules, src: string, dst: string, max = 2): BlockedPort[] {
  const out: BlockedPort[] = [];
  for (const { rule } of e.rules) {
    if (rule.action !== "drop" && rule.action !== "reject") continue;
    if (rule.proto !== "tcp" && rule.proto !== "udp") continue;
    for (const item of list(rule.ports)) {
      const m = /^(\d+)/.exec(String(item));
      if (!m) continue;
      const port = Number(m[1]);
      if (out.some((b) => b.proto === rule.proto && b.port === port)) continue;
      const x = expectVerdict(e, { proto: rule.proto, src, dst, port });
      if (x.verdict === "drop" || x.verdict === "reject")
        out.push({ proto: rule.proto, port, expectation: x });
    }
  }
  return out.sort((a, b) => (a.proto === b.proto ? 0 : a.proto === "tcp" ? -1 : 1)).slice(0, max);
}
