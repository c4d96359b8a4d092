/**
 * The rule compiler: a pure function from a validated rules file, the endpoints present and the
 * kernel's capabilities to the complete desired state (iptables/ip6tables restore documents,
 * ipset restore, tc, ip rule/route and sysctl argument lists). No I/O; golden-file tested.
 *
 * Layout (per family):
 *   raw    PREROUTING -> TOLLGATE-PREROUTING   mark packets from gwi-X with the endpoint's mark;
 *                                              conntrack zone = mark (overlapping CIDRs stay apart)
 *   raw    OUTPUT     -> TOLLGATE-OUTPUT       same zone for local replies (proxy, REJECT)
 *   mangle PREROUTING -> TOLLGATE-PREROUTING   TPROXY, egress-nat connmark
 *   nat    PREROUTING -> TOLLGATE-PREROUTING   REDIRECT to a local proxy
 *   nat    POSTROUTING-> TOLLGATE-POSTROUTING  egress-nat MASQUERADE
 *   filter FORWARD    -> TOLLGATE-FORWARD      -i gwi-X health canary -> ACCEPT (canary.ts), then
 *                                              -i gwi-X -> TOLLGATE-gwi-X (the endpoint's rules)
 *   filter INPUT      -> TOLLGATE-INPUT        only proxied traffic from a tunnel reaches the box
 *
 * Structure: `compileRules` is a short driver. Each construct has its own emitter that appends
 * to one shared `Output`: per mode (`MODE_EMITTERS`), per family and construct of a forwarding
 * endpoint (`FAMILY_EMITTERS`), per rule action (`ACTION_TARGETS`; match constructs are in
 * matches.ts, tc filters in tc.ts, sets in ipset.ts), and the host-wide routes and sysctls.
 * Emitters run in a fixed order, so the output is deterministic.
 */
import { createHash } from "node:crypto";
import { ipAddrArgv, ipRouteArgv, ipRuleArgv } from "./commands";
import { namedSetName, namedSetSpecs, protectedSetName, renderIpsetRestore } from "./ipset";
import {
  canonicalCidr,
  cidrFamily,
  expandMatches,
  ruleFamilies,
  type MatchContext,
} from "./matches";
import {
  CHAIN_PREFIX,
  FAMILIES,
  TABLES,
  TC_PREF_FIRST,
  TC_PREF_REDIRECT,
  type Capabilities,
  type CompiledRuleset,
  type EndpointRef,
  type EndpointSummary,
  type Family,
  type IpAddr,
  type IpAddrSpec,
  type IpRouteSpec,
  type IpRule,
  type IpRuleSpec,
  type IpsetSpec,
  type JumpSpec,
  type Sysctl,
  type Table,
  type TcSpec,
} from "./model";
import type { LoadedRules } from "./parse";
import type { Mode, Rule, RulesFile, TrafficMatch } from "./schema";
import { canaryAcceptRule, canaryIpRule } from "./canary";
import { bothDirections } from "./reply";
import { ingressQdisc, mirrorFilters, passthroughRedirect } from "./tc";
import { inspectionTarget, INSPECTION_JUMP, type InspectionFamily } from "../suricata/inspect";

export const DEFAULT_MARK_MASK = 0xffff;
export const DEFAULT_TPROXY_MARK = 0x10000;
export const DEFAULT_RULE_PRIORITY = 10000;
export const DEFAULT_TPROXY_TABLE = 0x74670000;
/** Per-endpoint routing table = TABLE_BASE + zone. */
export const TABLE_BASE = 0x74670000;

/** Built-in chain -> Tollgate chain jumps, always present (exactly once, at the top). */
export const BASE_JUMPS: readonly JumpSpec[] = [
  { table: "raw", from: "PREROUTING", to: "TOLLGATE-PREROUTING" },
  { table: "raw", from: "OUTPUT", to: "TOLLGATE-OUTPUT" },
  { table: "mangle", from: "PREROUTING", to: "TOLLGATE-PREROUTING" },
  { table: "nat", from: "PREROUTING", to: "TOLLGATE-PREROUTING" },
  { table: "nat", from: "POSTROUTING", to: "TOLLGATE-POSTROUTING" },
  { table: "filter", from: "INPUT", to: "TOLLGATE-INPUT" },
  { table: "filter", from: "FORWARD", to: "TOLLGATE-FORWARD" },
];

export interface EffectiveEndpoint {
  readonly ref: EndpointRef;
  readonly suffix: string;
  readonly key?: string;
  readonly requestedMode: Mode;
  readonly mode: Mode;
  readonly policy: "allow" | "drop" | "reject";
  readonly established: boolean;
  readonly dropInvalid: boolean;
  readonly protected: readonly string[];
  /** egress-nat uplink; undefined when neither the file nor resolveUplink (uplink.ts) gave one. */
  readonly egressInterface: string | undefined;
  readonly zones: boolean;
  readonly zone: number;
  readonly rules: readonly Rule[];
  /** Where each rule came from, for messages ("rules[2]" / "endpoints.X.rules[0]"). */
  readonly origins: readonly string[];
}

function hash32(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0);
}

/** A stable name derived from `text` (xt_hashlimit table names). */
function hashName(text: string): string {
  return `tg${hash32(text).toString(16).padStart(8, "0")}`;
}

/**
 * Zone (= mark) of every endpoint: the section's `zone`, else a hash of gwi-X within the mark
 * mask, probing upwards past zones already taken.
 */
function allocateZones(
  loaded: LoadedRules,
  sorted: readonly EndpointRef[],
  markMask: number,
): Map<string, number> {
  const used = new Set<number>();
  for (const ref of sorted) {
    const z = loaded.endpoints.get(ref.gwi)?.section.zone;
    if (z !== undefined) used.add(z);
  }
  const zones = new Map<string, number>();
  for (const ref of sorted) {
    let zone = loaded.endpoints.get(ref.gwi)?.section.zone;
    if (zone === undefined) {
      const space = markMask;
      zone = (hash32(ref.gwi) % space) + 1;
      while (used.has(zone) || (zone & markMask) !== zone || zone === 0) zone = (zone % space) + 1;
      used.add(zone);
    }
    zones.set(ref.gwi, zone);
  }
  return zones;
}

/** The requested mode, or inspect when the kernel cannot do passthrough (with a note). */
function effectiveMode(gwi: string, requested: Mode, caps: Capabilities, notes: string[]): Mode {
  if (requested !== "passthrough" || (caps.tcIngress && caps.mirred && (caps.u32 || caps.matchall)))
    return requested;
  notes.push(
    `${gwi}: passthrough needs tc ingress + mirred + (u32 or matchall), not available: using inspect (kernel forwarding)`,
  );
  return "inspect";
}

/** Merges defaults and the endpoint's section; zones derived from the suffix, probing on clashes. */
export function effectiveEndpoints(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
  caps: Capabilities,
  notes: string[],
): EffectiveEndpoint[] {
  const file = loaded.file;
  const d = file.defaults ?? {};
  const sorted = [...refs].sort((a, b) => (a.gwi < b.gwi ? -1 : a.gwi > b.gwi ? 1 : 0));
  const zones = allocateZones(loaded, sorted, file.settings?.markMask ?? DEFAULT_MARK_MASK);
  return sorted.map((ref) => {
    const found = loaded.endpoints.get(ref.gwi);
    const s = found?.section ?? {};
    const requestedMode = s.mode ?? d.mode ?? "inspect";
    const inherit = s.inherit ?? true;
    const epKey = found?.key;
    const own = (s.rules ?? []).map((_, i) => `endpoints.${epKey ?? ref.gwi}.rules[${i}]`);
    const global = inherit ? (file.rules ?? []).map((_, i) => `rules[${i}]`) : [];
    return {
      ref,
      suffix: ref.gwi.slice(4),
      key: epKey,
      requestedMode,
      mode: effectiveMode(ref.gwi, requestedMode, caps, notes),
      policy: s.policy ?? d.policy ?? "allow",
      established: s.established ?? d.established ?? true,
      dropInvalid: s.dropInvalid ?? d.dropInvalid ?? false,
      protected: s.protected ?? d.protected ?? [],
      egressInterface: s.egressInterface ?? d.egressInterface,
      zones: s.zones ?? d.zones ?? true,
      zone: zones.get(ref.gwi)!,
      rules: [...(s.rules ?? []), ...(inherit ? (file.rules ?? []) : [])],
      origins: [...own, ...global],
    };
  });
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Address that stands for "any" per family (TPROXY --on-ip, default routes). */
const ANY_ADDRESS: Record<Family, string> = { ipv4: "0.0.0.0", ipv6: "::" };

// ---------------------------------------------------------------------------------------------
// Rule actions -> iptables targets

const REJECT_WITH: Record<Family, Record<string, string>> = {
  ipv4: {
    "tcp-reset": "tcp-reset",
    "port-unreachable": "icmp-port-unreachable",
    "host-unreachable": "icmp-host-unreachable",
    "net-unreachable": "icmp-net-unreachable",
    "admin-prohibited": "icmp-admin-prohibited",
  },
  ipv6: {
    "tcp-reset": "tcp-reset",
    "port-unreachable": "icmp6-port-unreachable",
    "host-unreachable": "icmp6-addr-unreachable",
    "net-unreachable": "icmp6-no-route",
    "admin-prohibited": "icmp6-adm-prohibited",
  },
};

/** REJECT with the rule's `rejectWith`, else a TCP reset for TCP and port-unreachable otherwise. */
function rejectTarget(rule: Rule | undefined, family: Family): string {
  const w = rule?.rejectWith ?? (rule?.proto === "tcp" ? "tcp-reset" : "port-unreachable");
  return `REJECT --reject-with ${REJECT_WITH[family][w]!}`;
}

function queueTarget(rule: Rule): string {
  const q = rule.queue ?? 0;
  const base =
    typeof q === "string"
      ? `NFQUEUE --queue-balance ${q.replace("-", ":")}`
      : `NFQUEUE --queue-num ${q}`;
  return rule.bypass ? `${base} --queue-bypass` : base;
}

function nflogTarget(rule: Rule, origin: string, group: number): string {
  const spec = typeof rule.log === "object" ? rule.log : {};
  const prefix = spec.prefix ?? `tg ${origin}`.slice(0, 63);
  return `NFLOG --nflog-prefix "${prefix}" --nflog-group ${spec.group ?? group}`;
}

/** Actions that become rules in the endpoint's filter chain (mirror: tc; redirect: mangle/nat). */
type FilterAction = "allow" | "drop" | "reject" | "queue" | "log";

const ACTION_TARGETS: Record<FilterAction, (rule: Rule, family: Family) => string | undefined> = {
  allow: () => "ACCEPT",
  drop: () => "DROP",
  reject: rejectTarget,
  queue: queueTarget,
  log: () => undefined,
};

function isFilterAction(action: Rule["action"]): action is FilterAction {
  return action in ACTION_TARGETS;
}

/** Targets one matching packet jumps to, in order: NFLOG first when logged, then the verdict. */
function ruleTargets(rule: Rule, origin: string, family: Family, logGroup: number): string[] {
  const action = rule.action as FilterAction;
  const verdict = ACTION_TARGETS[action](rule, family);
  const log = action === "log" || rule.log ? [nflogTarget(rule, origin, logGroup)] : [];
  return verdict === undefined ? log : [...log, verdict];
}

/** The endpoint chain's last rule: its `policy`. */
const POLICY_TARGETS: Record<EffectiveEndpoint["policy"], (family: Family) => string> = {
  allow: () => "ACCEPT",
  drop: () => "DROP",
  reject: (family) => rejectTarget(undefined, family),
};

// ---------------------------------------------------------------------------------------------
// Restore documents

type Doc = Record<Table, Map<string, string[]>>;

function emptyDoc(): Doc {
  const doc = {} as Doc;
  for (const t of TABLES) doc[t] = new Map();
  for (const j of BASE_JUMPS) doc[j.table].set(j.to, []);
  return doc;
}

/** Appends rules to one of the base chains (created by `emptyDoc`). */
function append(doc: Doc, table: Table, chain: string, ...rules: string[]): void {
  doc[table].get(chain)!.push(...rules);
}

function renderDoc(doc: Doc): string {
  const lines: string[] = [];
  for (const t of TABLES) {
    lines.push(`*${t}`);
    const chains = [...doc[t].keys()];
    for (const c of chains) lines.push(`:${c} - [0:0]`);
    for (const c of chains) lines.push(`-F ${c}`);
    for (const [c, rules] of doc[t]) for (const r of rules) lines.push(`-A ${c} ${r}`);
    lines.push("COMMIT");
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// What the emitters share

/** File-wide settings, read once. */
interface Settings {
  readonly caps: Capabilities;
  readonly ipv6: boolean;
  readonly families: readonly Family[];
  readonly markMask: number;
  /** TPROXY mark/mask, "0x10000/0x10000". */
  readonly tmark: string;
  readonly basePref: number;
  readonly tproxyTable: number;
  readonly logGroup: number;
  readonly sets: NonNullable<RulesFile["sets"]>;
  /** The `suricata:` section, if any: its traffic goes to Suricata (emitInspection). */
  readonly suricata: RulesFile["suricata"];
}

function settingsFor(file: RulesFile, caps: Capabilities, notes: string[]): Settings {
  const wantIpv6 = file.defaults?.ipv6 ?? true;
  if (wantIpv6 && !caps.ip6tables) notes.push("ip6tables not available: IPv6 rules skipped");
  const ipv6 = wantIpv6 && caps.ip6tables;
  const tproxyMark = file.settings?.tproxyMark ?? DEFAULT_TPROXY_MARK;
  return {
    caps,
    ipv6,
    families: ipv6 ? ["ipv4", "ipv6"] : ["ipv4"],
    markMask: file.settings?.markMask ?? DEFAULT_MARK_MASK,
    tmark: `${hex(tproxyMark)}/${hex(tproxyMark)}`,
    basePref: file.settings?.rulePriority ?? DEFAULT_RULE_PRIORITY,
    tproxyTable: file.settings?.tproxyTable ?? DEFAULT_TPROXY_TABLE,
    logGroup: file.defaults?.logGroup ?? 100,
    sets: file.sets ?? {},
    suricata: file.suricata,
  };
}

/** Everything the emitters produce, appended in emission order. */
interface Output {
  readonly docs: Record<Family, Doc>;
  readonly ipsets: IpsetSpec[];
  readonly tc: TcSpec[];
  readonly ipRules: IpRuleSpec[];
  readonly ipRoutes: IpRouteSpec[];
  readonly ipAddrs: IpAddrSpec[];
  readonly sysctls: Map<string, string>;
  readonly endpoints: EndpointSummary[];
  readonly notes: string[];
  readonly errors: string[];
}

function emptyOutput(notes: string[]): Output {
  return {
    docs: { ipv4: emptyDoc(), ipv6: emptyDoc() },
    ipsets: [],
    tc: [],
    ipRules: [],
    ipRoutes: [],
    ipAddrs: [],
    sysctls: new Map(),
    endpoints: [],
    notes,
    errors: [],
  };
}

/** An endpoint with the facts several emitters use, derived once. */
interface Endpoint extends EffectiveEndpoint {
  readonly gwi: string;
  readonly gwo: string;
  /** How errors name it: its key in the file, else gwi-X. */
  readonly label: string;
  /** Its routing table (TABLE_BASE + zone). */
  readonly table: number;
  /** Its packet and connection mark, "0x2a/0xffff" (= its conntrack zone). */
  readonly mark: string;
  /** Its filter chain, TOLLGATE-gwi-X. */
  readonly chain: string;
  /** Redirect rules with their origin and their index among the redirects. */
  readonly redirects: readonly { rule: Rule; origin: string; index: number }[];
  readonly mirrors: readonly Rule[];
  readonly hasTproxy: boolean;
  readonly hasRedirect: boolean;
  readonly protectedCidrs: readonly string[];
  readonly usesDirection: boolean;
  /** The ipsets of its protected CIDRs, per family that has any (only when direction is used). */
  readonly protectedSets: ReadonlyMap<Family, IpsetSpec>;
}

function endpointFacts(ep: EffectiveEndpoint, s: Settings): Endpoint {
  const { gwi, gwo } = ep.ref;
  const redirects = ep.rules
    .map((rule, i) => ({ rule, origin: ep.origins[i]! }))
    .filter(({ rule }) => rule.action === "redirect")
    .map((r, index) => ({ ...r, index }));
  const protectedCidrs = ep.protected.map(canonicalCidr);
  const traffic = s.suricata?.traffic ?? [];
  const usesDirection = [...ep.rules, ...traffic].some(
    (r) => r.direction === "in" || r.direction === "out",
  );
  const protectedSets = new Map<Family, IpsetSpec>();
  for (const family of usesDirection ? s.families : []) {
    const entries = protectedCidrs.filter((c) => cidrFamily(c) === family);
    if (entries.length === 0) continue;
    const name = protectedSetName(ep.suffix, family);
    protectedSets.set(family, { name, type: "hash:net", family, maxelem: 65536, entries });
  }
  return {
    ...ep,
    gwi,
    gwo,
    label: ep.key ?? gwi,
    table: TABLE_BASE + ep.zone,
    mark: `${hex(ep.zone)}/${hex(s.markMask)}`,
    chain: `${CHAIN_PREFIX}${gwi}`,
    redirects,
    mirrors: ep.rules.filter((r) => r.action === "mirror"),
    hasTproxy: redirects.some(({ rule }) => rule.method === "tproxy"),
    hasRedirect: redirects.some(({ rule }) => rule.method !== "tproxy"),
    protectedCidrs,
    usesDirection,
    protectedSets,
  };
}

function summary(ep: Endpoint, rules: number): EndpointSummary {
  const { gwi, gwo, key, requestedMode, mode, zone, table } = ep;
  return { gwi, gwo, key, requestedMode, mode, zone, table, rules };
}

// ---------------------------------------------------------------------------------------------
// Notes and global emitters

const TC_CAPS = ["u32", "mirred", "flower", "matchall", "gact"] as const;

/** What the kernel offers and which classifiers the compiler therefore uses. */
function noteCapabilities(caps: Capabilities, notes: string[]): void {
  const source = { detected: "detected", given: "given", assumed: "assumed (not probed)" };
  const have = TC_CAPS.filter((k) => caps[k]);
  const lack = TC_CAPS.filter((k) => !caps[k]);
  notes.push(
    `capabilities (${source[caps.source]}): tc ${caps.tcIngress ? "ingress" : "NO ingress"} + ${have.join(" + ") || "nothing"}` +
      (lack.length ? `; missing: ${lack.join(", ")}` : "") +
      `; ipset ${caps.ipset ? "yes" : "no"}; ip6tables ${caps.ip6tables ? "yes" : "no"}`,
  );
  notes.push(
    `passthrough classifier: ${caps.matchall ? "matchall" : "u32 match-all"}; mirror classifier: ${caps.flower ? "flower" : "u32"}`,
  );
}

function noteAbsentEndpoints(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
  notes: string[],
): void {
  for (const [gwi, sec] of loaded.endpoints) {
    if (!refs.some((r) => r.gwi === gwi))
      notes.push(`endpoints.${sec.key}: endpoint ${gwi} not present, nothing applied for it`);
  }
}

/** Named sets: both families for net sets, one bitmap for port sets. */
function emitNamedSets(s: Settings, out: Output): void {
  for (const [name, set] of Object.entries(s.sets))
    out.ipsets.push(...namedSetSpecs(name, set, s.ipv6));
}

/** Host-wide: the TPROXY local routes, forwarding and mark-reflection sysctls. */
function emitHostSettings(eps: readonly Endpoint[], s: Settings, out: Output): void {
  const forwarding = eps.filter((ep) => ep.mode !== "passthrough");
  if (forwarding.some((ep) => ep.hasTproxy)) {
    for (const family of s.families) {
      const dst = `${ANY_ADDRESS[family]}/0`;
      const route = { family, type: "local", dst, dev: "lo", table: s.tproxyTable } as const;
      out.ipRoutes.push({ ...route, argv: ipRouteArgv("replace", route) });
    }
  }
  if (forwarding.length === 0) return;
  for (const family of s.families)
    for (const { key, value } of FORWARDING_SYSCTLS[family]) out.sysctls.set(key, value);
}

const FORWARDING_SYSCTLS: Record<Family, readonly Sysctl[]> = {
  ipv4: [
    { key: "net.ipv4.ip_forward", value: "1" },
    { key: "net.ipv4.fwmark_reflect", value: "1" },
    { key: "net.ipv4.tcp_fwmark_accept", value: "1" },
  ],
  ipv6: [
    { key: "net.ipv6.conf.all.forwarding", value: "1" },
    { key: "net.ipv6.fwmark_reflect", value: "1" },
  ],
};

// ---------------------------------------------------------------------------------------------
// Per endpoint, any mode

function checkDirection(ep: Endpoint, s: Settings, out: Output): void {
  if (!ep.usesDirection) return;
  if (ep.protectedCidrs.length === 0) {
    out.errors.push(
      `${ep.label}: rules use direction but no protected CIDRs are set (defaults.protected or the endpoint's protected)`,
    );
  }
  const filterRules = ep.rules.filter((r) => r.action !== "mirror" && r.action !== "redirect");
  if (!s.caps.ipset && filterRules.some((r) => r.direction && r.direction !== "any"))
    out.errors.push(`${ep.label}: direction needs ipset, which is not available`);
}

function checkUplink(ep: Endpoint, out: Output): void {
  if (ep.mode === "egress-nat" && ep.egressInterface === undefined) {
    out.errors.push(
      `${ep.label}: egress-nat needs an uplink: set defaults.egressInterface (or the endpoint's egressInterface), or apply on a host with an IPv4 default route`,
    );
  }
}

function emitProtectedSets(ep: Endpoint, out: Output): void {
  out.ipsets.push(...ep.protectedSets.values());
}

function emitIngressQdisc(ep: Endpoint, out: Output): void {
  if (ep.mode === "passthrough" || ep.mirrors.length > 0) out.tc.push(ingressQdisc(ep.gwi));
}

/** `mirror` rules: tc filters from TC_PREF_FIRST upwards, below the passthrough redirect. */
function emitMirrors(ep: Endpoint, s: Settings, out: Output): void {
  const { caps } = s;
  if (ep.mirrors.length > 0) {
    if (!caps.tcIngress || !caps.mirred) {
      out.errors.push(`${ep.label}: mirror rules need tc ingress + mirred, not available`);
    } else if (!caps.u32 && !caps.flower) {
      out.errors.push(`${ep.label}: mirror rules need the u32 or flower tc classifier`);
    }
  }
  let pref = TC_PREF_FIRST;
  for (const rule of ep.mirrors) {
    const fams = ruleFamilies(rule, s.ipv6);
    const specs = mirrorFilters(ep.gwi, rule, fams, ep.protectedCidrs, pref, caps);
    pref += specs.length;
    out.tc.push(...specs);
  }
  if (pref >= TC_PREF_REDIRECT)
    out.errors.push(
      `${ep.label}: too many mirror filters (${pref - TC_PREF_FIRST}, at most ${TC_PREF_REDIRECT - TC_PREF_FIRST}): mirror fewer CIDR and port combinations`,
    );
}

// ---------------------------------------------------------------------------------------------
// Per mode

/** passthrough: a tc redirect gwi-X -> gwo-X; netfilter never sees the packets. */
function emitPassthrough(ep: Endpoint, s: Settings, out: Output): void {
  out.tc.push(passthroughRedirect(ep.gwi, ep.gwo, s.caps));
  const ignored = ep.rules.filter((r) => r.action !== "mirror").length;
  if (ignored > 0) {
    out.notes.push(
      `${ep.gwi}: passthrough bypasses netfilter: ${ignored} filter/redirect rule(s) not applied (use mode: inspect to filter)`,
    );
  }
  out.endpoints.push(summary(ep, ep.mirrors.length));
}

/** inspect and egress-nat: kernel forwarding through netfilter, per family. */
function emitForwarding(ep: Endpoint, s: Settings, out: Output): void {
  if (ep.hasRedirect && ep.zones) {
    out.notes.push(
      `${ep.gwi}: redirect rules: conntrack zone ${ep.zone} applies to the original direction only (the proxy's SO_ORIGINAL_DST lookup uses the default zone)`,
    );
  }
  for (const family of s.families) {
    const f: FamilyCtx = {
      family,
      doc: out.docs[family],
      match: {
        protectedSet: ep.protectedSets.get(family)?.name,
        setName: (name, fam) => namedSetName(name, s.sets[name]!.type, fam),
      },
    };
    for (const emit of FAMILY_EMITTERS) emit(ep, f, s, out);
  }
  out.sysctls.set(`net.ipv4.conf.${ep.gwi}.rp_filter`, "0");
  out.endpoints.push(summary(ep, out.docs.ipv4.filter.get(ep.chain)!.length));
}

const MODE_EMITTERS: Record<Mode, (ep: Endpoint, s: Settings, out: Output) => void> = {
  passthrough: emitPassthrough,
  inspect: emitForwarding,
  "egress-nat": emitForwarding,
};

// ---------------------------------------------------------------------------------------------
// Per family of a forwarding endpoint

interface FamilyCtx {
  readonly family: Family;
  readonly doc: Doc;
  readonly match: MatchContext;
}

type FamilyEmitter = (ep: Endpoint, f: FamilyCtx, s: Settings, out: Output) => void;

/** raw: mark what arrives on gwi-X; conntrack zone = mark. */
function emitMarkAndZone(ep: Endpoint, f: FamilyCtx): void {
  append(f.doc, "raw", "TOLLGATE-PREROUTING", `-i ${ep.gwi} -j MARK --set-xmark ${ep.mark}`);
  if (!ep.zones) return;
  // egress-nat: replies arrive on the uplink, unmarked. REDIRECT: the proxy's
  // SO_ORIGINAL_DST looks the connection up in the default zone. Both need the reply
  // direction in the default zone, so the zone applies to the original direction only.
  const ct = ep.mode === "egress-nat" || ep.hasRedirect ? "--zone-orig mark" : "--zone mark";
  append(f.doc, "raw", "TOLLGATE-PREROUTING", `-i ${ep.gwi} -j CT ${ct}`);
  append(f.doc, "raw", "TOLLGATE-OUTPUT", `-m mark --mark ${ep.mark} -j CT ${ct}`);
}

/** egress-nat: remember the endpoint on the connection, mark replies, MASQUERADE on the uplink. */
function emitEgressNat(ep: Endpoint, f: FamilyCtx): void {
  if (ep.mode !== "egress-nat") return;
  const { gwi, mark } = ep;
  append(
    f.doc,
    "mangle",
    "TOLLGATE-PREROUTING",
    `-i ${gwi} -j CONNMARK --set-xmark ${mark}`,
    `! -i ${gwi} -m conntrack --ctdir REPLY -m connmark --mark ${mark} -j MARK --set-xmark ${mark}`,
  );
  if (ep.egressInterface === undefined) return; // an error (checkUplink)
  append(
    f.doc,
    "nat",
    "TOLLGATE-POSTROUTING",
    `-o ${ep.egressInterface} -m mark --mark ${mark} -j MASQUERADE`,
  );
}

/** TPROXY: packets of connections a transparent socket already owns go straight to it. */
function emitTproxyMarks(ep: Endpoint, f: FamilyCtx, s: Settings): void {
  if (!ep.hasTproxy) return;
  append(
    f.doc,
    "mangle",
    "TOLLGATE-PREROUTING",
    `-i ${ep.gwi} -p tcp -m socket --transparent -j MARK --set-xmark ${s.tmark}`,
    `-i ${ep.gwi} -m mark --mark ${s.tmark} -j RETURN`,
  );
}

/** `redirect` rules: TPROXY (mangle) or REDIRECT (nat) to a local port, per match. */
function emitRedirects(ep: Endpoint, f: FamilyCtx, s: Settings, out: Output): void {
  for (const { rule, origin, index } of ep.redirects) {
    const hash = hashName(`${ep.gwi}/r${index}`);
    const matches = expandMatches(rule, f.family, f.match, hash, `-i ${ep.gwi}`);
    for (const m of matches) {
      if (rule.method === "tproxy") {
        const tproxy = `TPROXY --on-port ${rule.toPort!} --on-ip ${ANY_ADDRESS[f.family]} --tproxy-mark ${s.tmark}`;
        append(f.doc, "mangle", "TOLLGATE-PREROUTING", `${m} -j ${tproxy}`);
      } else {
        append(f.doc, "nat", "TOLLGATE-PREROUTING", `${m} -j REDIRECT --to-ports ${rule.toPort!}`);
      }
    }
    if (matches.length === 0 && f.family === "ipv4")
      out.notes.push(`${origin}: matches nothing in IPv4`);
  }
}

/** INPUT: only proxied connections from a tunnel reach the box itself. */
function emitInput(ep: Endpoint, f: FamilyCtx, s: Settings): void {
  const { gwi } = ep;
  const input: string[] = [];
  if (ep.hasRedirect) input.push(`-i ${gwi} -m conntrack --ctstate DNAT -j ACCEPT`);
  if (ep.hasTproxy) input.push(`-i ${gwi} -m mark --mark ${s.tmark} -j ACCEPT`);
  input.push(`-i ${gwi} -j DROP`);
  append(f.doc, "filter", "TOLLGATE-INPUT", ...input);
}

/** FORWARD -> TOLLGATE-gwi-X: conntrack shortcuts, the filter rules in order, the policy. */
function emitEndpointChain(ep: Endpoint, f: FamilyCtx, s: Settings, out: Output): void {
  if (f.family === "ipv4") append(f.doc, "filter", "TOLLGATE-FORWARD", canaryAcceptRule(ep.gwi));
  append(f.doc, "filter", "TOLLGATE-FORWARD", `-i ${ep.gwi} -j ${ep.chain}`);
  const chain: string[] = [];
  if (ep.established) chain.push("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  if (ep.dropInvalid) chain.push("-m conntrack --ctstate INVALID -j DROP");
  ep.rules.forEach((rule, i) => chain.push(...filterRuleLines(ep, rule, i, f, s, out.errors)));
  chain.push(`-j ${POLICY_TARGETS[ep.policy](f.family)}`);
  f.doc.filter.set(ep.chain, chain);
}

/** The chain rules of the endpoint's rule `i` in this family (none for mirror and redirect). */
function filterRuleLines(
  ep: Endpoint,
  rule: Rule,
  i: number,
  f: FamilyCtx,
  s: Settings,
  errors: string[],
): string[] {
  if (!isFilterAction(rule.action) || !ruleFamilies(rule, s.ipv6).includes(f.family)) return [];
  const origin = ep.origins[i]!;
  let matches: string[];
  try {
    matches = expandMatches(rule, f.family, f.match, hashName(`${ep.gwi}/${i}`));
  } catch (e) {
    errors.push(`${origin}: ${(e as Error).message}`);
    return [];
  }
  const targets = ruleTargets(rule, origin, f.family, s.logGroup);
  return matches.flatMap((m) => targets.map((t) => `${m === "" ? "" : `${m} `}-j ${t}`));
}

function ipRule(r: IpRule): IpRuleSpec {
  return { ...r, argv: ipRuleArgv("add", r) };
}

/**
 * Routing: arrivals on gwi-X use the endpoint's table (egress-nat: main), and locally
 * generated replies (proxy, REJECT, ICMP errors) carry the endpoint mark and follow them.
 */
function emitRouting(ep: Endpoint, f: FamilyCtx, s: Settings, out: Output): void {
  const { family, gwi, gwo } = { ...f, ...ep };
  const table = String(ep.table);
  if (ep.hasTproxy) {
    const tproxyTable = String(s.tproxyTable);
    out.ipRules.push(
      ipRule({ family, pref: s.basePref, iif: gwi, fwmark: s.tmark, table: tproxyTable }),
    );
  }
  const iifTable = ep.mode === "egress-nat" ? "main" : table;
  if (ep.mode === "egress-nat" && family === "ipv4")
    out.ipRules.push(ipRule(canaryIpRule(gwi, s.basePref, ep.table)));
  out.ipRules.push(ipRule({ family, pref: s.basePref + 1, iif: gwi, table: iifTable }));
  out.ipRules.push(ipRule({ family, pref: s.basePref + 2, fwmark: ep.mark, table }));
  const route = {
    family,
    type: "unicast",
    dst: `${ANY_ADDRESS[family]}/0`,
    dev: gwo,
    table: ep.table,
  } as const;
  out.ipRoutes.push({ ...route, argv: ipRouteArgv("replace", route, ["default"]) });
}

/** REDIRECT rewrites to the incoming interface's first address; a tun has none, so add one. */
function emitRedirectAddress(ep: Endpoint, f: FamilyCtx, _s: Settings, out: Output): void {
  if (!ep.hasRedirect) return;
  const address =
    f.family === "ipv4"
      ? `169.254.${(ep.zone >> 8) & 255}.${ep.zone & 255}/32`
      : `fe80::7467:${ep.zone.toString(16)}/128`;
  const a: IpAddr = { family: f.family, dev: ep.gwi, address };
  out.ipAddrs.push({ ...a, argv: ipAddrArgv("replace", a) });
}

/**
 * The `suricata:` section: the endpoint's traffic (both directions carry its mark in mangle
 * FORWARD, egress-nat replies too) that matches `suricata.traffic` goes to NFQUEUE (ips) or is
 * copied with TEE to the monitor link (ids). Mangle comes before filter, so Suricata's accept
 * still meets the endpoint's filter rules.
 */
function emitInspection(ep: Endpoint, f: FamilyCtx, s: Settings, out: Output): void {
  if (!s.suricata) return;
  const chain = f.doc.mangle.get(INSPECTION_JUMP.to) ?? [];
  f.doc.mangle.set(INSPECTION_JUMP.to, chain);
  const target = inspectionTarget(s.suricata, f.family as InspectionFamily);
  const traffic = s.suricata.traffic ?? [{}];
  traffic.forEach((t, i) => {
    if (!ruleFamilies(asQueued(t), s.ipv6).includes(f.family)) return;
    const hash = hashName(`${ep.gwi}/suricata${i}`);
    const mark = `-m mark --mark ${ep.mark}`;
    try {
      const lines = bothDirections(t)
        .map(asQueued)
        .flatMap((r) =>
          expandMatches(r, f.family, f.match, hash, mark).map((m) => `${m} -j ${target}`),
        );
      chain.push(...new Set(lines));
    } catch (e) {
      out.errors.push(`suricata.traffic[${i}]: ${(e as Error).message}`);
    }
  });
}

/** A traffic match as the rule that queues it. */
const asQueued = (t: TrafficMatch): Rule => ({ ...t, action: "queue" });

/** Suricata sees traffic only where netfilter does. */
function checkInspection(ep: Endpoint, s: Settings, out: Output): void {
  if (s.suricata && ep.mode === "passthrough") {
    out.errors.push(
      `${ep.label}: suricata needs netfilter but the endpoint's mode is passthrough: set its mode to inspect or egress-nat`,
    );
  }
}

/** What a forwarding endpoint emits per family, in order. */
const FAMILY_EMITTERS: readonly FamilyEmitter[] = [
  emitMarkAndZone,
  emitEgressNat,
  emitTproxyMarks,
  emitRedirects,
  emitInput,
  emitEndpointChain,
  emitRouting,
  emitRedirectAddress,
  emitInspection,
];

// ---------------------------------------------------------------------------------------------
// Driver

function assemble(out: Output, s: Settings): CompiledRuleset {
  // A jump exists in both families, so its chain must too (IPv6 off: empty).
  if (out.docs.ipv4.mangle.has(INSPECTION_JUMP.to) && !out.docs.ipv6.mangle.has(INSPECTION_JUMP.to))
    out.docs.ipv6.mangle.set(INSPECTION_JUMP.to, []);
  const chains = {} as Record<Family, Record<Table, string[]>>;
  const ruleCounts = {} as Record<Family, Record<string, number>>;
  for (const f of FAMILIES) {
    chains[f] = {} as Record<Table, string[]>;
    ruleCounts[f] = {};
    for (const t of TABLES) {
      chains[f][t] = [...out.docs[f][t].keys()];
      for (const [c, rules] of out.docs[f][t]) ruleCounts[f][`${t}/${c}`] = rules.length;
    }
  }
  const sortedRules = [...out.ipRules].sort((a, b) => a.pref - b.pref);
  return {
    iptablesRestore: renderDoc(out.docs.ipv4),
    // With IPv6 off but ip6tables present, an empty own state still removes earlier IPv6 rules.
    ip6tablesRestore: s.caps.ip6tables ? renderDoc(out.docs.ipv6) : "",
    ipsetRestore: renderIpsetRestore(out.ipsets),
    tc: out.tc.map((t) => t.argv),
    ipRules: [
      ...out.ipAddrs.map((a) => a.argv),
      ...sortedRules.map((r) => r.argv),
      ...out.ipRoutes.map((r) => r.argv),
    ],
    sysctls: [...out.sysctls].map(([key, value]): Sysctl => ({ key, value })),
    chains,
    ruleCounts,
    jumps: out.docs.ipv4.mangle.has(INSPECTION_JUMP.to)
      ? [...BASE_JUMPS, INSPECTION_JUMP]
      : BASE_JUMPS,
    tcSpecs: out.tc,
    ipRuleSpecs: sortedRules,
    ipRouteSpecs: out.ipRoutes,
    ipAddrSpecs: out.ipAddrs,
    ipsets: out.ipsets,
    endpoints: out.endpoints,
    notes: out.notes,
    errors: out.errors,
  };
}

/** Compiles the rules for the given endpoints. Pure: same input, same output. */
export function compileRules(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
  caps: Capabilities,
): CompiledRuleset {
  const notes: string[] = [];
  const s = settingsFor(loaded.file, caps, notes);
  const out = emptyOutput(notes);
  noteCapabilities(caps, out.notes);
  const eps = effectiveEndpoints(loaded, refs, caps, out.notes).map((ep) => endpointFacts(ep, s));
  noteAbsentEndpoints(loaded, refs, out.notes);
  emitNamedSets(s, out);
  for (const ep of eps) {
    checkDirection(ep, s, out);
    checkUplink(ep, out);
    checkInspection(ep, s, out);
    emitProtectedSets(ep, out);
    emitIngressQdisc(ep, out);
    emitMirrors(ep, s, out);
    MODE_EMITTERS[ep.mode](ep, s, out);
  }
  emitHostSettings(eps, s, out);
  if (!caps.ipset && out.ipsets.length > 0)
    out.errors.push("named sets need ipset, which is not available");
  return assemble(out, s);
}
