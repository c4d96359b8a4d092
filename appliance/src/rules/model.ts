/** Types shared by the rule compiler and the engine. */

export type Family = "ipv4" | "ipv6";
export const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];

export type Table = "raw" | "mangle" | "nat" | "filter";
/** Order in which tables appear in a restore document. */
export const TABLES: readonly Table[] = ["raw", "mangle", "nat", "filter"];

/** Every chain Tollgate owns starts with this prefix; nothing else is ever flushed. */
export const CHAIN_PREFIX = "TOLLGATE-";

/** `proto` value of Tollgate's ip rules and routes (so they are found and removed exactly). */
export const ROUTE_PROTO = 116;

/** tc filter preferences Tollgate owns on an ingress qdisc (mirrors first, redirect last). */
export const TC_PREF_FIRST = 49000;
export const TC_PREF_REDIRECT = 49999;

/** What the kernel and tools can do; decides how the compiler expresses each construct. */
export interface Capabilities {
  /** tc ingress qdisc. */
  readonly tcIngress: boolean;
  readonly u32: boolean;
  readonly mirred: boolean;
  readonly flower: boolean;
  readonly matchall: boolean;
  /** tc gact (drop/pass actions). */
  readonly gact: boolean;
  /** ipset tool + kernel sets. */
  readonly ipset: boolean;
  readonly ip6tables: boolean;
  /** How these were obtained: probed in a scratch namespace, assumed, or given on the command line. */
  readonly source: "detected" | "assumed" | "given";
}

/** What this lab kernel has (and a safe assumption when probing is impossible). */
export const MINIMAL_CAPABILITIES: Capabilities = {
  tcIngress: true,
  u32: true,
  mirred: true,
  flower: false,
  matchall: false,
  gact: false,
  ipset: true,
  ip6tables: true,
  source: "assumed",
};

/** An endpoint whose interfaces exist (or are about to): what the compiler emits state for. */
export interface EndpointRef {
  readonly gwi: string;
  readonly gwo: string;
  /** `vpce-<hex17>` when known. */
  readonly vpce?: string;
}

export interface JumpSpec {
  readonly table: Table;
  /** Built-in chain. */
  readonly from: string;
  /** Tollgate chain. */
  readonly to: string;
}

export interface TcSpec {
  readonly dev: string;
  /** "qdisc" ensures an ingress qdisc; "filter" adds one filter at `pref`. */
  readonly kind: "qdisc" | "filter";
  readonly pref?: number;
  readonly argv: readonly string[];
  /** tc action cookie identifying a filter (hex, 8 bytes). */
  readonly cookie?: string;
  /** One line for plan output. */
  readonly describe: string;
}

/** What identifies one of Tollgate's ip rules (desired or live). */
export interface IpRule {
  readonly family: Family;
  readonly pref: number;
  readonly iif?: string;
  /** Source prefix "198.18.0.1/32" (the health canary's rule only). */
  readonly src?: string;
  /** "0x5/0xffff" */
  readonly fwmark?: string;
  /** Table number, or "main". */
  readonly table: string;
}

export interface IpRuleSpec extends IpRule {
  readonly argv: readonly string[];
}

/** What identifies one of Tollgate's ip routes (desired or live). */
export interface IpRoute {
  readonly family: Family;
  readonly type: string;
  readonly dst: string;
  readonly dev: string;
  readonly table: string | number;
}

export interface IpRouteSpec extends IpRoute {
  readonly type: "unicast" | "local";
  readonly table: number;
  readonly argv: readonly string[];
}

/**
 * An address Tollgate puts on gwi-X so REDIRECT has a local address to redirect to (tun
 * interfaces have none): 169.254.<zone>/32 and fe80::7467:<zone>/128.
 */
export interface IpAddr {
  readonly family: Family;
  readonly dev: string;
  /** With prefix length. */
  readonly address: string;
}

export interface IpAddrSpec extends IpAddr {
  readonly argv: readonly string[];
}

export interface IpsetSpec {
  readonly name: string;
  readonly type: "hash:net" | "bitmap:port";
  readonly family?: Family;
  readonly maxelem?: number;
  readonly entries: readonly string[];
}

export interface Sysctl {
  readonly key: string;
  readonly value: string;
}

export interface EndpointSummary {
  readonly gwi: string;
  readonly gwo: string;
  readonly key?: string;
  readonly requestedMode: string;
  readonly mode: string;
  readonly zone: number;
  readonly table: number;
  readonly rules: number;
}

/** The compiler's output: everything needed to reach the desired state, no I/O done. */
export interface CompiledRuleset {
  /** iptables-restore --noflush document (own chains only; jumps are added by the engine). */
  readonly iptablesRestore: string;
  readonly ip6tablesRestore: string;
  /** ipset restore document (assuming none of the sets exist yet). */
  readonly ipsetRestore: string;
  readonly tc: readonly (readonly string[])[];
  readonly ipRules: readonly (readonly string[])[];
  readonly sysctls: readonly Sysctl[];
  /** Structured forms the engine diffs and verifies against live state. */
  readonly chains: Readonly<Record<Family, Readonly<Record<Table, readonly string[]>>>>;
  /** Rules per own chain (for verification after apply). */
  readonly ruleCounts: Readonly<Record<Family, Readonly<Record<string, number>>>>;
  readonly jumps: readonly JumpSpec[];
  readonly tcSpecs: readonly TcSpec[];
  readonly ipRuleSpecs: readonly IpRuleSpec[];
  readonly ipRouteSpecs: readonly IpRouteSpec[];
  readonly ipAddrSpecs: readonly IpAddrSpec[];
  readonly ipsets: readonly IpsetSpec[];
  readonly endpoints: readonly EndpointSummary[];
  /** Capability choices and warnings, shown by `plan`. */
  readonly notes: readonly string[];
  /** Non-empty when the rules cannot be compiled for these endpoints; nothing must be applied. */
  readonly errors: readonly string[];
}
