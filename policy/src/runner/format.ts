/** Renders a run for people (text, grouped by policy, hop-by-hop paths) and machines (JSON). */
import type { Policies } from "@pulumi/policy/policy";
import type { RunResult, Violation } from "./runner";
import { SubnetWalk, verdictOf } from "../model/follow";
import type { PacketPath } from "../model/walk";

export interface Report {
  readonly source: string;
  readonly kind: string;
  readonly result: RunResult;
  readonly policies: Policies;
}

function groups(vs: readonly Violation[]): Map<string, Violation[]> {
  const out = new Map<string, Violation[]>();
  for (const v of vs) {
    const list = out.get(v.policyName) ?? [];
    list.push(v);
    out.set(v.policyName, list);
  }
  return out;
}

function counts(vs: readonly Violation[]): { mandatory: number; advisory: number } {
  let mandatory = 0;
  for (const v of vs) if (v.enforcementLevel === "mandatory") mandatory++;
  return { mandatory, advisory: vs.length - mandatory };
}

export function formatText(r: Report): string {
  const { violations } = r.result;
  const byPolicy = groups(violations);
  const meta = new Map(r.policies.map((p) => [p.name, p]));
  const lines: string[] = [
    `Tollgate policy check: ${r.source} (${r.kind}, ${r.result.resourceCount} resources)`,
    "",
  ];
  for (const [name, vs] of byPolicy) {
    const p = meta.get(name);
    const level = vs.every((v) => v.enforcementLevel === vs[0]?.enforcementLevel)
      ? vs[0]?.enforcementLevel
      : "mixed";
    lines.push(
      `${level === "mandatory" ? "✖" : "!"} ${name} [${level}${p?.severity ? `, ${p.severity}` : ""}] — ${vs.length} violation${vs.length > 1 ? "s" : ""}`,
    );
    if (p) lines.push(`  ${p.description}`);
    for (const v of vs) {
      const where = v.resourceName
        ? `${v.resourceName}${v.resourceType ? ` (${v.resourceType})` : ""}`
        : "(stack)";
      const [first, ...rest] = (v.detail || v.message).split("\n");
      lines.push(`  - ${where}: ${first ?? ""}`);
      for (const l of rest) lines.push(`    ${l}`);
    }
    if (p?.remediationSteps) lines.push(`  fix: ${p.remediationSteps}`);
    if (p?.url) lines.push(`  docs: ${p.url}`);
    lines.push("");
  }
  const c = counts(violations);
  const passed = r.policies.length - byPolicy.size;
  lines.push(
    violations.length === 0
      ? `No violations: ${r.policies.length} policies passed.`
      : `${violations.length} violation${violations.length > 1 ? "s" : ""} (${c.mandatory} mandatory, ${c.advisory} advisory) in ${byPolicy.size} polic${byPolicy.size > 1 ? "ies" : "y"}; ${passed} policies passed.`,
  );
  return lines.join("\n");
}

export function formatJson(r: Report): string {
  const c = counts(r.result.violations);
  const meta = new Map(r.policies.map((p) => [p.name, p]));
  return JSON.stringify(
    {
      source: r.source,
      kind: r.kind,
      resources: r.result.resourceCount,
      summary: { violations: r.result.violations.length, ...c, policies: r.policies.length },
      violations: r.result.violations.map((v) => ({
        policy: v.policyName,
        enforcementLevel: v.enforcementLevel,
        severity: v.severity,
        description: v.description,
        remediation: meta.get(v.policyName)?.remediationSteps,
        url: meta.get(v.policyName)?.url,
        urn: v.urn,
        resourceName: v.resourceName,
        resourceType: v.resourceType,
        message: v.detail || v.message,
        path: (v.detail || "")
          .split("\n")
          .map((l) => /^\s+\d+\. (.*)$/.exec(l)?.[1])
          .filter((h): h is string => h !== undefined),
      })),
      notApplicable: r.result.notApplicable,
    },
    null,
    2,
  );
}

/** One walked path with its verdict, in the order {@link formatPacketWalks} prints them. */
export interface WalkedPath {
  readonly topology: "north-south" | "egress" | "spoke";
  readonly path: PacketPath;
  readonly verdict: ReturnType<typeof verdictOf>;
  /** Index in `path.hops` of the first failing hop (undefined when the path has no problem). */
  readonly failingHop?: number;
}

/** Flattens follow-the-packet walks: each outbound path followed by its return paths. */
export function walkedPaths(walks: readonly SubnetWalk[]): WalkedPath[] {
  const out: WalkedPath[] = [];
  for (const w of walks) {
    const topology = w.spoke ? "spoke" : w.subnet.role === "attachment" ? "egress" : "north-south";
    for (const path of [w.outbound.path, ...w.returns]) {
      out.push({ topology, path, verdict: verdictOf(path), failingHop: path.problems[0]?.hop });
    }
  }
  return out;
}

/**
 * Human-readable follow-the-packet report (`npm run plan`): per inspected subnet and direction a
 * verdict line, then the hops, numbered, then the problems found (`!!`).
 */
export function formatPacketWalks(paths: readonly WalkedPath[]): string {
  const lines: string[] = [];
  let last = "";
  for (const { topology, path: p, verdict } of paths) {
    const s = p.subnet;
    const head = `${topology}  ${s.res?.name ?? s.id ?? s.label} (${s.id ?? "id unknown"}, ${s.az ?? "AZ unknown"})`;
    if (head !== last) {
      lines.push("", head);
      last = head;
    }
    const family = p.dest.family === 6 ? "ipv6" : "ipv4";
    lines.push(`  ${p.direction} ${family} to ${p.dest.text}: ${verdict.text}`);
    p.hops.forEach((h, i) => lines.push(`    ${String(i + 1).padStart(2)}. ${h}`));
    for (const x of p.problems) lines.push(`    !! ${x.text}`);
  }
  return lines.join("\n").replace(/^\n/, "") + "\n";
}
