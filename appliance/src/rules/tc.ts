/**
 * tc ingress filters: the passthrough redirect (gwi-X -> gwo-X) and `mirror` rules.
 * Uses matchall/flower when the kernel has them, u32 otherwise (this lab kernel: u32 + mirred only).
 */
import { createHash } from "node:crypto";
import { mirredAction, tcFilterAddArgv } from "./commands";
import { asList, canonicalCidr, cidrFamily } from "./matches";
import { TC_PREF_REDIRECT, type Capabilities, type Family, type TcSpec } from "./model";
import { PROTOCOL_NUMBERS } from "./protocols";
import { parsePortSpec, type Rule } from "./schema";

/** Splits [lo, hi] into value/mask pairs covering exactly that range (for u32 port matches). */
export function rangeToMasks(lo: number, hi: number): [number, number][] {
  const out: [number, number][] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 1;
    while ((cur & (size * 2 - 1)) === 0 && cur + size * 2 - 1 <= hi && size < 65536) size *= 2;
    out.push([cur, 0xffff & ~(size - 1)]);
    cur += size;
  }
  return out;
}

/**
 * Appends an action cookie (hash of the command) so the engine recognises its own filters in
 * `tc -j filter show` and leaves unchanged ones untouched.
 */
export function withCookie(spec: Omit<TcSpec, "cookie">): TcSpec {
  const cookie = createHash("sha256").update(spec.argv.join(" ")).digest("hex").slice(0, 16);
  return { ...spec, cookie, argv: [...spec.argv, "cookie", cookie] };
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function ingressQdisc(dev: string): TcSpec {
  return {
    dev,
    kind: "qdisc",
    argv: ["tc", "qdisc", "add", "dev", dev, "ingress"],
    describe: `${dev}: ingress qdisc`,
  };
}

/** The passthrough bump in the wire: everything arriving on gwi-X leaves on gwo-X. */
export function passthroughRedirect(gwi: string, gwo: string, caps: Capabilities): TcSpec {
  const classifier = caps.matchall ? ["matchall"] : ["u32", "match", "u32", "0", "0"];
  return withCookie({
    dev: gwi,
    kind: "filter",
    pref: TC_PREF_REDIRECT,
    argv: tcFilterAddArgv(
      gwi,
      "all",
      TC_PREF_REDIRECT,
      ...classifier,
      ...mirredAction("redirect", gwo),
    ),
    describe: `${gwi}: pref ${TC_PREF_REDIRECT} ${classifier[0]!} all -> mirred redirect ${gwo}`,
  });
}

interface MirrorMatch {
  family: Family;
  src?: string;
  dst?: string;
  ports: [number, number][];
}

/** Match combinations (family x src x dst x port ranges) of a mirror rule. */
function mirrorMatches(
  rule: Rule,
  families: Family[],
  protectedCidrs: readonly string[],
): MirrorMatch[] {
  const out: MirrorMatch[] = [];
  const ports = asList(rule.ports).map((p) => parsePortSpec(p)!);
  for (const family of families) {
    const pick = (v: Rule["src"]): (string | undefined)[] | undefined => {
      const items = asList(v);
      if (items.length === 0) return [undefined];
      const f = items.filter((c) => cidrFamily(c) === family).map(canonicalCidr);
      return f.length > 0 ? f : undefined;
    };
    let srcs = pick(rule.src);
    let dsts = pick(rule.dst);
    const prot = protectedCidrs.filter((c) => cidrFamily(c) === family).map(canonicalCidr);
    if (rule.direction === "in") dsts = prot.length > 0 ? prot : undefined;
    if (rule.direction === "out") srcs = prot.length > 0 ? prot : undefined;
    if (!srcs || !dsts) continue;
    for (const src of srcs) for (const dst of dsts) out.push({ family, src, dst, ports });
  }
  return out;
}

/** flower classifiers for one match: one per port range (flower takes ranges as they are). */
function flowerClassifiers(m: MirrorMatch, protoNum: number | undefined): string[][] {
  const base = ["flower"];
  if (protoNum !== undefined) base.push("ip_proto", String(protoNum));
  if (m.src) base.push("src_ip", m.src);
  if (m.dst) base.push("dst_ip", m.dst);
  if (m.ports.length === 0) return [base];
  return m.ports.map(([lo, hi]) => [...base, "dst_port", lo === hi ? String(lo) : `${lo}-${hi}`]);
}

/** u32 classifiers for one match: one per value/mask pair covering the port ranges. */
function u32Classifiers(m: MirrorMatch, protoNum: number | undefined): string[][] {
  const portVariants: ([number, number] | undefined)[] =
    m.ports.length > 0 ? m.ports.flatMap(([lo, hi]) => rangeToMasks(lo, hi)) : [undefined];
  const sel = m.family === "ipv4" ? "ip" : "ip6";
  return portVariants.map((pv) => {
    const c = ["u32"];
    if (protoNum !== undefined) c.push("match", sel, "protocol", String(protoNum), "0xff");
    if (m.src) c.push("match", sel, "src", m.src);
    if (m.dst) c.push("match", sel, "dst", m.dst);
    if (pv) c.push("match", sel, "dport", String(pv[0]), hex(pv[1]));
    if (c.length === 1) c.push("match", "u32", "0", "0");
    return c;
  });
}

/**
 * tc filters for one mirror rule on `dev` ingress, starting at `pref`. Returns the specs; the
 * caller advances the preference by their count.
 */
export function mirrorFilters(
  dev: string,
  rule: Rule,
  families: Family[],
  protectedCidrs: readonly string[],
  pref: number,
  caps: Capabilities,
): TcSpec[] {
  const to = rule.to!;
  const proto = rule.proto === undefined || rule.proto === "all" ? undefined : rule.proto;
  const protoNum =
    proto === undefined ? undefined : typeof proto === "number" ? proto : PROTOCOL_NUMBERS[proto];
  const classify = caps.flower ? flowerClassifiers : u32Classifiers;
  const out: TcSpec[] = [];
  for (const m of mirrorMatches(rule, families, protectedCidrs)) {
    const tcProto = m.family === "ipv4" ? "ip" : "ipv6";
    for (const c of classify(m, protoNum)) {
      const p = pref + out.length;
      const argv = tcFilterAddArgv(
        dev,
        tcProto,
        p,
        ...c,
        ...mirredAction("mirror", to),
        "continue",
      );
      const describe = `${dev}: pref ${p} ${c.join(" ")} -> mirred mirror ${to}`;
      out.push(withCookie({ dev, kind: "filter", pref: p, argv, describe }));
    }
  }
  return out;
}
