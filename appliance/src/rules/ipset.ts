/**
 * Named sets as ipsets. Each set is filled under a temporary name and swapped into place with
 * `ipset swap`, so iptables rules that reference it never see a half-filled set.
 */
import { canonicalCidr, cidrFamily } from "./matches";
import type { Family, IpsetSpec } from "./model";
import { parsePortSpec, type RuleSet } from "./schema";

export const TEMP_SUFFIX = "-n";
/** Prefix of every ipset Tollgate owns. */
export const SET_PREFIX = "tg-";

export function namedSetName(name: string, type: RuleSet["type"], family: Family): string {
  if (type === "port") return `tg-sp-${name}`;
  return family === "ipv4" ? `tg-s-${name}` : `tg-s6-${name}`;
}

export function protectedSetName(suffix: string, family: Family): string {
  return family === "ipv4" ? `tg-p-${suffix}` : `tg-p6-${suffix}`;
}

function maxelemFor(n: number): number {
  let m = 65536;
  while (m < n) m *= 2;
  return m;
}

/** ipset specs for one named set: a port bitmap, or one hash:net per family. */
export function namedSetSpecs(name: string, set: RuleSet, ipv6: boolean): IpsetSpec[] {
  if (set.type === "port") {
    const entries = set.entries.map((e) => {
      const [lo, hi] = parsePortSpec(e)!;
      return lo === hi ? String(lo) : `${lo}-${hi}`;
    });
    return [{ name: namedSetName(name, "port", "ipv4"), type: "bitmap:port", entries }];
  }
  const families: Family[] = ipv6 ? ["ipv4", "ipv6"] : ["ipv4"];
  return families.map((family) => {
    const entries = set.entries
      .map(String)
      .filter((e) => cidrFamily(e) === family)
      .map(canonicalCidr);
    return {
      name: namedSetName(name, "net", family),
      type: "hash:net",
      family,
      maxelem: set.maxelem ?? maxelemFor(entries.length),
      entries,
    };
  });
}

function createArgs(spec: IpsetSpec, name: string): string {
  if (spec.type === "bitmap:port") return `create ${name} bitmap:port range 0-65535`;
  const fam = spec.family === "ipv6" ? "inet6" : "inet";
  return `create ${name} hash:net family ${fam} maxelem ${spec.maxelem ?? 65536}`;
}

/**
 * `ipset restore` input that fills every set under a temporary name and swaps it in.
 * `existing` lists sets that already exist (their `create` line is skipped, since `create -exist`
 * refuses a set whose size parameters changed).
 */
export function renderIpsetRestore(
  specs: readonly IpsetSpec[],
  existing: ReadonlySet<string> = new Set(),
): string {
  const lines: string[] = [];
  for (const spec of specs) {
    const tmp = `${spec.name}${TEMP_SUFFIX}`;
    lines.push(`${createArgs(spec, tmp)} -exist`);
    lines.push(`flush ${tmp}`);
    for (const e of spec.entries) lines.push(`add ${tmp} ${e}`);
    if (!existing.has(spec.name)) lines.push(`${createArgs(spec, spec.name)} -exist`);
    lines.push(`swap ${tmp} ${spec.name}`);
    lines.push(`destroy ${tmp}`);
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
