/**
 * The rules file schema (zod). Every key is documented in docs/rules.md; keep the two in step.
 * Validation is strict: unknown keys are errors, so a typo never silently weakens a rule.
 */
import { z } from "zod";
import ipaddr from "ipaddr.js";
import { ICMP_TYPES } from "./protocols";

export const MODES = ["passthrough", "inspect", "egress-nat"] as const;
export type Mode = (typeof MODES)[number];

export const ACTIONS = ["allow", "drop", "reject", "log", "queue", "redirect", "mirror"] as const;
export type Action = (typeof ACTIONS)[number];

export const POLICIES = ["allow", "drop", "reject"] as const;

export const STATES = ["new", "established", "related", "invalid", "untracked"] as const;

export const REJECT_WITH = [
  "tcp-reset",
  "port-unreachable",
  "host-unreachable",
  "net-unreachable",
  "admin-prohibited",
] as const;

/** Protocol names accepted by `proto` (a number 0-255 is accepted too). */
export const PROTOCOLS = [
  "tcp",
  "udp",
  "icmp",
  "icmpv6",
  "sctp",
  "gre",
  "esp",
  "ah",
  "all",
] as const;

const NAME_RE = /^[A-Za-z0-9_]{1,20}$/;
const IFNAME_RE = /^[A-Za-z0-9_.:-]{1,15}$/;

/** What is wrong with a value and how to fix it. */
export interface Problem {
  readonly message: string;
  readonly fix: string;
}

/**
 * Adds a custom issue carrying its fix (problems.ts reads `params.fix`). Every check of the rules
 * file reports through this, so each message says what is wrong and how to fix it.
 */
export function problem(
  ctx: z.RefinementCtx,
  path: readonly (string | number)[],
  p: Problem,
): void {
  ctx.addIssue({ code: "custom", path: [...path], message: p.message, params: { fix: p.fix } });
}

/** `schema` with `check` run on values of the right type; a returned Problem is an issue. */
function checked<T extends z.ZodType>(
  schema: T,
  check: (v: z.output<T>) => Problem | undefined,
): T {
  return schema.superRefine((v, ctx) => {
    const p = check(v);
    if (p) problem(ctx, [], p);
  }) as unknown as T;
}

/** True for an IPv4 (four decimal parts) or IPv6 address or CIDR ("10.0.0.0/8", "fd00::/8"). */
export function isCidr(text: string): boolean {
  const [addr = "", len, ...rest] = text.split("/");
  if (rest.length > 0 || !ipaddr.isValid(addr)) return false;
  if (!addr.includes(":") && !ipaddr.IPv4.isValidFourPartDecimal(addr)) return false;
  return len === undefined || ipaddr.isValidCIDR(text);
}

const CIDR_FORMS = "an address (192.0.2.1, 2001:db8::1) or a CIDR (10.0.0.0/8, 2001:db8::/32)";

/** How to write what `text` probably meant. */
function cidrFix(text: string): string {
  if (text.startsWith("@")) return "list the CIDRs themselves: a named set cannot be used here";
  if (text.includes(",")) return "write several as a list: [10.0.0.0/8, 192.168.0.0/16]";
  if (/^(any|all|\*)$/i.test(text)) return "leave the key out to match any address";
  return `write ${CIDR_FORMS}`;
}

/**
 * Why `text` is not a usable address or CIDR. Host bits are refused, as in the stack config:
 * the kernel would silently match the whole network instead of what was written.
 */
export function cidrProblem(text: string): Problem | undefined {
  if (!isCidr(text))
    return { message: `${JSON.stringify(text)} is not an address or a CIDR`, fix: cidrFix(text) };
  if (!text.includes("/")) return undefined;
  const [addr, len] = ipaddr.parseCIDR(text);
  const v4 = addr.kind() === "ipv4";
  const network = (v4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(text);
  if (network.toString() === addr.toString()) return undefined;
  return {
    message: `${text} has host bits set`,
    fix: `use ${network.toString()}/${len} for the network, or ${addr.toString()}/${v4 ? 32 : 128} for the one address`,
  };
}

/** `@name` of a named set. */
export const SET_REF_RE = /^@[A-Za-z0-9_]{1,20}$/;

const cidrOrSet = checked(z.string(), (s) => {
  if (s.startsWith("@")) {
    return SET_REF_RE.test(s)
      ? undefined
      : {
          message: `${JSON.stringify(s)} is not a set name`,
          fix: "write @name, name 1-20 of A-Z a-z 0-9 _",
        };
  }
  const p = cidrProblem(s);
  return (
    p && {
      ...p,
      fix: p.fix.replace(`write ${CIDR_FORMS}`, `write @name of a net set, ${CIDR_FORMS}`),
    }
  );
});
const cidrList = z.union([cidrOrSet, z.array(cidrOrSet).min(1)]);

/** Parses "80", 80, "8000-8100" into [lo, hi]; undefined when invalid. */
export function parsePortSpec(v: unknown): [number, number] | undefined {
  const text = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

const PORT_FORMS = 'a port 1-65535 or a range "8000-8100"';

/** Why `v` is not a port or port range (`withSets`: nor a @set reference). */
export function portProblem(v: unknown, withSets: boolean): Problem | undefined {
  if (withSets && typeof v === "string" && SET_REF_RE.test(v)) return undefined;
  if (parsePortSpec(v) !== undefined) return undefined;
  const text = JSON.stringify(String(v));
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(String(v));
  if (range && Number(range[1]) > Number(range[2]))
    return { message: `${text} has the high port first`, fix: `write ${range[2]!}-${range[1]!}` };
  const colon = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(String(v));
  if (colon)
    return { message: `${text} is not a port range`, fix: `write ${colon[1]!}-${colon[2]!}` };
  const forms = withSets ? `${PORT_FORMS} or @name of a port set` : PORT_FORMS;
  return { message: `${text} is not a port`, fix: `write ${forms}` };
}

const portItem = checked(z.union([z.number(), z.string()]), (v) => portProblem(v, true));
const portList = z.union([portItem, z.array(portItem).min(1)]);

const ICMP_ITEM = z
  .union([
    z.number().int().min(0).max(255),
    z
      .string()
      .regex(
        /^([a-z-]+|\d{1,3}(\/\d{1,3})?)$/,
        'a type name (echo-request), a number (8) or "type/code" (3/4)',
      ),
  ])
  .describe("ICMP type name, number or type/code");

const rate = z
  .string()
  .regex(/^\d+\/(s|sec|second|m|min|minute|h|hour|d|day)$/, 'a rate like "10/second"');

const limitSchema = z.union([
  rate,
  z.strictObject({
    rate,
    burst: z.number().int().min(1).max(10000).optional(),
    per: z.enum(["source", "destination", "flow", "none"]).optional(),
  }),
]);

const logSchema = z.union([
  z.boolean(),
  z.strictObject({
    prefix: z
      .string()
      .max(63)
      .regex(/^[A-Za-z0-9 _:.=-]*$/, "letters, digits, space and _:.=- only")
      .optional(),
    group: z.number().int().min(0).max(65535).optional(),
  }),
]);

const ruleShape = z.strictObject({
  action: z.enum(ACTIONS),
  comment: z
    .string()
    .max(200)
    .regex(/^[^"\\\n]*$/, "text without quotes, backslashes or newlines")
    .optional(),
  proto: z.union([z.enum(PROTOCOLS), z.number().int().min(0).max(255)]).optional(),
  family: z.enum(["ipv4", "ipv6", "any"]).optional(),
  src: cidrList.optional(),
  dst: cidrList.optional(),
  ports: portList.optional(),
  sourcePorts: portList.optional(),
  icmpType: z.union([ICMP_ITEM, z.array(ICMP_ITEM).min(1)]).optional(),
  direction: z.enum(["in", "out", "any"]).optional(),
  state: z.array(z.enum(STATES)).min(1).optional(),
  log: logSchema.optional(),
  limit: limitSchema.optional(),
  rejectWith: z.enum(REJECT_WITH).optional(),
  toPort: z.number().int().min(1).max(65535).optional(),
  method: z.enum(["redirect", "tproxy"]).optional(),
  to: z.string().regex(IFNAME_RE, "an interface name (1-15 characters)").optional(),
  queue: z
    .union([
      z.number().int().min(0).max(65535),
      z.string().regex(/^\d{1,5}-\d{1,5}$/, 'a queue number or a range "4-7"'),
    ])
    .optional(),
  bypass: z.boolean().optional(),
});
type RuleFields = z.infer<typeof ruleShape>;
type RuleKey = keyof RuleFields;

/** One check of a rule: each problem with the key it is about. */
type RuleCheck = (r: RuleFields) => [RuleKey, Problem][];

/** Keys that only make sense with one action. */
const ACTION_KEYS: readonly [RuleKey, Action][] = [
  ["rejectWith", "reject"],
  ["toPort", "redirect"],
  ["method", "redirect"],
  ["to", "mirror"],
  ["queue", "queue"],
  ["bypass", "queue"],
];

/** Keys a mirror rule cannot have: it runs in tc, before netfilter. */
const NOT_IN_TC: readonly RuleKey[] = ["state", "limit", "log", "sourcePorts", "icmpType"];

const asItems = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** The address families a rule can match in, from `family` and `proto` (icmp: v4, icmpv6: v6). */
function allowedFamilies(r: RuleFields): ("ipv4" | "ipv6")[] {
  const byFamily = r.family === "ipv4" || r.family === "ipv6" ? [r.family] : ["ipv4", "ipv6"];
  const byProto = r.proto === "icmp" ? ["ipv4"] : r.proto === "icmpv6" ? ["ipv6"] : byFamily;
  return (["ipv4", "ipv6"] as const).filter((f) => byFamily.includes(f) && byProto.includes(f));
}

/** `family` and `proto`, or the addresses, that leave a rule nothing to match. */
function matchesNothing(r: RuleFields): [RuleKey, Problem][] {
  const families = allowedFamilies(r);
  if (families.length === 0)
    return [
      [
        "family",
        {
          message: `family: ${r.family!} contradicts proto: ${String(r.proto)}, so the rule matches nothing`,
          fix: "remove family (proto decides it)",
        },
      ],
    ];
  return (["src", "dst"] as const).flatMap((key): [RuleKey, Problem][] => {
    const items = asItems(r[key]).map(String);
    const sets = items.some((i) => i.startsWith("@"));
    const fams = new Set(items.map((i) => (i.includes(":") ? "ipv6" : "ipv4")));
    if (items.length === 0 || sets || families.some((f) => fams.has(f))) return [];
    const only = families.join(" and ");
    return [
      [
        key,
        {
          message: `${key} has no ${only} address, and the rule is for ${only} only, so it matches nothing`,
          fix: `add ${only} addresses to ${key}, or change family/proto`,
        },
      ],
    ];
  });
}

const RULE_CHECKS: readonly RuleCheck[] = [
  matchesNothing,
  (r) =>
    ACTION_KEYS.filter(([key, action]) => r[key] !== undefined && r.action !== action).map(
      ([key, action]) => [
        key,
        {
          message: `${key} only works with action: ${action}`,
          fix: `remove ${key}, or use action: ${action}`,
        },
      ],
    ),
  (r) =>
    r.action === "redirect" && r.toPort === undefined
      ? [
          [
            "toPort",
            {
              message: "redirect needs toPort",
              fix: "add toPort: <the local proxy's port>, e.g. 3128",
            },
          ],
        ]
      : [],
  (r) =>
    r.action === "mirror" && r.to === undefined
      ? [
          [
            "to",
            {
              message: "mirror needs an interface",
              fix: "add to: <monitoring interface>, e.g. ens6",
            },
          ],
        ]
      : [],
  (r) =>
    (["ports", "sourcePorts"] as const)
      .filter(
        (key) =>
          r[key] !== undefined && !(r.proto === "tcp" || r.proto === "udp" || r.proto === "sctp"),
      )
      .map((key) => [
        key,
        { message: `${key} need proto tcp, udp or sctp`, fix: "add proto: tcp (or udp, sctp)" },
      ]),
  (r) =>
    r.action === "redirect" && r.proto !== "tcp" && r.proto !== "udp"
      ? [["proto", { message: "redirect needs proto tcp or udp", fix: "set proto: tcp (or udp)" }]]
      : [],
  (r) =>
    r.icmpType !== undefined && r.proto !== "icmp" && r.proto !== "icmpv6"
      ? [
          [
            "icmpType",
            { message: "icmpType needs proto icmp or icmpv6", fix: "add proto: icmp (or icmpv6)" },
          ],
        ]
      : [],
  (r) => {
    const family = r.proto === "icmpv6" ? "ipv6" : r.proto === "icmp" ? "ipv4" : undefined;
    if (family === undefined) return [];
    const names = Object.keys(ICMP_TYPES[family]);
    return asItems(r.icmpType)
      .filter((t) => typeof t === "string" && /^[a-z-]+$/.test(t) && !names.includes(t))
      .map((t) => [
        "icmpType",
        {
          message: `${JSON.stringify(t)} is not an ${r.proto!} type`,
          fix: `use one of ${names.join(", ")}, or a number`,
        },
      ]);
  },
  (r) =>
    r.rejectWith === "tcp-reset" && r.proto !== "tcp"
      ? [
          [
            "rejectWith",
            {
              message: "tcp-reset needs proto tcp",
              fix: "set proto: tcp, or use rejectWith: port-unreachable",
            },
          ],
        ]
      : [],
  (r) => {
    if (typeof r.queue !== "string") return [];
    const [a, b] = r.queue.split("-").map(Number) as [number, number];
    return a > b || b > 65535
      ? [
          [
            "queue",
            {
              message: `queue range ${r.queue} is not low-high within 0-65535`,
              fix: `write the lower queue first, e.g. ${Math.min(a, b)}-${Math.min(Math.max(a, b), 65535)}`,
            },
          ],
        ]
      : [];
  },
  (r) =>
    r.action !== "mirror"
      ? []
      : NOT_IN_TC.filter((key) => r[key] !== undefined).map((key) => [
          key,
          {
            message: `mirror rules run in tc, which cannot match ${key}`,
            fix: `remove ${key} from the mirror rule`,
          },
        ]),
  (r) =>
    r.action !== "mirror"
      ? []
      : (["src", "dst", "ports"] as const).flatMap((key) =>
          asItems(r[key])
            .filter((v) => typeof v === "string" && v.startsWith("@"))
            .map((v): [RuleKey, Problem] => [
              key,
              {
                message: `mirror rules run in tc, which cannot match a named set (${String(v)})`,
                fix: `list the set's ${key === "ports" ? "ports" : "CIDRs"} in the rule itself`,
              },
            ]),
        ),
];

export const ruleSchema = ruleShape.superRefine((r, ctx) => {
  for (const check of RULE_CHECKS) for (const [key, p] of check(r)) problem(ctx, [key], p);
});
export type Rule = z.infer<typeof ruleSchema>;

// ---------------------------------------------------------------------------------------------
// The `suricata:` section: which traffic goes to Suricata and how (`ips` inline through NFQUEUE,
// `ids` a copy), its signatures and the egress domain lists. Documented in docs/rules.md
// ("Suricata: IDS/IPS and domain lists"); rendered by appliance/src/suricata.

/** First sid of the range Tollgate's generated rules (domain lists) use; signatures must avoid it. */
export const TOLLGATE_SID_BASE = 9_746_000;
/** Size of the reserved sid range. */
export const TOLLGATE_SID_COUNT = 100_000;

const shape = ruleShape.shape;

/** Which traffic Suricata sees: the match keys of a rule, checked like a rule's. */
export const trafficSchema = z
  .strictObject({
    proto: shape.proto,
    family: shape.family,
    src: shape.src,
    dst: shape.dst,
    ports: shape.ports,
    sourcePorts: shape.sourcePorts,
    direction: shape.direction,
    comment: shape.comment,
  })
  .superRefine((t, ctx) => {
    const asRule: RuleFields = { ...t, action: "queue" };
    for (const check of RULE_CHECKS) for (const [key, p] of check(asRule)) problem(ctx, [key], p);
  });
export type TrafficMatch = z.infer<typeof trafficSchema>;

/** A domain name (`example.com`) or a suffix wildcard (`.example.com`: the name and all below it). */
const DOMAIN_RE =
  /^\.?(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const domain = checked(z.string(), (s) =>
  DOMAIN_RE.test(s.toLowerCase())
    ? undefined
    : {
        message: `${JSON.stringify(s)} is not a domain name`,
        fix: "write example.com (that name) or .example.com (it and every name below it)",
      },
).transform((s) => s.toLowerCase());

export const domainsSchema = z.strictObject({
  /** enforce: block; monitor: alert only (log what would be blocked). */
  mode: z.enum(["enforce", "monitor"]).optional(),
  deny: z.array(domain).optional(),
  allow: z.array(domain).optional(),
  /** What happens to HTTP/TLS traffic to names on neither list. */
  default: z.enum(["allow", "deny"]).optional(),
});

/** A Suricata rule on one line; the full check is Suricata's own (`suricata -T`) before use. */
const signature = z
  .string()
  .regex(
    /^\s*(alert|drop|reject|rejectsrc|rejectdst|rejectboth|pass)\s+\S.*\(.*sid\s*:\s*\d+\s*;.*\)\s*$/,
    "a Suricata rule on one line: action header (options ...; sid:N; ...)",
  );

const ruleFile = z
  .string()
  .regex(/^[A-Za-z0-9_./-]+\.rules$/, "a path ending in .rules (letters, digits, _ . / -)");

const SECTION_CHECKS: readonly ((s: {
  mode: "ips" | "ids";
  failure?: unknown;
  queue?: unknown;
  signatures?: readonly string[];
}) => [(string | number)[], Problem][])[] = [
  (s) =>
    s.mode === "ips" && s.failure === undefined
      ? [
          [
            ["failure"],
            {
              message: "ips needs failure: open or closed",
              fix: "add failure: open (traffic passes uninspected while Suricata is down or overloaded) or failure: closed (it is dropped)",
            },
          ],
        ]
      : [],
  (s) =>
    s.mode !== "ids"
      ? []
      : (["failure", "queue"] as const)
          .filter((key) => s[key] !== undefined)
          .map((key) => [
            [key],
            { message: `${key} only works with mode: ips`, fix: `remove ${key}` },
          ]),
  (s) =>
    (s.signatures ?? []).flatMap((sig, i): [(string | number)[], Problem][] => {
      const sid = Number(/sid\s*:\s*(\d+)/.exec(sig)?.[1]);
      const last = TOLLGATE_SID_BASE + TOLLGATE_SID_COUNT - 1;
      return sid >= TOLLGATE_SID_BASE && sid <= last
        ? [
            [
              ["signatures", i],
              {
                message: `sid ${sid} is in Tollgate's reserved range ${TOLLGATE_SID_BASE}-${last} (domain rules)`,
                fix: "give the signature a sid outside that range",
              },
            ],
          ]
        : [];
    }),
];

export const suricataSchema = z
  .strictObject({
    mode: z.enum(["ips", "ids"]),
    /** ips: what happens to queued traffic while Suricata is down or overloaded. */
    failure: z.enum(["open", "closed"]).optional(),
    queue: z.number().int().min(0).max(65535).optional(),
    traffic: z.array(trafficSchema).min(1).optional(),
    signatures: z.array(signature).optional(),
    ruleFiles: z.array(ruleFile).optional(),
    domains: domainsSchema.optional(),
  })
  .superRefine((s, ctx) => {
    for (const check of SECTION_CHECKS) for (const [path, p] of check(s)) problem(ctx, path, p);
  });
export type SuricataSection = z.infer<typeof suricataSchema>;

const cidrOnly = checked(z.string(), cidrProblem);

/** Settings shared by the defaults and each endpoint section. */
const endpointFields = {
  mode: z.enum(MODES).optional(),
  policy: z.enum(POLICIES).optional(),
  established: z.boolean().optional(),
  dropInvalid: z.boolean().optional(),
  protected: z.array(cidrOnly).optional(),
  egressInterface: z.string().regex(IFNAME_RE, "an interface name (1-15 characters)").optional(),
  zones: z.boolean().optional(),
};

export const defaultsSchema = z.strictObject({
  ...endpointFields,
  logGroup: z.number().int().min(0).max(65535).optional(),
  ipv6: z.boolean().optional(),
});

export const endpointSchema = z.strictObject({
  ...endpointFields,
  zone: z.number().int().min(1).max(65535).optional(),
  inherit: z.boolean().optional(),
  rules: z.array(ruleSchema).optional(),
});

const setEntry = z.union([z.string(), z.number()]);
export const setSchema = z
  .strictObject({
    type: z.enum(["net", "port"]),
    entries: z.array(setEntry),
    maxelem: z.number().int().min(1).max(16_777_216).optional(),
  })
  .superRefine((s, ctx) => {
    s.entries.forEach((e, i) => {
      const p = s.type === "net" ? cidrProblem(String(e)) : portProblem(e, false);
      if (p) problem(ctx, ["entries", i], p);
    });
  });
export type RuleSet = z.infer<typeof setSchema>;

export const settingsSchema = z.strictObject({
  /** Mask of the packet/connection mark bits Tollgate owns for endpoint marks (zone = mark). */
  markMask: z.number().int().min(1).max(0xffff).optional(),
  tproxyMark: z.number().int().min(0x10000).max(0x7fffffff).optional(),
  rulePriority: z.number().int().min(1).max(32000).optional(),
  tproxyTable: z.number().int().min(1).max(0x7fffffff).optional(),
});

export const rulesFileSchema = z.strictObject({
  version: z.literal(1),
  settings: settingsSchema.optional(),
  defaults: defaultsSchema.optional(),
  sets: z
    .record(z.string().regex(NAME_RE, "a set name of 1-20 of A-Z a-z 0-9 _"), setSchema)
    .optional(),
  rules: z.array(ruleSchema).optional(),
  endpoints: z.record(z.string(), endpointSchema).optional(),
  suricata: suricataSchema.optional(),
});
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type EndpointSection = z.infer<typeof endpointSchema>;
