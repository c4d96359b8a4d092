/**
 * Suricata as a managed part of the appliance. On every valid rules file (start-up, change,
 * SIGHUP) the rules listener calls `update`: render the configuration and rules
 * (render.ts), test them with `suricata -T` in a scratch directory (a file Suricata refuses
 * changes nothing), write them, then either (re)start Suricata under the supervisor (first
 * start, or the configuration itself changed) or reload its rules over the unix socket
 * (`reload-rules`: Suricata keeps inspecting with the old rules meanwhile, nothing is dropped).
 * `ids` mode also creates the monitor link (a veth pair) Suricata reads.
 *
 * Health (stage `suricata`) and metrics say which state the appliance is in: inspecting, down
 * with traffic dropped (ips, failure: closed), or fail-open active (ips, failure: open).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { runChecked, type CommandRunner } from "../command";
import type { HealthCheckResult } from "../health/status";
import type { LoadedRules } from "../rules/parse";
import { MONITOR_LINK, type SuricataSection } from "./inspect";
import {
  CONFIG_FILE_NAME,
  PID_FILE_NAME,
  planSuricata,
  RULES_FILE_NAME,
  runFile,
  SOCKET_FILE_NAME,
  type RuleFileText,
  type SuricataPaths,
  type SuricataPlan,
} from "./render";
import { procProcessTable, stopLeftover, type ProcessTable } from "./leftover";
import { suricataCommand, type SocketAnswer } from "./socket";
import { Supervisor, type SupervisorLogger, type SupervisorStatus } from "./supervisor";

export type ReloadOutcome = "ok" | "failed" | "refused";

export interface SuricataRuntimeStatus {
  /** A suricata: section is configured. */
  readonly enabled: boolean;
  readonly mode: "ips" | "ids" | undefined;
  /** Suricata is inspecting: ips: it listens on its NFQUEUE; ids: it runs. */
  readonly up: boolean;
  /** ips with failure: open while Suricata is not on its queue: traffic passes uninspected. */
  readonly failOpen: boolean;
  readonly process: SupervisorStatus;
  readonly reloads: Readonly<Record<ReloadOutcome, number>>;
  /** Suricatas a previous daemon left running (found by their pidfile), stopped before a start. */
  readonly leftoversStopped: number;
}

export interface SuricataManagerOptions extends SuricataPaths {
  /** The rules file (rule files of `ruleFiles` are relative to its directory). */
  readonly rulesFile: string;
  /** Suricata's program (argv prefix), e.g. ["suricata"]. */
  readonly command: readonly string[];
  readonly runner: CommandRunner;
  readonly logger: SupervisorLogger & { error(obj: object, msg: string): void };
  readonly supervisor?: Supervisor;
  /** Sends a command over the unix socket (tests inject a fake). */
  readonly socketCommand?: (socket: string, command: string) => Promise<SocketAnswer>;
  /** /proc/net/netfilter/nfnetlink_queue (tests inject a fake). */
  readonly readQueues?: () => Promise<string>;
  /** The process table, for a Suricata a previous daemon left running (tests inject a fake). */
  readonly processes?: ProcessTable;
  /** Grace after SIGTERM before SIGKILL for such a leftover. Default 10000. */
  readonly leftoverStopTimeoutMs?: number;
}

/** Queue numbers someone listens on, from /proc/net/netfilter/nfnetlink_queue. */
export function boundQueues(text: string): Set<number> {
  return new Set(
    text
      .split("\n")
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((n) => Number.isInteger(n) && n >= 0),
  );
}

/** The monitor link of ids mode (see inspect.ts): argv lists, idempotent. */
export function monitorLinkCommands(): string[][] {
  const { tx, rx, address, gateway, mac, mtu } = MONITOR_LINK;
  return [
    [
      "ip",
      "link",
      "add",
      tx,
      "mtu",
      String(mtu),
      "type",
      "veth",
      "peer",
      "name",
      rx,
      "mtu",
      String(mtu),
    ],
    ["sysctl", "-qw", `net.ipv6.conf.${rx}.disable_ipv6=1`],
    ["ip", "address", "replace", address, "dev", tx],
    ["ip", "link", "set", tx, "up"],
    ["ip", "link", "set", rx, "up"],
    ["ip", "-4", "neigh", "replace", gateway.ipv4, "lladdr", mac, "dev", tx, "nud", "permanent"],
    ["ip", "-6", "neigh", "replace", gateway.ipv6, "lladdr", mac, "dev", tx, "nud", "permanent"],
  ];
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp`, text);
  await fs.rename(`${file}.tmp`, file);
}

/** A stage's verdict before its name and notes. */
type Verdict = Pick<HealthCheckResult, "ok" | "pending"> & { readonly detail: string };

/** What stage `suricata` says while Suricata is not inspecting, by mode and failure policy. */
function notInspecting(s: SuricataSection, p: SupervisorStatus): Verdict {
  const restart =
    p.restartInMs !== undefined ? `, restart in ${(p.restartInMs / 1000).toFixed(0)} s` : "";
  const why = p.running
    ? "starting (loading rules)"
    : `down (${p.lastExit ?? "not started"}${restart}, ${p.crashes} restarts)`;
  const base = `${s.mode}: Suricata is not on ${inspectedAt(s)}: ${why}`;
  if (s.mode === "ids")
    return { ok: true, detail: `${base}: traffic passes, nothing is inspected` };
  if (s.failure === "open")
    return { ok: true, detail: `FAIL-OPEN active: ${base}: inspected traffic passes uninspected` };
  return {
    ok: false,
    ...(p.running ? { pending: true } : {}),
    detail: `${base}: inspected traffic is dropped (failure: closed)`,
  };
}

/** Where Suricata inspects: its NFQUEUE (ips) or the monitor link (ids). */
const inspectedAt = (s: SuricataSection): string =>
  s.mode === "ips" ? `NFQUEUE ${s.queue ?? 0}` : MONITOR_LINK.rx;

/** Stage `suricata` from the section, the runtime status and the last refused change, if any. */
export function suricataHealth(
  s: SuricataSection,
  st: SuricataRuntimeStatus,
  refused: string | undefined,
): HealthCheckResult {
  const pid = st.process.pid !== undefined ? ` (pid ${st.process.pid})` : "";
  const verdict: Verdict = st.up
    ? { ok: true, detail: `${s.mode}: Suricata${pid} inspects ${inspectedAt(s)}` }
    : notInspecting(s, st.process);
  const note = refused ? ` (last change refused: ${refused})` : "";
  return { name: "suricata", ...verdict, detail: `${verdict.detail}${note}` };
}

export class SuricataManager {
  private readonly supervisor: Supervisor;
  private section: SuricataSection | undefined;
  private config: string | undefined;
  private refused: string | undefined;
  private queues = new Set<number>();
  private readonly reloads: Record<ReloadOutcome, number> = { ok: 0, failed: 0, refused: 0 };
  private leftoversStopped = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Reads the queue table every second while a section is configured (health, metrics). */
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly o: SuricataManagerOptions) {
    this.supervisor = o.supervisor ?? new Supervisor({ logger: o.logger });
  }

  /**
   * Brings Suricata in line with `loaded`, after any update still running; never rejects
   * (problems go to health and the log).
   */
  update(loaded: LoadedRules): Promise<void> {
    this.queue = this.queue.then(() => this.apply(loaded));
    return this.queue;
  }

  private async apply(loaded: LoadedRules): Promise<void> {
    try {
      const files = await this.ruleFiles(loaded);
      const plan = planSuricata(loaded, this.o, files);
      if (!plan) return await this.disable();
      if (plan.errors.length > 0) return this.refuse(plan.errors.join("; "));
      const problem = await this.test(loaded, files);
      if (problem) return this.refuse(problem);
      await this.install(plan);
    } catch (e) {
      this.reloads.failed++;
      this.o.logger.error({ err: (e as Error).message }, "suricata update failed");
    }
  }

  /** Reads the queue table now (it is also read every second while a section is configured). */
  async poll(): Promise<void> {
    const read =
      this.o.readQueues ?? (() => fs.readFile("/proc/net/netfilter/nfnetlink_queue", "utf8"));
    this.queues = boundQueues(await read().catch(() => ""));
  }

  status(): SuricataRuntimeStatus {
    const s = this.section;
    const proc = this.supervisor.status();
    const up = s?.mode === "ips" ? this.queues.has(s.queue ?? 0) : proc.running;
    return {
      enabled: s !== undefined,
      mode: s?.mode,
      up: s !== undefined && up,
      failOpen: s?.mode === "ips" && s.failure === "open" && !up,
      process: proc,
      reloads: { ...this.reloads },
      leftoversStopped: this.leftoversStopped,
    };
  }

  /** Stage `suricata` (none without a suricata: section). */
  health(): HealthCheckResult[] {
    return this.section ? [suricataHealth(this.section, this.status(), this.refused)] : [];
  }

  async close(): Promise<void> {
    await this.queue;
    clearInterval(this.poller);
    await this.supervisor.stop();
  }

  private async ruleFiles(loaded: LoadedRules): Promise<RuleFileText[]> {
    const dir = path.dirname(path.resolve(this.o.rulesFile));
    const names = loaded.file.suricata?.ruleFiles ?? [];
    return Promise.all(
      names.map(async (name) => ({
        name,
        text: await fs.readFile(path.resolve(dir, name), "utf8"),
      })),
    );
  }

  private refuse(problem: string): void {
    this.refused = problem;
    this.reloads.refused++;
    this.o.logger.error({ problem }, "suricata configuration refused: the running one stays");
  }

  /** `suricata -T` on the rendered files in a scratch directory; a problem text, or undefined. */
  private async test(
    loaded: LoadedRules,
    files: readonly RuleFileText[],
  ): Promise<string | undefined> {
    const scratch = path.join(this.o.runDir, "test");
    await fs.mkdir(scratch, { recursive: true });
    const plan = planSuricata(loaded, { logDir: scratch, runDir: scratch }, files)!;
    await fs.writeFile(path.join(scratch, CONFIG_FILE_NAME), plan.config);
    await fs.writeFile(path.join(scratch, RULES_FILE_NAME), plan.rules);
    const argv = [
      ...this.o.command,
      "-T",
      "-c",
      path.join(scratch, CONFIG_FILE_NAME),
      "-l",
      scratch,
    ];
    const r = await this.o.runner.run(argv);
    if (r.code === 0) return undefined;
    const lines = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /^E:|error/i.test(l));
    return `suricata -T: ${lines.slice(0, 4).join(" | ") || `exit ${r.code}`}`;
  }

  /** Writes the files, then restarts (configuration changed or not running) or reloads the rules. */
  private async install(plan: SuricataPlan): Promise<void> {
    await fs.mkdir(this.o.runDir, { recursive: true });
    await fs.mkdir(this.o.logDir, { recursive: true });
    await writeAtomic(path.join(this.o.runDir, RULES_FILE_NAME), plan.rules);
    await writeAtomic(path.join(this.o.runDir, CONFIG_FILE_NAME), plan.config);
    this.refused = undefined;
    const restart = plan.config !== this.config || !this.supervisor.status().running;
    this.section = plan.section;
    this.config = plan.config;
    for (const n of plan.notes) this.o.logger.info({}, n);
    this.poller ??= setInterval(() => void this.poll(), 1000).unref();
    if (restart) return this.restart(plan);
    await this.reload();
  }

  private async restart(plan: SuricataPlan): Promise<void> {
    if (plan.section.mode === "ids") await this.ensureMonitorLink();
    else await this.removeMonitorLink();
    if (!this.supervisor.status().running) await this.stopLeftover();
    await this.supervisor.start([...this.o.command, ...plan.args]);
  }

  /** Stops a Suricata a previous daemon left running (its pidfile names it): logged and counted. */
  private async stopLeftover(): Promise<void> {
    const { outcome, pid } = await stopLeftover({
      pidFile: runFile(this.o, PID_FILE_NAME),
      configFile: runFile(this.o, CONFIG_FILE_NAME),
      processes: this.o.processes ?? procProcessTable,
      stopTimeoutMs: this.o.leftoverStopTimeoutMs ?? 10000,
    });
    if (outcome === "stale") this.o.logger.info({ pid }, "suricata: removed a stale pidfile");
    if (outcome !== "stopped" && outcome !== "killed") return;
    this.leftoversStopped++;
    this.o.logger.warn(
      { pid, outcome },
      "suricata: stopped a Suricata a previous daemon left running",
    );
  }

  private async reload(): Promise<void> {
    const socket = path.join(this.o.runDir, SOCKET_FILE_NAME);
    const send = this.o.socketCommand ?? ((s, c) => suricataCommand(s, c, { timeoutMs: 120000 }));
    const a = await send(socket, "reload-rules").catch((e: Error) => ({
      return: "NOK",
      message: e.message,
    }));
    const outcome: ReloadOutcome = a.return === "OK" ? "ok" : "failed";
    this.reloads[outcome]++;
    if (outcome === "ok") this.o.logger.info({ answer: a.message }, "suricata rules reloaded");
    else this.o.logger.error({ answer: a.message }, "suricata rule reload failed");
  }

  private async disable(): Promise<void> {
    if (!this.section) return;
    this.section = undefined;
    this.config = undefined;
    clearInterval(this.poller);
    this.poller = undefined;
    await this.supervisor.stop();
    await this.removeMonitorLink();
    this.o.logger.info({}, "suricata: section removed, Suricata stopped");
  }

  private async ensureMonitorLink(): Promise<void> {
    const exists = await this.o.runner.run(["ip", "link", "show", MONITOR_LINK.tx]);
    const commands = monitorLinkCommands();
    for (const argv of exists.code === 0 ? commands.slice(1) : commands)
      await runChecked(this.o.runner, argv);
  }

  private async removeMonitorLink(): Promise<void> {
    await this.o.runner.run(["ip", "link", "del", MONITOR_LINK.tx]);
  }
}
