/**
 * Every kind of kernel state Tollgate owns, as one table (`RESOURCE_KINDS`, in apply order): for
 * each kind, what `plan` shows, the commands `apply` runs, what `verify` checks after applying,
 * the commands that roll it back to a snapshot and the commands that remove it. Pure: the
 * engine (engine.ts) reads the live state, runs the commands and keeps the transaction.
 */
import {
  ipAddrArgv,
  ipRouteArgv,
  ipRuleArgv,
  ipsetDestroyArgv,
  sysctlArgv,
  tcFilterDelArgv,
} from "./commands";
import { finalizeRestore, ipsetRollback, restoreDocument } from "./finalize";
import { renderIpsetRestore } from "./ipset";
import {
  emptyOwnState,
  ipAddrKey,
  ipRouteKey,
  ipRuleKey,
  parseIptablesSave,
  type LiveState,
  type LiveTcFilter,
} from "./live";
import { TABLES, type Capabilities, type CompiledRuleset, type Family, type TcSpec } from "./model";

/** One command: argv, and what goes to its stdin. */
export interface Command {
  readonly argv: readonly string[];
  readonly input?: string;
}

/** What the engine records after a successful apply (tc filters cannot be read back as commands). */
export interface SavedState {
  tc: TcSpec[];
}

/** What rolling back works from: the snapshot taken before apply and the state now. */
export interface RollbackInput {
  readonly compiled: CompiledRuleset;
  readonly snapshot: LiveState;
  readonly now: LiveState;
  /** The state recorded by the last successful apply. */
  readonly saved?: SavedState;
}

export interface ResourceKind {
  /** Its apply step (ApplyResult.steps). */
  readonly step: string;
  /** Its section of `plan` output (see PLAN_SECTIONS). */
  readonly section: string;
  /** False when it takes no part at all (IPv6 without ip6tables; sets without ipset). */
  inUse?(compiled: CompiledRuleset, caps: Capabilities): boolean;
  /** Change lines, each "  + ", "  - " or "  ~ " (one change each) with optional detail lines. */
  plan(compiled: CompiledRuleset, live: LiveState): string[];
  /**
   * Commands taking the live state (the snapshot) to the desired one, and how many changes
   * they count; undefined when the step does not run.
   */
  apply(
    compiled: CompiledRuleset,
    snapshot: LiveState,
  ): { commands: Command[]; changes: number } | undefined;
  /** Problems in the state read back after apply. */
  verify(compiled: CompiledRuleset, live: LiveState): string[];
  /** Commands putting the snapshot back (each attempted), and what cannot be put back. */
  rollback(r: RollbackInput): { commands: Command[]; errors: string[] };
  /** Commands removing every trace of it. */
  remove(compiled: CompiledRuleset, live: LiveState): Command[];
}

const run = (argv: readonly string[], input?: string): Command => ({ argv, input });

/** Items of `items` whose key is not among `others`' keys. */
function missingFrom<T, U>(items: readonly T[], others: readonly U[], key: (x: T | U) => string) {
  const have = new Set(others.map(key));
  return items.filter((x) => !have.has(key(x)));
}

// ---------------------------------------------------------------------------------------------
// ipsets: filled under a temporary name and swapped in (first: rules may reference them), and
// stale ones destroyed (last: once no rule references them).

function setContents(save: string): Map<string, string> {
  const sets = new Map<string, string[]>();
  for (const line of save.split("\n")) {
    const m = /^add (\S+) (.*)$/.exec(line);
    if (m) sets.get(m[1]!)?.push(m[2]!);
    const c = /^create (\S+)/.exec(line);
    if (c) sets.set(c[1]!, []);
  }
  return new Map([...sets].map(([k, v]) => [k, [...v].sort().join(",")]));
}

const ipsets: ResourceKind = {
  step: "ipset",
  section: "ipset",
  plan(compiled, live) {
    const liveSets = setContents(live.ipsetSave);
    const lines: string[] = [];
    for (const s of compiled.ipsets) {
      const have = liveSets.get(s.name);
      if (have === undefined) lines.push(`  + ${s.name} (${s.type}, ${s.entries.length} entries)`);
      else if (have !== [...s.entries].sort().join(","))
        lines.push(`  ~ ${s.name} (${s.entries.length} entries, swapped atomically)`);
    }
    return lines;
  },
  apply(compiled, snapshot) {
    if (compiled.ipsets.length === 0) return undefined;
    const doc = renderIpsetRestore(compiled.ipsets, new Set(snapshot.ipsets));
    return { commands: [run(["ipset", "restore"], doc)], changes: 0 };
  },
  verify(compiled, live) {
    const sets = new Set(live.ipsets);
    return compiled.ipsets.filter((s) => !sets.has(s.name)).map((s) => `ipset missing: ${s.name}`);
  },
  rollback({ snapshot }) {
    const commands = snapshot.ipsetSave
      ? [run(["ipset", "restore"], ipsetRollback(snapshot.ipsetSave))]
      : [];
    return { commands, errors: [] };
  },
  remove: () => [],
};

/** Own sets present in `live` that the compiled rules no longer use. */
function staleSets(compiled: CompiledRuleset, live: LiveState): string[] {
  const want = new Set(compiled.ipsets.map((s) => s.name));
  return live.ipsets.filter((n) => !want.has(n));
}

const staleIpsets: ResourceKind = {
  step: "ipset-cleanup",
  section: "ipset",
  inUse: (_, caps) => caps.ipset,
  plan: (compiled, live) => staleSets(compiled, live).map((n) => `  - ${n}`),
  apply: (compiled, snapshot) => ({
    commands: staleSets(compiled, snapshot).map((n) => run(ipsetDestroyArgv(n))),
    changes: 0,
  }),
  verify: () => [],
  rollback({ snapshot, now }) {
    const before = new Set(snapshot.ipsets);
    const added = now.ipsets.filter((n) => !before.has(n));
    return { commands: added.map((n) => run(ipsetDestroyArgv(n))), errors: [] };
  },
  remove: (_, live) => live.ipsets.map((n) => run(ipsetDestroyArgv(n))),
};

// ---------------------------------------------------------------------------------------------
// iptables / ip6tables: one restore document per family (atomic per table).

export const RESTORE: Record<Family, string> = {
  ipv4: "iptables-restore",
  ipv6: "ip6tables-restore",
};

/** Protocol names iptables-save takes from /etc/protocols; the compiler writes numbers. */
const PROTO_NAMES: Record<string, string> = {
  igmp: "2",
  ipencap: "4",
  ipv6: "41",
  gre: "47",
  pim: "103",
  vrrp: "112",
  l2tp: "115",
};

/** Normalises an iptables-save line for comparison with generated lines. */
export function normaliseRule(line: string): string {
  return line.replace(/ -p ([a-z][a-z0-9-]*)/, (m, name: string) =>
    PROTO_NAMES[name] ? ` -p ${PROTO_NAMES[name]}` : m,
  );
}

/** The compiled iptables-restore document of a family (empty for IPv6 without ip6tables). */
export function restoreDoc(compiled: CompiledRuleset, fam: Family): string {
  return fam === "ipv4" ? compiled.iptablesRestore : compiled.ip6tablesRestore;
}

/** Plan lines for one chain: new, removed, or rules added/deleted/reordered. */
function chainChange(
  t: string,
  c: string,
  want: readonly string[] | undefined,
  got: readonly string[] | undefined,
): string[] {
  if (!got)
    return [`  + ${t} ${c} (new chain, ${want!.length} rules)`, ...want!.map((l) => `    + ${l}`)];
  if (!want) return [`  - ${t} ${c} (chain removed, ${got.length} rules)`];
  const gotSet = new Set(got);
  const wantSet = new Set(want);
  const add = want.filter((l) => !gotSet.has(l));
  const del = got.filter((l) => !wantSet.has(l));
  const reordered = add.length === 0 && del.length === 0 && want.join("\n") !== got.join("\n");
  if (!add.length && !del.length && !reordered) return [];
  return [
    `  ~ ${t} ${c}: +${add.length} -${del.length}${reordered ? " (reordered)" : ""}`,
    ...del.map((l) => `    - ${l}`),
    ...add.map((l) => `    + ${l}`),
  ];
}

/** Line diff of own chains: desired (generated) vs live (iptables-save), then the jumps. */
function chainDiff(compiled: CompiledRuleset, live: LiveState, fam: Family): string[] {
  const out: string[] = [];
  const desired = parseIptablesSave(restoreDoc(compiled, fam).replace(/^-F .*$/gm, ""));
  const have = live.iptables[fam];
  for (const t of TABLES) {
    const names = new Set([...desired.chains[t].keys(), ...have.chains[t].keys()]);
    for (const c of [...names].sort()) {
      const got = have.chains[t].get(c)?.map(normaliseRule);
      out.push(...chainChange(t, c, desired.chains[t].get(c), got));
    }
    for (const j of compiled.jumps.filter((j) => j.table === t)) {
      const n = have.jumps[t].get(`${j.from} ${j.to}`) ?? 0;
      if (n !== 1)
        out.push(
          `  ${n === 0 ? "+" : "~"} ${t} jump ${j.from} -> ${j.to} (present ${n}x, want 1x)`,
        );
    }
  }
  return out;
}

/** Every own chain has the expected rule count, no stale chain, each jump exactly once. */
function verifyChains(compiled: CompiledRuleset, live: LiveState, fam: Family): string[] {
  const problems: string[] = [];
  const st = live.iptables[fam];
  for (const t of TABLES) {
    for (const c of compiled.chains[fam][t]) {
      const want = compiled.ruleCounts[fam][`${t}/${c}`] ?? 0;
      const got = st.chains[t].get(c)?.length;
      if (got !== want)
        problems.push(`${fam} ${t} ${c}: ${got ?? "missing"} rules, expected ${want}`);
    }
    for (const c of st.chains[t].keys()) {
      if (!compiled.chains[fam][t].includes(c))
        problems.push(`${fam} ${t} ${c}: stale chain still present`);
    }
    for (const j of compiled.jumps.filter((j) => j.table === t)) {
      const n = st.jumps[t].get(`${j.from} ${j.to}`) ?? 0;
      if (n !== 1) problems.push(`${fam} ${t}: jump ${j.from} -> ${j.to} present ${n} times`);
    }
  }
  return problems;
}

function iptables(fam: Family): ResourceKind {
  const restore = (doc: string) => (doc ? [run([RESTORE[fam], "--noflush"], doc)] : []);
  return {
    step: RESTORE[fam],
    section: fam === "ipv4" ? "iptables" : "ip6tables",
    // The compiler leaves the IPv6 document empty when ip6tables is missing.
    inUse: (compiled) => fam === "ipv4" || restoreDoc(compiled, fam) !== "",
    plan: (compiled, live) => chainDiff(compiled, live, fam),
    apply(compiled, snapshot) {
      const doc = finalizeRestore(
        restoreDoc(compiled, fam),
        compiled.chains[fam],
        compiled.jumps,
        snapshot.iptables[fam],
      );
      return { commands: restore(doc), changes: 0 };
    },
    verify: (compiled, live) => verifyChains(compiled, live, fam),
    rollback: ({ compiled, snapshot, now }) => ({
      commands: restore(restoreDocument(snapshot.iptables[fam], compiled.jumps, now.iptables[fam])),
      errors: [],
    }),
    remove: (compiled, live) =>
      restore(restoreDocument(emptyOwnState(), compiled.jumps, live.iptables[fam])),
  };
}

// ---------------------------------------------------------------------------------------------
// tc: ingress qdiscs and own filters (preference range, identified by their action cookie).

/** Identity of a tc filter: device, preference and cookie. */
export function tcKey(f: { dev: string; pref?: number; cookie?: string }): string {
  return `${f.dev}/${f.pref}/${f.cookie ?? ""}`;
}

function tcDiff(compiled: CompiledRuleset, live: LiveState) {
  const want = compiled.tcSpecs.filter((s) => s.kind === "filter");
  return { add: missingFrom(want, live.tc, tcKey), del: missingFrom(live.tc, want, tcKey) };
}

function missingQdiscs(compiled: CompiledRuleset, live: LiveState): TcSpec[] {
  return compiled.tcSpecs.filter((s) => s.kind === "qdisc" && !live.ingress.includes(s.dev));
}

const tc: ResourceKind = {
  step: "tc",
  section: "tc",
  plan(compiled, live) {
    const { add, del } = tcDiff(compiled, live);
    return [
      ...missingQdiscs(compiled, live).map((q) => `  + ${q.describe}`),
      ...del.map((d) => `  - ${d.dev}: filter pref ${d.pref}`),
      ...add.map((a) => `  + ${a.describe}`),
    ];
  },
  apply(compiled, snapshot) {
    const { add, del } = tcDiff(compiled, snapshot);
    // A changed filter at a preference that is kept must go before its replacement is added.
    const samePref = (a: { dev: string; pref?: number }) => (f: LiveTcFilter) =>
      f.dev === a.dev && f.pref === a.pref;
    const replaced = (a: TcSpec) =>
      snapshot.tc.some(samePref(a)) && !del.some(samePref(a))
        ? [run(tcFilterDelArgv({ dev: a.dev, pref: a.pref! }))]
        : [];
    const commands = [
      ...missingQdiscs(compiled, snapshot).map((q) => run(q.argv)),
      ...del.map((d) => run(tcFilterDelArgv(d))),
      ...add.flatMap((a) => [...replaced(a), run(a.argv)]),
    ];
    return { commands, changes: add.length + del.length };
  },
  verify(compiled, live) {
    const { add, del } = tcDiff(compiled, live);
    return [
      ...add.map((a) => `tc filter missing: ${a.describe}`),
      ...del.map((d) => `stale tc filter: ${d.dev} pref ${d.pref}`),
    ];
  },
  // Drop what is there now, re-add what was recorded for the snapshot's filters.
  rollback({ snapshot, now, saved }) {
    const commands = missingFrom(now.tc, snapshot.tc, tcKey).map((f) => run(tcFilterDelArgv(f)));
    const errors: string[] = [];
    for (const f of missingFrom(snapshot.tc, now.tc, tcKey)) {
      const spec = saved?.tc.find((s) => tcKey(s) === tcKey(f));
      if (spec) commands.push(run(spec.argv));
      else errors.push(`cannot restore tc filter ${f.dev} pref ${f.pref} (not recorded)`);
    }
    return { commands, errors };
  },
  remove: (_, live) => live.tc.map((f) => run(tcFilterDelArgv(f))),
};

// ---------------------------------------------------------------------------------------------
// ip addresses, rules and routes: lists of items identified by a key.

interface ListKind<T> {
  /** Noun in plan output ("rule") and in verification problems ("ip rule"). */
  readonly noun: string;
  readonly problemNoun: string;
  /** Whether an item still present that should not be is a verification problem. */
  readonly staleIsProblem: boolean;
  key(x: T): string;
  desired(c: CompiledRuleset): readonly (T & { argv: readonly string[] })[];
  live(l: LiveState): readonly T[];
  /** Adds a live item back (rollback). */
  add(x: T): string[];
  del(x: T): string[];
}

function listKind<T>(k: ListKind<T>): ResourceKind {
  const diff = (c: CompiledRuleset, l: LiveState) => ({
    add: missingFrom(k.desired(c), k.live(l), k.key),
    del: missingFrom(k.live(l), k.desired(c), k.key),
  });
  return {
    step: "ip",
    section: "ip rule/route",
    plan(compiled, live) {
      const { add, del } = diff(compiled, live);
      return [
        ...del.map((x) => `  - ${k.noun} ${k.key(x)}`),
        ...add.map((x) => `  + ${k.noun} ${k.key(x)}`),
      ];
    },
    apply(compiled, snapshot) {
      const { add, del } = diff(compiled, snapshot);
      const commands = [...del.map((x) => run(k.del(x))), ...add.map((x) => run(x.argv))];
      return { commands, changes: add.length + del.length };
    },
    verify(compiled, live) {
      const { add, del } = diff(compiled, live);
      return [
        ...add.map((x) => `${k.problemNoun} missing: ${k.key(x)}`),
        ...(k.staleIsProblem ? del.map((x) => `stale ${k.problemNoun}: ${k.key(x)}`) : []),
      ];
    },
    // Delete what is there now but was not in the snapshot, then add back what is missing.
    rollback: ({ snapshot, now }) => ({
      commands: [
        ...missingFrom(k.live(now), k.live(snapshot), k.key).map((x) => run(k.del(x))),
        ...missingFrom(k.live(snapshot), k.live(now), k.key).map((x) => run(k.add(x))),
      ],
      errors: [],
    }),
    remove: (_, live) => k.live(live).map((x) => run(k.del(x))),
  };
}

const ipAddrs = listKind({
  noun: "address",
  problemNoun: "address",
  staleIsProblem: false,
  key: ipAddrKey,
  desired: (c) => c.ipAddrSpecs,
  live: (l) => l.ipAddrs,
  add: (a) => ipAddrArgv("replace", a),
  del: (a) => ipAddrArgv("del", a),
});

const ipRules = listKind({
  noun: "rule",
  problemNoun: "ip rule",
  staleIsProblem: true,
  key: ipRuleKey,
  desired: (c) => c.ipRuleSpecs,
  live: (l) => l.ipRules,
  add: (r) => ipRuleArgv("add", r),
  del: (r) => ipRuleArgv("del", r),
});

const ipRoutes = listKind({
  noun: "route",
  problemNoun: "ip route",
  staleIsProblem: false,
  key: ipRouteKey,
  desired: (c) => c.ipRouteSpecs,
  live: (l) => l.ipRoutes,
  add: (r) => ipRouteArgv("replace", r),
  del: (r) => ipRouteArgv("del", r),
});

// ---------------------------------------------------------------------------------------------
// sysctls: set where they differ; rollback puts the snapshot's values back.

const sysctls: ResourceKind = {
  step: "sysctl",
  section: "sysctl",
  plan(compiled, live) {
    return compiled.sysctls
      .filter((s) => live.sysctls.get(s.key) !== s.value)
      .map((s) => `  ~ ${s.key}: ${live.sysctls.get(s.key) ?? "(missing)"} -> ${s.value}`);
  },
  apply(compiled, snapshot) {
    const differ = compiled.sysctls.filter((s) => snapshot.sysctls.get(s.key) !== s.value);
    return { commands: differ.map((s) => run(sysctlArgv(s))), changes: differ.length };
  },
  verify: () => [],
  rollback: ({ snapshot, now }) => ({
    commands: [...snapshot.sysctls]
      .filter(([key, value]) => now.sysctls.get(key) !== value)
      .map(([key, value]) => run(sysctlArgv({ key, value }))),
    errors: [],
  }),
  remove: () => [],
};

/**
 * Every resource kind, in apply order: sets before the rules that reference them, iptables
 * (atomic per table), tc, ip addresses/rules/routes, sysctls, stale sets last.
 */
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  ipsets,
  iptables("ipv4"),
  iptables("ipv6"),
  tc,
  ipAddrs,
  ipRules,
  ipRoutes,
  sysctls,
  staleIpsets,
];

/** Order of the sections in `plan` output. */
export const PLAN_SECTIONS: readonly string[] = [
  "iptables",
  "ip6tables",
  "ipset",
  "tc",
  "ip rule/route",
  "sysctl",
];
