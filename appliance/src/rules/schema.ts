/**
 * The rules file schema (zod). Every key is documented in docs/rules.md; keep the two in step.
 * Validation is strict: unknown keys are errors, so a typo never silently weakens a rule.
 */
import { z } from "zod";
import ipaddr from "ipaddr.js";

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

/** True for an IPv4/IPv6 address or CIDR ("10.0.0.0/8", "fd00::/8", "192.0.2.1"). */
export function isCidr(text: string): boolean {
  if (ipaddr.isValidCIDR(text)) return true;
  return ipaddr.isValid(text) && !text.includes("/");
}

const cidrOrSet = z.string().refine((s) => s.startsWith("@") || isCidr(s), {
  error: (iss) => `${JSON.stringify(iss.input)} is not a CIDR, an address or a @set reference`,
});
const cidrList = z.union([cidrOrSet, z.array(cidrOrSet).min(1)]);

function portError(input: unknown): string {
  return `${JSON.stringify(String(input))} is not a port (1-65535), a range "a-b" or a @set`;
}

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

const portItem = z
  .union([z.number(), z.string()])
  .refine(
    (v) => (typeof v === "string" && /^@[A-Za-z0-9_]+$/.test(v)) || parsePortSpec(v) !== undefined,
    { error: (iss) => portError(iss.input) },
  );
const portList = z.union([portItem, z.array(portItem).min(1)]);

const ICMP_ITEM = z
  .union([z.number().int().min(0).max(255), z.string().regex(/^([a-z-]+|\d{1,3}(\/\d{1,3})?)$/)])
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

export const ruleSchema = z
  .strictObject({
    action: z.enum(ACTIONS),
    comment: z
      .string()
      .max(200)
      .regex(/^[^"\\\n]*$/, "no quotes, backslashes or newlines")
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
      .union([z.number().int().min(0).max(65535), z.string().regex(/^\d{1,5}-\d{1,5}$/)])
      .optional(),
    bypass: z.boolean().optional(),
  })
  .superRefine((r, ctx) => {
    const only = (key: keyof typeof r, action: Action) => {
      if (r[key] !== undefined && r.action !== action) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `only valid with action: ${action}`,
        });
      }
    };
    only("rejectWith", "reject");
    only("toPort", "redirect");
    only("method", "redirect");
    only("to", "mirror");
    only("queue", "queue");
    only("bypass", "queue");
    if (r.action === "redirect" && r.toPort === undefined) {
      ctx.addIssue({ code: "custom", path: ["toPort"], message: "redirect needs toPort" });
    }
    if (r.action === "mirror" && r.to === undefined) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "mirror needs to: <interface>" });
    }
    const portProto = r.proto === "tcp" || r.proto === "udp" || r.proto === "sctp";
    for (const key of ["ports", "sourcePorts"] as const) {
      if (r[key] !== undefined && !portProto) {
        ctx.addIssue({ code: "custom", path: [key], message: "ports need proto tcp, udp or sctp" });
      }
    }
    if (r.action === "redirect" && r.proto !== "tcp" && r.proto !== "udp") {
      ctx.addIssue({ code: "custom", path: ["proto"], message: "redirect needs proto tcp or udp" });
    }
    if (r.icmpType !== undefined && r.proto !== "icmp" && r.proto !== "icmpv6") {
      ctx.addIssue({
        code: "custom",
        path: ["icmpType"],
        message: "icmpType needs proto icmp or icmpv6",
      });
    }
    if (r.rejectWith === "tcp-reset" && r.proto !== "tcp") {
      ctx.addIssue({ code: "custom", path: ["rejectWith"], message: "tcp-reset needs proto tcp" });
    }
    if (typeof r.queue === "string") {
      const [a, b] = r.queue.split("-").map(Number) as [number, number];
      if (a > b || b > 65535) {
        ctx.addIssue({ code: "custom", path: ["queue"], message: "queue range must be low-high" });
      }
    }
    if (r.action === "mirror") {
      for (const key of ["state", "limit", "log", "sourcePorts", "icmpType"] as const) {
        if (r[key] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "mirror rules run in tc, which cannot match this key",
          });
        }
      }
    }
  });
export type Rule = z.infer<typeof ruleSchema>;

const cidrOnly = z.string().refine(isCidr, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a CIDR or an address`,
});

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
      const ok = s.type === "net" ? typeof e === "string" && isCidr(e) : parsePortSpec(e);
      if (!ok) {
        ctx.addIssue({
          code: "custom",
          path: ["entries", i],
          message:
            s.type === "net"
              ? `${JSON.stringify(String(e))} is not a CIDR or an address`
              : portError(e),
        });
      }
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
    .record(z.string().regex(NAME_RE, "set names: 1-20 of A-Z a-z 0-9 _"), setSchema)
    .optional(),
  rules: z.array(ruleSchema).optional(),
  endpoints: z.record(z.string(), endpointSchema).optional(),
});
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type EndpointSection = z.infer<typeof endpointSchema>;
