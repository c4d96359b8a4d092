/**
 * The rule engine: plan (diff against live state), apply (one transaction with read-back
 * verification and rollback to the snapshot on any failure), show and remove.
 *
 * Apply order: ipsets (fill + swap) -> iptables-restore --noflush (atomic per commit) ->
 * ip6tables-restore -> tc -> ip rules/routes -> sysctls -> drop stale sets -> verify.
 * What each kind of resource does in each phase is one row of RESOURCE_KINDS (resources.ts);
 * this file reads the live state, runs the commands and keeps the transaction.
 */
import { promises as fs, statSync } from "node:fs";
import path from "node:path";
import { detectCapabilities } from "./capabilities";
import { compileRules } from "./compile";
import { resolveUplink, withUplinkMessages } from "./uplink";
import { withApplyLock } from "./lock";
import {
  foreignRules,
  ipAddrKey,
  ipRouteKey,
  ipRuleKey,
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
} from "./model";
import type { LoadedRules } from "./parse";
import {
  PLAN_SECTIONS,
  RESOURCE_KINDS,
  normaliseRule,
  type Command,
  type ResourceKind,
  type SavedState,
} from "./resources";
import { CommandError, runChecked, type CommandRunner } from "../command";

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

export const STATE_DIR = "/run/tollgate";

/** One line per compiled endpoint: names, mode (and the requested one if it fell back), zone. */
export function endpointLines(compiled: CompiledRuleset): string[] {
  const lines = ["endpoints:"];
  if (compiled.endpoints.length === 0) lines.push("  (none present)");
  for (const e of compiled.endpoints) {
    const fell = e.mode !== e.requestedMode ? ` (requested ${e.requestedMode})` : "";
    lines.push(
      `  ${e.gwi} -> ${e.gwo}${e.key ? ` [${e.key}]` : ""}: mode ${e.mode}${fell}, zone/mark ${e.zone}, table ${e.table}, ${e.rules} filter rules`,
    );
  }
  return lines;
}

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

  /** Compiles for these endpoints, with the egress-nat uplink from the default route if needed. */
  async compile(loaded: LoadedRules, endpoints: readonly EndpointRef[]): Promise<CompiledRuleset> {
    const uplink = await resolveUplink(loaded, endpoints, this.opts.runner);
    const c = compileRules(uplink.loaded, endpoints, await this.capabilities());
    return withUplinkMessages(c, uplink);
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

  /**
   * Compiles and describes every change against the live kernel state, without applying. With
   * `readLive: false` (no root: iptables-save and ipset cannot be read) it describes what was
   * compiled and says that the comparison was skipped.
   */
  async plan(
    loaded: LoadedRules,
    endpoints: readonly EndpointRef[],
    { readLive = true }: { readLive?: boolean } = {},
  ): Promise<PlanResult> {
    const compiled = await this.compile(loaded, endpoints);
    const lines = [...compiled.notes.map((n) => `note: ${n}`), ...endpointLines(compiled)];
    if (compiled.errors.length > 0) {
      for (const e of compiled.errors) lines.push(`error: ${e}`);
      return { compiled, changes: -1, text: `${lines.join("\n")}\n` };
    }
    if (!readLive) {
      lines.push(
        "live state: not read (iptables-save and ipset need root): run as root to see what apply would change",
      );
      return { compiled, changes: 0, text: `${lines.join("\n")}\n` };
    }
    const live = await this.live(compiled);
    const caps = await this.capabilities();
    let changes = 0;
    for (const section of PLAN_SECTIONS) {
      const kinds = this.kinds(compiled, caps).filter((k) => k.section === section);
      if (kinds.length === 0) continue;
      const body = kinds.flatMap((k) => k.plan(compiled, live));
      lines.push(`${section}:${body.length ? "" : " no changes"}`, ...body);
      changes += body.filter((l) => /^ {2}[+~-]/.test(l)).length;
    }
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

  /** The resource kinds that take part for this ruleset, in apply order. */
  private kinds(compiled: CompiledRuleset, caps: Capabilities): ResourceKind[] {
    return RESOURCE_KINDS.filter((k) => k.inUse?.(compiled, caps) ?? true);
  }

  private async applyLocked(compiled: CompiledRuleset): Promise<ApplyResult> {
    const t0 = performance.now();
    const steps: { step: string; ms: number }[] = [];
    const caps = await this.capabilities();
    const snapshot = await this.live(compiled);
    steps.push({ step: "snapshot", ms: performance.now() - t0 });
    let changes = 0;
    try {
      for (const kind of this.kinds(compiled, caps)) {
        const start = performance.now();
        const todo = kind.apply(compiled, snapshot);
        if (!todo) continue;
        for (const c of todo.commands) await runChecked(this.opts.runner, c.argv, c.input);
        changes += todo.changes;
        steps.push({ step: kind.step, ms: performance.now() - start });
      }
      const start = performance.now();
      await this.verify(compiled);
      steps.push({ step: "verify", ms: performance.now() - start });
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
    return { compiled, changes, ms: performance.now() - t0, steps: mergeSteps(steps) };
  }

  /** Reads the state back: every own chain has the expected rule count, jumps exactly once, tc and ip rules in place. */
  async verify(compiled: CompiledRuleset): Promise<void> {
    const live = await this.live(compiled, false);
    const caps = await this.capabilities();
    const problems = this.kinds(compiled, caps).flatMap((k) => k.verify(compiled, live));
    if (problems.length > 0) throw new Error(`verification failed: ${problems.join("; ")}`);
  }

  /** Puts every kind back to the snapshot, attempting every command; throws what failed. */
  private async rollback(compiled: CompiledRuleset, snapshot: LiveState): Promise<void> {
    const now = await this.live(compiled);
    const saved = await this.loadState();
    const caps = await this.capabilities();
    const errors: string[] = [];
    for (const kind of this.kinds(compiled, caps)) {
      const todo = kind.rollback({ compiled, snapshot, now, saved });
      for (const c of todo.commands) {
        try {
          await runChecked(this.opts.runner, c.argv, c.input);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      errors.push(...todo.errors);
    }
    if (errors.length > 0) throw new Error(errors.join("; "));
  }

  /** Removes every trace of Tollgate's rules (chains, jumps, sets, tc filters, ip rules/routes). */
  async remove(): Promise<void> {
    const empty: LoadedRules = { file: { version: 1, defaults: {} }, endpoints: new Map() };
    const compiled = await this.compile(empty, []);
    const live = await this.live(compiled);
    const commands: Command[] = this.kinds(compiled, await this.capabilities()).flatMap((k) =>
      k.remove(compiled, live),
    );
    for (const c of commands) await runChecked(this.opts.runner, c.argv, c.input);
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

/** Steps of the same name that follow each other (the ip address, rule and route kinds) as one. */
function mergeSteps(steps: { step: string; ms: number }[]): { step: string; ms: number }[] {
  const out: { step: string; ms: number }[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (last?.step === s.step) last.ms += s.ms;
    else out.push({ ...s });
  }
  return out;
}

export { CommandError, foreignRules, normaliseRule, CHAIN_PREFIX };
