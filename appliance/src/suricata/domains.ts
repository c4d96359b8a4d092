/**
 * Egress domain lists -> Suricata rules, the way AWS Network Firewall compiles its domain lists:
 * one rule per listed name and protocol on the TLS SNI (`tls.sni`) and the HTTP Host header
 * (`http.host`), exact names anchored with `startswith; endswith`, `.suffix` wildcards with
 * `dotprefix; ... endswith` (the name itself and every name below it).
 *
 * Unlike Network Firewall's allow lists, allowed names are not `pass` rules: a pass would exempt
 * the whole flow from every other signature (and from the deny list). The optional default deny
 * is one rule per protocol that matches the names NOT on the allow list (a negated `pcre` over
 * all of them), so deny entries and the user's signatures still apply to allowed names.
 *
 * Pure: golden-tested (tests/golden/suricata).
 */
import type { RulesFile } from "../rules/schema";

export type DomainLists = NonNullable<NonNullable<RulesFile["suricata"]>["domains"]>;

/** Rule action for a blocked name: alert only in monitor mode and in ids mode (nothing blocks). */
export type DomainAction = "drop" | "alert";

interface Proto {
  /** Suricata app-layer protocol of the rule header. */
  readonly proto: "tls" | "http";
  /** Sticky buffer holding the name. */
  readonly buffer: string;
  /** What the message calls it. */
  readonly label: string;
  /** tls.sni keeps the client's case; http.host is normalised to lower case. */
  readonly nocase: boolean;
  /** Options that make a "any request" rule match once per request/handshake. */
  readonly anyRequest: string;
}

const PROTOS: readonly Proto[] = [
  {
    proto: "tls",
    buffer: "tls.sni",
    label: "TLS SNI",
    nocase: true,
    anyRequest: "ssl_state:client_hello;",
  },
  {
    proto: "http",
    buffer: "http.host",
    label: "HTTP Host",
    nocase: false,
    anyRequest: 'http.host; pcre:"/^/";',
  },
];

const HEADER = "$HOME_NET any -> $EXTERNAL_NET any";
const FLOW = "flow:to_server,established;";

/** The content match of one listed name in a buffer. */
function nameMatch(name: string, p: Proto): string {
  const nocase = p.nocase ? " nocase;" : "";
  return name.startsWith(".")
    ? `${p.buffer}; dotprefix; content:"${name}";${nocase} endswith;`
    : `${p.buffer}; content:"${name}";${nocase} startswith; endswith;`;
}

/** A PCRE alternative for one listed name (dots escaped; `.suffix`: the name or below it). */
function namePattern(name: string): string {
  const escaped = name.replace(/^\./, "").replace(/\./g, "\\.");
  return name.startsWith(".") ? `(?:.*\\.)?${escaped}` : escaped;
}

/** Matches names that are on none of `allow` (or every request when the list is empty). */
function notAllowedMatch(allow: readonly string[], p: Proto): string {
  if (allow.length === 0) return p.anyRequest;
  const flags = p.nocase ? "i" : "";
  return `${p.buffer}; pcre:!"/^(?:${allow.map(namePattern).join("|")})$/${flags}";`;
}

function rule(action: DomainAction, p: Proto, msg: string, body: string, sid: number): string {
  return `${action} ${p.proto} ${HEADER} (msg:"${msg} (${p.label})"; ${FLOW} ${body} sid:${sid}; rev:1;)`;
}

/**
 * The rules for one `domains` section, sids from `sidBase` upwards in a fixed order: every deny
 * entry for TLS then HTTP, then the default deny (TLS, HTTP) when `default: deny`.
 */
export function domainRules(d: DomainLists, action: DomainAction, sidBase: number): string[] {
  const out: string[] = [];
  let sid = sidBase;
  for (const name of d.deny ?? []) {
    for (const p of PROTOS)
      out.push(rule(action, p, `tollgate domain denied ${name}`, nameMatch(name, p), sid++));
  }
  if (d.default === "deny") {
    for (const p of PROTOS) {
      const body = notAllowedMatch(d.allow ?? [], p);
      out.push(rule(action, p, "tollgate domain not on the allow list", body, sid++));
    }
  }
  return out;
}
