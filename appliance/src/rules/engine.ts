/**
 * The rule engine: plan (diff against live state), apply (one transaction with read-back
 * verification and rollback to the snapshot on any failure), show and remove.
 *
 * Apply order: ipsets (fill + swap) -> iptables-restore --noflush (atomic per commit) ->
 * ip6tables-restore -> tc -> ip rules/routes -> sysctls -> drop stale sets -> verify.
 */
import { promises as fs, statSync } from "node:fs";
import path from "node:path";
import { detectCapabilities } from "./capabilities";
import { compileRules } from "./compile";
import { finalizeRestore, ipsetRollback, restoreDocument } from "./finalize";
import { renderIpsetRestore } from "./ipset";
import { withApplyLock } from "./lock";
import {
  foreignRules,
  ipAddrKey,
  ipRouteKey,
  ipRuleKey,
  parseIptablesSave,
  readLiveState,
  type LiveState,
} from "./live";
import {
  CHAIN_PREFIX,
  FAMILIES,
  ROUTE_PROTO,
  TABLES,
  type Capabilities,
  type CompiledRuleset,
  type EndpointRef,
  type Family,
  type TcSpec,
} from "./model";
import type { LoadedRules } from "./parse";
import { CommandError, runChecked, type CommandRunner } from "./runner";

export interface EngineOptions {
  readonly runner: CommandRunner;
  /** Skip probing (tests, `--capabilities`). */
  readonly capabilities?: Capabilities;
  /** Where the last applied tc filters are recorded (to restore them on rollback). */
  readonly stateFile?: string;
  readonly log?: (message: string) => void;
}

export interface PlanResult {
  readonly compiled: CompiledRuleset;
  readonly changes: number;
  readonly text: string;
}

export interface ApplyResult {
  readonly compiled: CompiledRuleset;
  readonly changes: number;
  readonly ms: number;
  readonly steps: readonly { step: string; ms: number }[];
}

export class ApplyError extends Error {
  constructor(
    message: string,
    readonly rolledBack: boolean,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = "ApplyError";
  }
}

const RESTORE: Record<Family, string> = { ipv4: "iptables-restore", ipv6: "ip6tables-restore" };
export const STATE_DIR = "/run/tollgate";

/**
 * Default state file, one per network namespace (the lock and the tc record must not be shared
 * by appliances running in different namespaces of one host):
 * `/run/tollgate/rules-state.net<namespace inode>.json`.
 */
export function defaultStateFile(): string {
  try {
    return `${STATE_DIR}/rules-state.net${statSync("/proc/self/ns/net").ino}.json`;
  } catch {
    return `${STATE_DIR}/rules-state.json`;
  }
}

/** The state file the daemon inside named namespace `netns` uses (for `--netns`). */
export function stateFileForNetns(netns: string): string {
  try {
    return `${STATE_DIR}/rules-state.net${statSync(`/run/netns/${netns}`).ino}.json`;
  } catch {
    return `${STATE_DIR}/rules-state.${netns}.json`;
  }
}

interface SavedState {
  tc: TcSpec[];
}

function families(compiled: CompiledRuleset): Family[] {
  return compiled.ip6tablesRestore === "" ? ["ipv4"] : ["ipv4", "ipv6"];
}

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

/** Line diff of own chains: desired (generated) vs live (iptables-save). */
function chainDiff(compiled: CompiledRuleset, live: LiveState, fam: Family): string[] {
  const out: string[] = [];
  const doc = fam === "ipv4" ? compiled.iptablesRestore : compiled.ip6tablesRestore;
  const desired = parseIptablesSave(doc.replace(/^-F .*$/gm, ""));
  const have = live.iptables[fam];
  for (const t of TABLES) {
    const names = new Set([...desired.chains[t].keys(), ...have.chains[t].keys()]);
    for (const c of [...names].sort()) {
      const want = desired.chains[t].get(c);
      const got = have.chains[t].get(c)?.map(normaliseRule);
      if (!got) {
        out.push(`  + ${t} ${c} (new chain, ${want!.length} rules)`);
        for (const l of want!) out.push(`    + ${l}`);
        continue;
      }
      if (!want) {
        out.push(`  - ${t} ${c} (chain removed, ${got.length} rules)`);
        continue;
      }
      const gotSet = new Set(got);
      const wantSet = new Set(want);
      const add = want.filter((l) => !gotSet.has(l));
      const del = got.filter((l) => !wantSet.has(l));
      const reordered = add.length === 0 && del.length === 0 && want.join("\n") !== got.join("\n");
      if (add.length || del.length || reordered) {
        out.push(`  ~ ${t} ${c}: +${add.length} -${del.length}${reordered ? " (reordered)" : ""}`);
        for (const l of del) out.push(`    - ${l}`);
        for (const l of add) out.push(`    + ${l}`);
      }
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

function tcDiff(
  compiled: CompiledRuleset,
  live: LiveState,
): { add: TcSpec[]; del: { dev: string; pref: number }[] } {
  const liveKey = new Set(live.tc.map((f) => `${f.dev}/${f.pref}/${f.cookie ?? ""}`));
  const want = compiled.tcSpecs.filter((s) => s.kind === "filter");
  const wantKey = new Set(want.map((s) => `${s.dev}/${s.pref!}/${s.cookie ?? ""}`));
  const add = want.filter((s) => !liveKey.has(`${s.dev}/${s.pref!}/${s.cookie ?? ""}`));
  const del = live.tc.filter((f) => !wantKey.has(`${f.dev}/${f.pref}/${f.cookie ?? ""}`));
  return { add, del };
}

function ipDiff(compiled: CompiledRuleset, live: LiveState) {
  const liveRules = new Set(live.ipRules.map(ipRuleKey));
  const wantRules = new Set(compiled.ipRuleSpecs.map(ipRuleKey));
  const liveRoutes = new Set(live.ipRoutes.map(ipRouteKey));
  const wantRoutes = new Set(compiled.ipRouteSpecs.map(ipRouteKey));
  const liveAddrs = new Set(live.ipAddrs.map(ipAddrKey));
  const wantAddrs = new Set(compiled.ipAddrSpecs.map(ipAddrKey));
  return {
    addAddrs: compiled.ipAddrSpecs.filter((a) => !liveAddrs.has(ipAddrKey(a))),
    delAddrs: live.ipAddrs.filter((a) => !wantAddrs.has(ipAddrKey(a))),
    addRules: compiled.ipRuleSpecs.filter((r) => !liveRules.has(ipRuleKey(r))),
    delRules: live.ipRules.filter((r) => !wantRules.has(ipRuleKey(r))),
    addRoutes: compiled.ipRouteSpecs.filter((r) => !liveRoutes.has(ipRouteKey(r))),
    delRoutes: live.ipRoutes.filter((r) => !wantRoutes.has(ipRouteKey(r))),
  };
}

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

const fl = (f: Family) => (f === "ipv4" ? "-4" : "-6");

export class RulesEngine {
  private caps?: Capabilities;
  private readonly log: (m: string) => void;
  private readonly stateFile: string;

  constructor(private readonly opts: EngineOptions) {
    this.caps = opts.capabilities;
    this.stateFile = opts.stateFile ?? defaultStateFile();
    this.log = opts.log ?? (() => undefined);
  }

  get runner(): CommandRunner {
    return this.opts.runner;
  }

  async capabilities(): Promise<Capabilities> {
    if (!this.caps) this.caps = await detectCapabilities(this.opts.runner);
    return this.caps;
  }

  /** Endpoints whose gwi-X and gwo-X interfaces both exist. */
  async discoverEndpoints(): Promise<EndpointRef[]> {
    const r = await runChecked(this.opts.runner, ["ip", "-j", "link", "show"]);
    const names = new Set(
      (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname),
    );
    return [...names]
      .filter((n) => n.startsWith("gwi-") && names.has(`gwo-${n.slice(4)}`))
      .sort()
      .map((gwi) => ({ gwi, gwo: `gwo-${gwi.slice(4)}` }));
  }

  async compile(loaded: LoadedRules, endpoints: readonly EndpointRef[]): Promise<CompiledRuleset> {
    return compileRules(loaded, endpoints, await this.capabilities());
  }

  private async live(compiled: CompiledRuleset, setContents = true): Promise<LiveState> {
    const caps = await this.capabilities();
    return readLiveState(this.opts.runner, {
      setContents,
      families: caps.ip6tables ? ["ipv4", "ipv6"] : ["ipv4"],
      ipset: caps.ipset,
      devices: compiled.tcSpecs.map((s) => s.dev),
      sysctlKeys: compiled.sysctls.map((s) => s.key),
    });
  }

  /** Compiles and describes every change against the live kernel state, without applying. */
  async plan(loaded: LoadedRules, endpoints: readonly EndpointRef[]): Promise<PlanResult> {
    const compiled = await this.compile(loaded, endpoints);
    const lines: string[] = [];
    for (const n of compiled.notes) lines.push(`note: ${n}`);
    lines.push("endpoints:");
    if (compiled.endpoints.length === 0) lines.push("  (none present)");
    for (const e of compiled.endpoints) {
      const fell = e.mode !== e.requestedMode ? ` (requested ${e.requestedMode})` : "";
      lines.push(
        `  ${e.gwi} -> ${e.gwo}${e.key ? ` [${e.key}]` : ""}: mode ${e.mode}${fell}, zone/mark ${e.zone}, table ${e.table}, ${e.rules} filter rules`,
      );
    }
    if (compiled.errors.length > 0) {
      for (const e of compiled.errors) lines.push(`error: ${e}`);
      return { compiled, changes: -1, text: `${lines.join("\n")}\n` };
    }
    const live = await this.live(compiled);
    let changes = 0;
    for (const fam of families(compiled)) {
      const d = chainDiff(compiled, live, fam);
      lines.push(`${fam === "ipv4" ? "iptables" : "ip6tables"}:${d.length ? "" : " no changes"}`);
      lines.push(...d);
      changes += d.filter((l) => /^ {2}[+~-]/.test(l)).length;
    }
    const liveSets = setContents(live.ipsetSave);
    const wantSets = new Set(compiled.ipsets.map((s) => s.name));
    const setLines: string[] = [];
    for (const s of compiled.ipsets) {
      const have = liveSets.get(s.name);
      const want = [...s.entries].sort().join(",");
      if (have === undefined)
        setLines.push(`  + ${s.name} (${s.type}, ${s.entries.length} entries)`);
      else if (have !== want)
        setLines.push(`  ~ ${s.name} (${s.entries.length} entries, swapped atomically)`);
    }
    for (const n of live.ipsets) if (!wantSets.has(n)) setLines.push(`  - ${n}`);
    lines.push(`ipset:${setLines.length ? "" : " no changes"}`, ...setLines);
    changes += setLines.length;
    const tc = tcDiff(compiled, live);
    const qd = compiled.tcSpecs.filter((s) => s.kind === "qdisc" && !live.ingress.includes(s.dev));
    lines.push(`tc:${tc.add.length + tc.del.length + qd.length ? "" : " no changes"}`);
    for (const q of qd) lines.push(`  + ${q.describe}`);
    for (const d of tc.del) lines.push(`  - ${d.dev}: filter pref ${d.pref}`);
    for (const a of tc.add) lines.push(`  + ${a.describe}`);
    changes += tc.add.length + tc.del.length + qd.length;
    const ip = ipDiff(compiled, live);
    const ipLines = [
      ...ip.delAddrs.map((a) => `  - address ${ipAddrKey(a)}`),
      ...ip.addAddrs.map((a) => `  + address ${ipAddrKey(a)}`),
      ...ip.delRules.map((r) => `  - rule ${ipRuleKey(r)}`),
      ...ip.addRules.map((r) => `  + rule ${ipRuleKey(r)}`),
      ...ip.delRoutes.map((r) => `  - route ${ipRouteKey(r)}`),
      ...ip.addRoutes.map((r) => `  + route ${ipRouteKey(r)}`),
    ];
    lines.push(`ip rule/route:${ipLines.length ? "" : " no changes"}`, ...ipLines);
    changes += ipLines.length;
    const sys = compiled.sysctls.filter((s) => live.sysctls.get(s.key) !== s.value);
    lines.push(`sysctl:${sys.length ? "" : " no changes"}`);
    for (const s of sys)
      lines.push(`  ~ ${s.key}: ${live.sysctls.get(s.key) ?? "(missing)"} -> ${s.value}`);
    changes += sys.length;
    lines.push(changes === 0 ? "Up to date." : `${changes} change(s).`);
    return { compiled, changes, text: `${lines.join("\n")}\n` };
  }

  /**
   * Applies the rules for these endpoints as one transaction. On any failure the previous own
   * state is restored and an ApplyError is thrown; nothing is left half-applied.
   */
  async apply(loaded: LoadedRules, endpoints: readonly EndpointRef[]): Promise<ApplyResult> {
    const compiled = await this.compile(loaded, endpoints);
    if (compiled.errors.length > 0) {
      throw new ApplyError(`rules not applied:\n  ${compiled.errors.join("\n  ")}`, false);
    }
    return this.applyCompiled(compiled);
  }

  /** Applies a compiled ruleset under the apply lock (one applier at a time). */
  async applyCompiled(compiled: CompiledRuleset): Promise<ApplyResult> {
    return withApplyLock(this.stateFile, () => this.applyLocked(compiled));
  }

  private async applyLocked(compiled: CompiledRuleset): Promise<ApplyResult> {
    const t0 = performance.now();
    const steps: { step: string; ms: number }[] = [];
    const caps = await this.capabilities();
    const snapshot = await this.live(compiled);
    steps.push({ step: "snapshot", ms: performance.now() - t0 });
    const runner = this.opts.runner;
    let changes = 0;
    const step = async (name: string, fn: () => Promise<void>) => {
      const s = performance.now();
      await fn();
      steps.push({ step: name, ms: performance.now() - s });
    };
    try {
      if (compiled.ipsets.length > 0) {
        await step("ipset", async () => {
          const doc = renderIpsetRestore(compiled.ipsets, new Set(snapshot.ipsets));
          await runChecked(runner, ["ipset", "restore"], doc);
        });
      }
      for (const fam of families(compiled)) {
        await step(RESTORE[fam], async () => {
          const doc = finalizeRestore(
            fam === "ipv4" ? compiled.iptablesRestore : compiled.ip6tablesRestore,
            compiled.chains[fam],
            compiled.jumps,
            snapshot.iptables[fam],
          );
          await runChecked(runner, [RESTORE[fam], "--noflush"], doc);
        });
      }
      await step("tc", async () => {
        for (const q of compiled.tcSpecs.filter((s) => s.kind === "qdisc")) {
          if (!snapshot.ingress.includes(q.dev)) await runChecked(runner, q.argv);
        }
        const tc = tcDiff(compiled, snapshot);
        for (const d of tc.del) {
          await runChecked(runner, [
            "tc",
            "filter",
            "del",
            "dev",
            d.dev,
            "ingress",
            "pref",
            String(d.pref),
          ]);
        }
        for (const a of tc.add) {
          if (
            snapshot.tc.some((f) => f.dev === a.dev && f.pref === a.pref) &&
            !tc.del.some((d) => d.dev === a.dev && d.pref === a.pref)
          ) {
            await runChecked(runner, [
              "tc",
              "filter",
              "del",
              "dev",
              a.dev,
              "ingress",
              "pref",
              String(a.pref!),
            ]);
          }
          await runChecked(runner, a.argv);
        }
        changes += tc.add.length + tc.del.length;
      });
      await step("ip", async () => {
        const ip = ipDiff(compiled, snapshot);
        for (const a of ip.delAddrs) await runChecked(runner, ipAddrDel(a));
        for (const a of ip.addAddrs) await runChecked(runner, a.argv);
        for (const r of ip.delRules) await runChecked(runner, ipRuleDel(r));
        for (const r of ip.addRules) await runChecked(runner, r.argv);
        for (const r of ip.delRoutes) await runChecked(runner, ipRouteDel(r));
        for (const r of ip.addRoutes) await runChecked(runner, r.argv);
        changes +=
          ip.addAddrs.length +
          ip.delAddrs.length +
          ip.addRules.length +
          ip.delRules.length +
          ip.addRoutes.length +
          ip.delRoutes.length;
      });
      await step("sysctl", async () => {
        for (const s of compiled.sysctls) {
          if (snapshot.sysctls.get(s.key) !== s.value) {
            await runChecked(runner, ["sysctl", "-q", "-w", `${s.key}=${s.value}`]);
            changes++;
          }
        }
      });
      if (caps.ipset) {
        await step("ipset-cleanup", async () => {
          const want = new Set(compiled.ipsets.map((s) => s.name));
          for (const n of snapshot.ipsets) {
            if (!want.has(n)) await runChecked(runner, ["ipset", "destroy", n]);
          }
        });
      }
      await step("verify", () => this.verify(compiled));
      await this.saveState({ tc: compiled.tcSpecs.filter((s) => s.kind === "filter") });
    } catch (err) {
      this.log(`apply failed, rolling back: ${(err as Error).message}`);
      let rolledBack = true;
      try {
        await this.rollback(compiled, snapshot);
      } catch (rbErr) {
        rolledBack = false;
        this.log(`rollback failed: ${(rbErr as Error).message}`);
      }
      throw new ApplyError(
        `apply failed${rolledBack ? " (previous rules restored)" : " AND ROLLBACK FAILED"}: ${(err as Error).message}`,
        rolledBack,
        err,
      );
    }
    return { compiled, changes, ms: performance.now() - t0, steps };
  }

  /** Reads the state back: every own chain has the expected rule count, jumps exactly once, tc and ip rules in place. */
  async verify(compiled: CompiledRuleset): Promise<void> {
    const live = await this.live(compiled, false);
    const problems: string[] = [];
    for (const fam of families(compiled)) {
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
    }
    const tc = tcDiff(compiled, live);
    for (const a of tc.add) problems.push(`tc filter missing: ${a.describe}`);
    for (const d of tc.del) problems.push(`stale tc filter: ${d.dev} pref ${d.pref}`);
    const ip = ipDiff(compiled, live);
    for (const r of ip.addRules) problems.push(`ip rule missing: ${ipRuleKey(r)}`);
    for (const r of ip.delRules) problems.push(`stale ip rule: ${ipRuleKey(r)}`);
    for (const r of ip.addRoutes) problems.push(`ip route missing: ${ipRouteKey(r)}`);
    for (const a of ip.addAddrs) problems.push(`address missing: ${ipAddrKey(a)}`);
    const sets = new Set(live.ipsets);
    for (const s of compiled.ipsets)
      if (!sets.has(s.name)) problems.push(`ipset missing: ${s.name}`);
    if (problems.length > 0) throw new Error(`verification failed: ${problems.join("; ")}`);
  }

  private async rollback(compiled: CompiledRuleset, snapshot: LiveState): Promise<void> {
    const runner = this.opts.runner;
    const now = await this.live(compiled);
    const errors: string[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    if (snapshot.ipsetSave)
      await attempt(() =>
        runChecked(runner, ["ipset", "restore"], ipsetRollback(snapshot.ipsetSave)),
      );
    for (const fam of families(compiled)) {
      const doc = restoreDocument(snapshot.iptables[fam], compiled.jumps, now.iptables[fam]);
      if (doc) await attempt(() => runChecked(runner, [RESTORE[fam], "--noflush"], doc));
    }
    // tc: drop what is there now, re-add what was recorded for the snapshot's filters.
    const saved = await this.loadState();
    const snapKeys = new Set(snapshot.tc.map((f) => `${f.dev}/${f.pref}/${f.cookie ?? ""}`));
    const nowKeys = new Set(now.tc.map((f) => `${f.dev}/${f.pref}/${f.cookie ?? ""}`));
    for (const f of now.tc) {
      if (!snapKeys.has(`${f.dev}/${f.pref}/${f.cookie ?? ""}`)) {
        await attempt(() =>
          runChecked(runner, [
            "tc",
            "filter",
            "del",
            "dev",
            f.dev,
            "ingress",
            "pref",
            String(f.pref),
          ]),
        );
      }
    }
    for (const f of snapshot.tc) {
      const key = `${f.dev}/${f.pref}/${f.cookie ?? ""}`;
      if (nowKeys.has(key)) continue;
      const spec = saved?.tc.find((s) => `${s.dev}/${s.pref!}/${s.cookie ?? ""}` === key);
      if (spec) await attempt(() => runChecked(runner, spec.argv));
      else errors.push(`cannot restore tc filter ${f.dev} pref ${f.pref} (not recorded)`);
    }
    // Delete what is there now but was not in the snapshot, then add back what is missing.
    const restoreList = async <T>(
      before: readonly T[],
      current: readonly T[],
      key: (x: T) => string,
      del: (x: T) => string[],
      add: (x: T) => string[],
    ): Promise<void> => {
      const had = new Set(before.map(key));
      const has = new Set(current.map(key));
      for (const x of current)
        if (!had.has(key(x))) await attempt(() => runChecked(runner, del(x)));
      for (const x of before) if (!has.has(key(x))) await attempt(() => runChecked(runner, add(x)));
    };
    await restoreList(snapshot.ipRules, now.ipRules, ipRuleKey, ipRuleDel, ipRuleAdd);
    await restoreList(snapshot.ipAddrs, now.ipAddrs, ipAddrKey, ipAddrDel, ipAddrAdd);
    await restoreList(snapshot.ipRoutes, now.ipRoutes, ipRouteKey, ipRouteDel, ipRouteAdd);
    for (const [key, value] of snapshot.sysctls) {
      if (now.sysctls.get(key) !== value)
        await attempt(() => runChecked(runner, ["sysctl", "-q", "-w", `${key}=${value}`]));
    }
    const snapSets = new Set(snapshot.ipsets);
    for (const n of now.ipsets)
      if (!snapSets.has(n)) await attempt(() => runChecked(runner, ["ipset", "destroy", n]));
    if (errors.length > 0) throw new Error(errors.join("; "));
  }

  /** Removes every trace of Tollgate's rules (chains, jumps, sets, tc filters, ip rules/routes). */
  async remove(): Promise<void> {
    const empty: LoadedRules = { file: { version: 1, defaults: {} }, endpoints: new Map() };
    const compiled = await this.compile(empty, []);
    const live = await this.live(compiled);
    const runner = this.opts.runner;
    for (const fam of families(compiled)) {
      const none = parseIptablesSave("");
      const doc = restoreDocument(none, compiled.jumps, live.iptables[fam]);
      if (doc) await runChecked(runner, [RESTORE[fam], "--noflush"], doc);
    }
    for (const f of live.tc)
      await runChecked(runner, [
        "tc",
        "filter",
        "del",
        "dev",
        f.dev,
        "ingress",
        "pref",
        String(f.pref),
      ]);
    for (const r of live.ipRules) await runChecked(runner, ipRuleDel(r));
    for (const r of live.ipRoutes) await runChecked(runner, ipRouteDel(r));
    for (const a of live.ipAddrs) await runChecked(runner, ipAddrDel(a));
    for (const n of live.ipsets) await runChecked(runner, ["ipset", "destroy", n]);
  }

  /** Human-readable dump of the live own state. */
  async show(): Promise<string> {
    const caps = await this.capabilities();
    const empty: LoadedRules = { file: { version: 1 }, endpoints: new Map() };
    const live = await this.live(compileRules(empty, [], caps));
    const lines: string[] = [];
    for (const fam of FAMILIES) {
      if (fam === "ipv6" && !caps.ip6tables) continue;
      lines.push(`# ${fam === "ipv4" ? "iptables" : "ip6tables"} (own chains)`);
      for (const t of TABLES) {
        const st = live.iptables[fam];
        if (st.chains[t].size === 0) continue;
        lines.push(`*${t}`);
        for (const [k, n] of st.jumps[t]) lines.push(`# jump ${k.replace(" ", " -> ")} x${n}`);
        for (const [c, rules] of st.chains[t]) {
          lines.push(`:${c}`);
          lines.push(...rules);
        }
      }
    }
    lines.push("# ipsets");
    for (const l of live.ipsetSave.split("\n")) if (l.startsWith("create")) lines.push(l);
    lines.push("# tc (own ingress filters)");
    for (const f of live.tc)
      lines.push(`${f.dev} pref ${f.pref} protocol ${f.protocol} cookie ${f.cookie ?? "-"}`);
    lines.push(`# ip rules/routes (proto ${ROUTE_PROTO})`);
    for (const r of live.ipRules) lines.push(`rule ${ipRuleKey(r)}`);
    for (const r of live.ipRoutes) lines.push(`route ${ipRouteKey(r)}`);
    for (const a of live.ipAddrs) lines.push(`address ${ipAddrKey(a)}`);
    return `${lines.join("\n")}\n`;
  }

  private async saveState(state: SavedState): Promise<void> {
    const file = this.stateFile;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, JSON.stringify(state));
    } catch (e) {
      this.log(`cannot record state in ${file}: ${(e as Error).message}`);
    }
  }

  private async loadState(): Promise<SavedState | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.stateFile, "utf8")) as SavedState;
    } catch {
      return undefined;
    }
  }
}

function ipAddrDel(a: { family: Family; dev: string; address: string }): string[] {
  return ["ip", fl(a.family), "addr", "del", a.address, "dev", a.dev];
}
function ipAddrAdd(a: { family: Family; dev: string; address: string }): string[] {
  return [
    "ip",
    fl(a.family),
    "addr",
    "replace",
    a.address,
    "dev",
    a.dev,
    ...(a.family === "ipv6" ? ["nodad"] : ["scope", "link"]),
  ];
}
function ipRuleSel(r: { pref: number; iif?: string; fwmark?: string; table: string }): string[] {
  return [
    "pref",
    String(r.pref),
    ...(r.iif ? ["iif", r.iif] : []),
    ...(r.fwmark ? ["fwmark", r.fwmark] : []),
    "lookup",
    r.table,
    "proto",
    String(ROUTE_PROTO),
  ];
}
function ipRuleDel(r: {
  family: Family;
  pref: number;
  iif?: string;
  fwmark?: string;
  table: string;
}): string[] {
  return ["ip", fl(r.family), "rule", "del", ...ipRuleSel(r)];
}
function ipRuleAdd(r: {
  family: Family;
  pref: number;
  iif?: string;
  fwmark?: string;
  table: string;
}): string[] {
  return ["ip", fl(r.family), "rule", "add", ...ipRuleSel(r)];
}
function ipRouteSel(r: {
  type: string;
  dst: string;
  dev: string;
  table: string | number;
}): string[] {
  return [
    r.type === "local" ? "local" : "unicast",
    r.dst,
    "dev",
    r.dev,
    "table",
    String(r.table),
    "proto",
    String(ROUTE_PROTO),
  ];
}
function ipRouteDel(r: {
  family: Family;
  type: string;
  dst: string;
  dev: string;
  table: string | number;
}): string[] {
  return ["ip", fl(r.family), "route", "del", ...ipRouteSel(r)];
}
function ipRouteAdd(r: {
  family: Family;
  type: string;
  dst: string;
  dev: string;
  table: string | number;
}): string[] {
  return ["ip", fl(r.family), "route", "replace", ...ipRouteSel(r)];
}

export { CommandError, foreignRules, CHAIN_PREFIX };
