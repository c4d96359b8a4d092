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
 *   filter FORWARD    -> TOLLGATE-FORWARD      -i gwi-X -> TOLLGATE-gwi-X (the endpoint's rules)
 *   filter INPUT      -> TOLLGATE-INPUT        only proxied traffic from a tunnel reaches the box
 */
import { createHash } from "node:crypto";
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
  ROUTE_PROTO,
  TABLES,
  TC_PREF_FIRST,
  TC_PREF_REDIRECT,
  type Capabilities,
  type CompiledRuleset,
  type EndpointRef,
  type EndpointSummary,
  type Family,
  type IpAddrSpec,
  type IpRouteSpec,
  type IpRuleSpec,
  type IpsetSpec,
  type JumpSpec,
  type Sysctl,
  type Table,
  type TcSpec,
} from "./model";
import type { LoadedRules } from "./parse";
import type { Mode, Rule } from "./schema";
import { ingressQdisc, mirrorFilters, passthroughRedirect } from "./tc";

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
  readonly egressInterface: string;
  readonly zones: boolean;
  readonly zone: number;
  readonly rules: readonly Rule[];
  /** Where each rule came from, for messages ("rules[2]" / "endpoints.X.rules[0]"). */
  readonly origins: readonly string[];
}

function hash32(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0);
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
  const markMask = file.settings?.markMask ?? DEFAULT_MARK_MASK;
  const sorted = [...refs].sort((a, b) => (a.gwi < b.gwi ? -1 : a.gwi > b.gwi ? 1 : 0));
  const used = new Set<number>();
  for (const ref of sorted) {
    const z = loaded.endpoints.get(ref.gwi)?.section.zone;
    if (z !== undefined) used.add(z);
  }
  const out: EffectiveEndpoint[] = [];
  for (const ref of sorted) {
    const found = loaded.endpoints.get(ref.gwi);
    const s = found?.section ?? {};
    let zone = s.zone;
    if (zone === undefined) {
      const space = markMask;
      zone = (hash32(ref.gwi) % space) + 1;
      while (used.has(zone) || (zone & markMask) !== zone || zone === 0) zone = (zone % space) + 1;
      used.add(zone);
    }
    const requestedMode = s.mode ?? d.mode ?? "inspect";
    let mode = requestedMode;
    if (mode === "passthrough" && !(caps.tcIngress && caps.mirred && (caps.u32 || caps.matchall))) {
      mode = "inspect";
      notes.push(
        `${ref.gwi}: passthrough needs tc ingress + mirred + (u32 or matchall), not available: using inspect (kernel forwarding)`,
      );
    }
    const inherit = s.inherit ?? true;
    const epKey = found?.key;
    const own = (s.rules ?? []).map((_, i) => `endpoints.${epKey ?? ref.gwi}.rules[${i}]`);
    const global = inherit ? (file.rules ?? []).map((_, i) => `rules[${i}]`) : [];
    out.push({
      ref,
      suffix: ref.gwi.slice(4),
      key: epKey,
      requestedMode,
      mode,
      policy: s.policy ?? d.policy ?? "allow",
      established: s.established ?? d.established ?? true,
      dropInvalid: s.dropInvalid ?? d.dropInvalid ?? false,
      protected: s.protected ?? d.protected ?? [],
      egressInterface: s.egressInterface ?? d.egressInterface ?? "eth0",
      zones: s.zones ?? d.zones ?? true,
      zone,
      rules: [...(s.rules ?? []), ...(inherit ? (file.rules ?? []) : [])],
      origins: [...own, ...global],
    });
  }
  return out;
}

const hex = (n: number) => `0x${n.toString(16)}`;

const REJECT4: Record<string, string> = {
  "tcp-reset": "tcp-reset",
  "port-unreachable": "icmp-port-unreachable",
  "host-unreachable": "icmp-host-unreachable",
  "net-unreachable": "icmp-net-unreachable",
  "admin-prohibited": "icmp-admin-prohibited",
};
const REJECT6: Record<string, string> = {
  "tcp-reset": "tcp-reset",
  "port-unreachable": "icmp6-port-unreachable",
  "host-unreachable": "icmp6-addr-unreachable",
  "net-unreachable": "icmp6-no-route",
  "admin-prohibited": "icmp6-adm-prohibited",
};

function rejectTarget(rule: Rule | undefined, family: Family): string {
  const w = rule?.rejectWith ?? (rule?.proto === "tcp" ? "tcp-reset" : "port-unreachable");
  return `REJECT --reject-with ${(family === "ipv4" ? REJECT4 : REJECT6)[w]!}`;
}

function nflogTarget(rule: Rule, origin: string, group: number): string {
  const spec = typeof rule.log === "object" ? rule.log : {};
  const prefix = spec.prefix ?? `tg ${origin}`.slice(0, 63);
  return `NFLOG --nflog-prefix "${prefix}" --nflog-group ${spec.group ?? group}`;
}

function filterTarget(rule: Rule, family: Family): string | undefined {
  switch (rule.action) {
    case "allow":
      return "ACCEPT";
    case "drop":
      return "DROP";
    case "reject":
      return rejectTarget(rule, family);
    case "queue": {
      const q = rule.queue ?? 0;
      const base =
        typeof q === "string"
          ? `NFQUEUE --queue-balance ${q.replace("-", ":")}`
          : `NFQUEUE --queue-num ${q}`;
      return rule.bypass ? `${base} --queue-bypass` : base;
    }
    default:
      return undefined;
  }
}

type Doc = Record<Table, Map<string, string[]>>;

function emptyDoc(): Doc {
  const doc = {} as Doc;
  for (const t of TABLES) doc[t] = new Map();
  for (const j of BASE_JUMPS) doc[j.table].set(j.to, []);
  return doc;
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

function ipArgv(family: Family, ...rest: string[]): string[] {
  return ["ip", family === "ipv4" ? "-4" : "-6", ...rest];
}

/** Compiles the rules for the given endpoints. Pure: same input, same output. */
export function compileRules(
  loaded: LoadedRules,
  refs: readonly EndpointRef[],
  caps: Capabilities,
): CompiledRuleset {
  const file = loaded.file;
  const notes: string[] = [];
  const errors: string[] = [];
  const ipv6 = (file.defaults?.ipv6 ?? true) && caps.ip6tables;
  if ((file.defaults?.ipv6 ?? true) && !caps.ip6tables)
    notes.push("ip6tables not available: IPv6 rules skipped");
  const markMask = file.settings?.markMask ?? DEFAULT_MARK_MASK;
  const tproxyMark = file.settings?.tproxyMark ?? DEFAULT_TPROXY_MARK;
  const basePref = file.settings?.rulePriority ?? DEFAULT_RULE_PRIORITY;
  const tproxyTable = file.settings?.tproxyTable ?? DEFAULT_TPROXY_TABLE;
  const logGroup = file.defaults?.logGroup ?? 100;
  const families: Family[] = ipv6 ? ["ipv4", "ipv6"] : ["ipv4"];

  const tcNote =
    caps.source === "detected"
      ? "detected"
      : caps.source === "given"
        ? "given"
        : "assumed (not probed)";
  const have = (["u32", "mirred", "flower", "matchall", "gact"] as const).filter((k) => caps[k]);
  const lack = (["u32", "mirred", "flower", "matchall", "gact"] as const).filter((k) => !caps[k]);
  notes.push(
    `capabilities (${tcNote}): tc ${caps.tcIngress ? "ingress" : "NO ingress"} + ${have.join(" + ") || "nothing"}` +
      (lack.length ? `; missing: ${lack.join(", ")}` : "") +
      `; ipset ${caps.ipset ? "yes" : "no"}; ip6tables ${caps.ip6tables ? "yes" : "no"}`,
  );
  notes.push(
    `passthrough classifier: ${caps.matchall ? "matchall" : "u32 match-all"}; mirror classifier: ${caps.flower ? "flower" : "u32"}`,
  );

  const eps = effectiveEndpoints(loaded, refs, caps, notes);
  for (const [gwi, sec] of loaded.endpoints) {
    if (!refs.some((r) => r.gwi === gwi))
      notes.push(`endpoints.${sec.key}: endpoint ${gwi} not present, nothing applied for it`);
  }

  // Named sets: both families for net sets, one bitmap for port sets.
  const ipsets: IpsetSpec[] = [];
  for (const [name, set] of Object.entries(file.sets ?? {}))
    ipsets.push(...namedSetSpecs(name, set, ipv6));

  const docs: Record<Family, Doc> = { ipv4: emptyDoc(), ipv6: emptyDoc() };
  const tcSpecs: TcSpec[] = [];
  const ipRuleSpecs: IpRuleSpec[] = [];
  const ipRouteSpecs: IpRouteSpec[] = [];
  const ipAddrSpecs: IpAddrSpec[] = [];
  const sysctls = new Map<string, string>();
  const summaries: EndpointSummary[] = [];
  let anyTproxy = false;
  let anyForwarding = false;

  for (const ep of eps) {
    const { gwi, gwo } = ep.ref;
    const zone = ep.zone;
    const table = TABLE_BASE + zone;
    const mark = `${hex(zone)}/${hex(markMask)}`;
    const tmark = `${hex(tproxyMark)}/${hex(tproxyMark)}`;
    const epChain = `${CHAIN_PREFIX}${gwi}`;
    const filterRules = ep.rules.filter((r) => r.action !== "mirror" && r.action !== "redirect");
    const redirects = ep.rules
      .map((r, i) => ({ r, origin: ep.origins[i]! }))
      .filter(({ r }) => r.action === "redirect");
    const mirrors = ep.rules.filter((r) => r.action === "mirror");
    const hasTproxy = redirects.some(({ r }) => r.method === "tproxy");
    const hasRedirect = redirects.some(({ r }) => r.method !== "tproxy");
    let tcPref = TC_PREF_FIRST;
    const protectedCidrs = ep.protected.map(canonicalCidr);

    const usesDirection = ep.rules.some((r) => r.direction === "in" || r.direction === "out");
    if (usesDirection && protectedCidrs.length === 0) {
      errors.push(
        `${ep.key ?? gwi}: rules use direction but no protected CIDRs are set (defaults.protected or the endpoint's protected)`,
      );
    }
    if (
      usesDirection &&
      !caps.ipset &&
      filterRules.some((r) => r.direction && r.direction !== "any")
    ) {
      errors.push(`${ep.key ?? gwi}: direction needs ipset, which is not available`);
    }
    const protSets = new Map<Family, string>();
    if (usesDirection) {
      for (const family of families) {
        const entries = protectedCidrs.filter((c) => cidrFamily(c) === family);
        if (entries.length === 0) continue;
        const name = protectedSetName(ep.suffix, family);
        protSets.set(family, name);
        ipsets.push({ name, type: "hash:net", family, maxelem: 65536, entries });
      }
    }

    if (mirrors.length > 0) {
      if (!caps.tcIngress || !caps.mirred) {
        errors.push(`${ep.key ?? gwi}: mirror rules need tc ingress + mirred, not available`);
      } else if (!caps.u32 && !caps.flower) {
        errors.push(`${ep.key ?? gwi}: mirror rules need the u32 or flower tc classifier`);
      }
    }
    const needQdisc = ep.mode === "passthrough" || mirrors.length > 0;
    if (needQdisc) tcSpecs.push(ingressQdisc(gwi));
    for (const rule of mirrors) {
      const fams = ruleFamilies(rule, ipv6);
      const specs = mirrorFilters(gwi, rule, fams, protectedCidrs, tcPref, caps);
      tcPref += specs.length;
      tcSpecs.push(...specs);
    }
    if (hasRedirect && ep.zones && ep.mode !== "passthrough") {
      notes.push(
        `${gwi}: redirect rules: conntrack zone ${zone} applies to the original direction only (the proxy's SO_ORIGINAL_DST lookup uses the default zone)`,
      );
    }
    if (tcPref >= TC_PREF_REDIRECT)
      errors.push(`${gwi}: too many mirror filters (${tcPref - TC_PREF_FIRST})`);

    let ruleCount = 0;
    if (ep.mode === "passthrough") {
      tcSpecs.push(passthroughRedirect(gwi, gwo, caps));
      const ignored = ep.rules.filter((r) => r.action !== "mirror").length;
      if (ignored > 0) {
        notes.push(
          `${gwi}: passthrough bypasses netfilter: ${ignored} filter/redirect rule(s) not applied (use mode: inspect to filter)`,
        );
      }
      summaries.push({
        gwi,
        gwo,
        key: ep.key,
        requestedMode: ep.requestedMode,
        mode: ep.mode,
        zone,
        table,
        rules: mirrors.length,
      });
      continue;
    }
    anyForwarding = true;

    for (const family of families) {
      const doc = docs[family];
      const ctx: MatchContext = {
        protectedSet: protSets.get(family),
        setName: (name, fam) => namedSetName(name, file.sets![name]!.type, fam),
      };
      const raw = doc.raw;
      raw.get("TOLLGATE-PREROUTING")!.push(`-i ${gwi} -j MARK --set-xmark ${mark}`);
      if (ep.zones) {
        // egress-nat: replies arrive on the uplink, unmarked. REDIRECT: the proxy's
        // SO_ORIGINAL_DST looks the connection up in the default zone. Both need the reply
        // direction in the default zone, so the zone applies to the original direction only.
        const ct = ep.mode === "egress-nat" || hasRedirect ? "--zone-orig mark" : "--zone mark";
        raw.get("TOLLGATE-PREROUTING")!.push(`-i ${gwi} -j CT ${ct}`);
        raw.get("TOLLGATE-OUTPUT")!.push(`-m mark --mark ${mark} -j CT ${ct}`);
      }
      const mangle = doc.mangle.get("TOLLGATE-PREROUTING")!;
      if (ep.mode === "egress-nat") {
        mangle.push(`-i ${gwi} -j CONNMARK --set-xmark ${mark}`);
        mangle.push(
          `! -i ${gwi} -m conntrack --ctdir REPLY -m connmark --mark ${mark} -j MARK --set-xmark ${mark}`,
        );
        doc.nat
          .get("TOLLGATE-POSTROUTING")!
          .push(`-o ${ep.egressInterface} -m mark --mark ${mark} -j MASQUERADE`);
      }
      if (hasTproxy) {
        mangle.push(`-i ${gwi} -p tcp -m socket --transparent -j MARK --set-xmark ${tmark}`);
        mangle.push(`-i ${gwi} -m mark --mark ${tmark} -j RETURN`);
      }
      for (const [i, { r, origin }] of redirects.entries()) {
        const matches = expandMatches(
          r,
          family,
          ctx,
          `tg${hash32(`${gwi}/r${i}`).toString(16).padStart(8, "0")}`,
          `-i ${gwi}`,
        );
        for (const m of matches) {
          if (r.method === "tproxy") {
            const ip = family === "ipv4" ? "0.0.0.0" : "::";
            mangle.push(
              `${m} -j TPROXY --on-port ${r.toPort!} --on-ip ${ip} --tproxy-mark ${tmark}`,
            );
          } else {
            doc.nat.get("TOLLGATE-PREROUTING")!.push(`${m} -j REDIRECT --to-ports ${r.toPort!}`);
          }
        }
        if (matches.length === 0 && family === "ipv4")
          notes.push(`${origin}: matches nothing in IPv4`);
      }
      const input = doc.filter.get("TOLLGATE-INPUT")!;
      if (hasRedirect) input.push(`-i ${gwi} -m conntrack --ctstate DNAT -j ACCEPT`);
      if (hasTproxy) input.push(`-i ${gwi} -m mark --mark ${tmark} -j ACCEPT`);
      input.push(`-i ${gwi} -j DROP`);

      doc.filter.get("TOLLGATE-FORWARD")!.push(`-i ${gwi} -j ${epChain}`);
      const chain: string[] = [];
      if (ep.established) chain.push("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
      if (ep.dropInvalid) chain.push("-m conntrack --ctstate INVALID -j DROP");
      ep.rules.forEach((r, i) => {
        if (r.action === "mirror" || r.action === "redirect") return;
        if (!ruleFamilies(r, ipv6).includes(family)) return;
        const origin = ep.origins[i]!;
        const hashName = `tg${hash32(`${gwi}/${i}`).toString(16).padStart(8, "0")}`;
        let matches: string[];
        try {
          matches = expandMatches(r, family, ctx, hashName);
        } catch (e) {
          errors.push(`${origin}: ${(e as Error).message}`);
          return;
        }
        for (const m of matches) {
          const pre = m === "" ? "" : `${m} `;
          if (r.action === "log") {
            chain.push(`${pre}-j ${nflogTarget(r, origin, logGroup)}`);
            continue;
          }
          if (r.log) chain.push(`${pre}-j ${nflogTarget(r, origin, logGroup)}`);
          chain.push(`${pre}-j ${filterTarget(r, family)!}`);
        }
      });
      const policy =
        ep.policy === "allow"
          ? "ACCEPT"
          : ep.policy === "drop"
            ? "DROP"
            : rejectTarget(undefined, family);
      chain.push(`-j ${policy}`);
      doc.filter.set(epChain, chain);
      if (family === "ipv4") ruleCount = chain.length;

      // Routing: replies generated locally (proxy, REJECT, ICMP errors) carry the endpoint mark.
      const pref = (n: number) => String(basePref + n);
      if (hasTproxy) {
        anyTproxy = true;
        ipRuleSpecs.push({
          family,
          pref: basePref,
          iif: gwi,
          fwmark: tmark,
          table: String(tproxyTable),
          argv: ipArgv(
            family,
            "rule",
            "add",
            "pref",
            pref(0),
            "iif",
            gwi,
            "fwmark",
            tmark,
            "lookup",
            String(tproxyTable),
            "proto",
            String(ROUTE_PROTO),
          ),
        });
      }
      if (hasRedirect) {
        // REDIRECT rewrites to the incoming interface's first address; a tun has none.
        const address =
          family === "ipv4"
            ? `169.254.${(zone >> 8) & 255}.${zone & 255}/32`
            : `fe80::7467:${zone.toString(16)}/128`;
        ipAddrSpecs.push({
          family,
          dev: gwi,
          address,
          argv: ipArgv(
            family,
            "addr",
            "replace",
            address,
            "dev",
            gwi,
            ...(family === "ipv6" ? ["nodad"] : ["scope", "link"]),
          ),
        });
      }
      const iifTable = ep.mode === "egress-nat" ? "main" : String(table);
      ipRuleSpecs.push({
        family,
        pref: basePref + 1,
        iif: gwi,
        table: iifTable,
        argv: ipArgv(
          family,
          "rule",
          "add",
          "pref",
          pref(1),
          "iif",
          gwi,
          "lookup",
          iifTable,
          "proto",
          String(ROUTE_PROTO),
        ),
      });
      ipRuleSpecs.push({
        family,
        pref: basePref + 2,
        fwmark: mark,
        table: String(table),
        argv: ipArgv(
          family,
          "rule",
          "add",
          "pref",
          pref(2),
          "fwmark",
          mark,
          "lookup",
          String(table),
          "proto",
          String(ROUTE_PROTO),
        ),
      });
      const dst = family === "ipv4" ? "0.0.0.0/0" : "::/0";
      ipRouteSpecs.push({
        family,
        type: "unicast",
        dst,
        dev: gwo,
        table,
        argv: ipArgv(
          family,
          "route",
          "replace",
          "default",
          "dev",
          gwo,
          "table",
          String(table),
          "proto",
          String(ROUTE_PROTO),
        ),
      });
    }
    sysctls.set(`net.ipv4.conf.${gwi}.rp_filter`, "0");
    summaries.push({
      gwi,
      gwo,
      key: ep.key,
      requestedMode: ep.requestedMode,
      mode: ep.mode,
      zone,
      table,
      rules: ruleCount,
    });
  }

  if (anyTproxy) {
    for (const family of families) {
      const dst = family === "ipv4" ? "0.0.0.0/0" : "::/0";
      ipRouteSpecs.push({
        family,
        type: "local",
        dst,
        dev: "lo",
        table: tproxyTable,
        argv: ipArgv(
          family,
          "route",
          "replace",
          "local",
          dst,
          "dev",
          "lo",
          "table",
          String(tproxyTable),
          "proto",
          String(ROUTE_PROTO),
        ),
      });
    }
  }
  if (anyForwarding) {
    sysctls.set("net.ipv4.ip_forward", "1");
    sysctls.set("net.ipv4.fwmark_reflect", "1");
    sysctls.set("net.ipv4.tcp_fwmark_accept", "1");
    if (ipv6) {
      sysctls.set("net.ipv6.conf.all.forwarding", "1");
      sysctls.set("net.ipv6.fwmark_reflect", "1");
    }
  }

  const chains = {} as Record<Family, Record<Table, string[]>>;
  const ruleCounts = {} as Record<Family, Record<string, number>>;
  for (const f of FAMILIES) {
    chains[f] = {} as Record<Table, string[]>;
    ruleCounts[f] = {};
    for (const t of TABLES) {
      chains[f][t] = [...docs[f][t].keys()];
      for (const [c, rules] of docs[f][t])
        ruleCounts[f][`${t}/${c}`] = f === "ipv6" && !ipv6 ? 0 : rules.length;
    }
  }
  if (!caps.ipset && ipsets.length > 0)
    errors.push("named sets need ipset, which is not available");
  const sortedRules = [...ipRuleSpecs].sort((a, b) => a.pref - b.pref);
  return {
    iptablesRestore: renderDoc(docs.ipv4),
    // With IPv6 off but ip6tables present, an empty own state still removes earlier IPv6 rules.
    ip6tablesRestore: caps.ip6tables ? renderDoc(docs.ipv6) : "",
    ipsetRestore: renderIpsetRestore(ipsets),
    tc: tcSpecs.map((s) => s.argv),
    ipRules: [
      ...ipAddrSpecs.map((a) => a.argv),
      ...sortedRules.map((r) => r.argv),
      ...ipRouteSpecs.map((r) => r.argv),
    ],
    sysctls: [...sysctls].map(([key, value]): Sysctl => ({ key, value })),
    chains,
    ruleCounts,
    jumps: BASE_JUMPS,
    tcSpecs,
    ipRuleSpecs: sortedRules,
    ipRouteSpecs,
    ipAddrSpecs,
    ipsets,
    endpoints: summaries,
    notes,
    errors,
  };
}
