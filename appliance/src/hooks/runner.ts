/**
 * Runs the `-c` (CREATE) and `-r` (DESTROY) hook commands like the reference tunnel handler:
 * `<command...> CREATE|DESTROY gwi-X gwo-X <endpoint id as 17 hex digits>`.
 *
 * Commands are argv arrays run like execFile (no shell; a command string is split by
 * {@link splitCommand}) under a timeout, in their own process group. A failing, hanging or missing hook is logged and
 * counted, never thrown: the data path keeps running. Hooks of one endpoint run one after the
 * other (DESTROY waits for its CREATE), different endpoints run concurrently.
 */
import { spawn } from "node:child_process";
import type { EndpointInfo, EndpointListener } from "../endpoint-lifecycle";
import type { HealthCheckResult } from "../health/status";
import { splitCommand } from "./split";

export type HookAction = "CREATE" | "DESTROY";
export type HookOutcome = "ok" | "failed" | "timeout" | "error";

export interface ExecResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command could not be started at all (ENOENT, EACCES...). */
  readonly spawnError?: string;
  readonly timedOut: boolean;
}

export interface ExecOptions {
  readonly timeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs a program; never rejects. Injected so tests need no real processes. */
export type ExecFn = (
  file: string,
  args: readonly string[],
  options: ExecOptions,
) => Promise<ExecResult>;

/** Output kept per stream (the tail), for the log. */
const MAX_OUTPUT = 64 * 1024;

function tailCollector(): { push(chunk: Buffer): void; text(): string } {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > 2 * MAX_OUTPUT) {
        const all = Buffer.concat(chunks);
        chunks = [all.subarray(all.length - MAX_OUTPUT)];
        size = MAX_OUTPUT;
      }
    },
    text() {
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - MAX_OUTPUT)).toString("utf8");
    },
  };
}

/**
 * Runs a program the way execFile does (argv, no shell), in its own process group. At the
 * timeout the whole group gets SIGTERM, then SIGKILL 2 s later, so a hook's children (a `sleep`
 * in a script) cannot keep it running by holding its output pipes open. Output of any size is
 * drained; the last 64 KiB of each stream is kept.
 */
export const execFileRunner: ExecFn = (file, args, options) =>
  new Promise<ExecResult>((resolve) => {
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let spawnError: string | undefined;
    const out = tailCollector();
    const err = tailCollector();
    const child = spawn(file, [...args], {
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      windowsHide: true,
    });
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), 2000);
      killTimer.unref();
    }, options.timeoutMs);
    timer.unref();
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e.code ?? e.message;
    });
    // "close": the process exited and its stdio closed (or it never started).
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (timedOut) killGroup("SIGKILL"); // leftovers of the group
      resolve({
        code: spawnError ? null : code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });

/** pino-compatible logger subset. */
export interface HookLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HookRunnerOptions {
  /** CREATE hook: argv, or a command string split by {@link splitCommand}. */
  readonly create?: string | readonly string[];
  /** DESTROY hook: argv, or a command string. */
  readonly destroy?: string | readonly string[];
  /** Kill a hook still running after this long (setting `hooks.timeout`). */
  readonly timeoutMs: number;
  readonly exec?: ExecFn;
  readonly logger?: HookLogger;
  /** Base environment. Defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export type HookStats = Record<HookAction, Record<HookOutcome, number>>;

export interface HookRun {
  readonly action: HookAction;
  readonly argv: readonly string[];
  readonly outcome: HookOutcome;
  readonly durationMs: number;
  readonly result: ExecResult;
}

function toArgv(cmd: string | readonly string[] | undefined): readonly string[] | undefined {
  if (cmd === undefined) return undefined;
  const argv = typeof cmd === "string" ? splitCommand(cmd) : cmd;
  return argv.length > 0 ? argv : undefined;
}

const silent: HookLogger = { info() {}, warn() {}, error() {} };

export class HookRunner implements EndpointListener {
  readonly stats: HookStats = {
    CREATE: { ok: 0, failed: 0, timeout: 0, error: 0 },
    DESTROY: { ok: 0, failed: 0, timeout: 0, error: 0 },
  };
  /** Hooks currently running. */
  running = 0;
  private readonly create: readonly string[] | undefined;
  private readonly destroy: readonly string[] | undefined;
  private readonly timeoutMs: number;
  private readonly exec: ExecFn;
  private readonly log: HookLogger;
  private readonly env: NodeJS.ProcessEnv;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly listeners: ((run: HookRun) => void)[] = [];
  /** Outcome of each live endpoint's last CREATE hook run, by endpoint id (health). */
  private readonly createdHealth = new Map<string, HealthCheckResult>();

  /** Throws CommandSyntaxError for an unparseable command string (fail at startup, not later). */
  constructor(options: HookRunnerOptions) {
    this.create = toArgv(options.create);
    this.destroy = toArgv(options.destroy);
    this.timeoutMs = options.timeoutMs;
    this.exec = options.exec ?? execFileRunner;
    this.log = options.logger ?? silent;
    this.env = options.env ?? process.env;
  }

  /** Called after every hook run (metrics). */
  onRun(listener: (run: HookRun) => void): void {
    this.listeners.push(listener);
  }

  created(endpoint: EndpointInfo): Promise<void> {
    return this.enqueue("CREATE", endpoint);
  }

  destroyed(endpoint: EndpointInfo): Promise<void> {
    this.createdHealth.delete(endpoint.idHex17);
    return this.enqueue("DESTROY", endpoint);
  }

  /** The `hook` health stage: one result per live endpoint whose CREATE hook has run. */
  health(): HealthCheckResult[] {
    return [...this.createdHealth.values()];
  }

  /** Resolves when every queued hook has finished. */
  async close(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private enqueue(action: HookAction, ep: EndpointInfo): Promise<void> {
    const argv = action === "CREATE" ? this.create : this.destroy;
    if (!argv) return Promise.resolve();
    const prev = this.chains.get(ep.idHex17) ?? Promise.resolve();
    const next = prev.then(() => this.run(action, argv, ep));
    this.chains.set(ep.idHex17, next);
    void next.then(() => {
      if (this.chains.get(ep.idHex17) === next) this.chains.delete(ep.idHex17);
    });
    return next;
  }

  private async run(action: HookAction, base: readonly string[], ep: EndpointInfo): Promise<void> {
    const argv = [...base, action, ep.gwi, ep.gwo, ep.idHex17];
    const env = {
      ...this.env,
      TOLLGATE_HOOK_ACTION: action,
      TOLLGATE_GWI: ep.gwi,
      TOLLGATE_GWO: ep.gwo,
      TOLLGATE_ENDPOINT_ID: ep.idHex17,
    };
    const started = performance.now();
    this.running++;
    let result: ExecResult;
    try {
      result = await this.exec(argv[0]!, argv.slice(1), { timeoutMs: this.timeoutMs, env });
    } catch (err) {
      // An ExecFn must not reject; treat it as a spawn error if one does.
      result = {
        code: null,
        signal: null,
        stdout: "",
        stderr: "",
        timedOut: false,
        spawnError: String(err),
      };
    } finally {
      this.running--;
    }
    const durationMs = performance.now() - started;
    const outcome: HookOutcome = result.spawnError
      ? "error"
      : result.timedOut
        ? "timeout"
        : result.code === 0
          ? "ok"
          : "failed";
    this.stats[action][outcome]++;
    const fields = {
      hook: action,
      argv,
      endpoint: ep.idHex17,
      outcome,
      code: result.code,
      signal: result.signal,
      durationMs: Math.round(durationMs),
      ...(result.stdout ? { stdout: result.stdout.slice(-4096) } : {}),
      ...(result.stderr ? { stderr: result.stderr.slice(-4096) } : {}),
      ...(result.spawnError ? { error: result.spawnError } : {}),
    };
    if (outcome === "ok") this.log.info(fields, `${action} hook succeeded`);
    else if (outcome === "timeout")
      this.log.error(fields, `${action} hook killed after ${this.timeoutMs} ms`);
    else this.log.error(fields, `${action} hook failed`);
    if (action === "DESTROY") this.createdHealth.delete(ep.idHex17);
    else {
      const why =
        outcome === "ok"
          ? undefined
          : outcome === "timeout"
            ? `CREATE hook killed after ${this.timeoutMs} ms`
            : outcome === "error"
              ? `CREATE hook could not run: ${result.spawnError ?? "unknown error"}`
              : `CREATE hook failed (exit ${result.code ?? result.signal ?? "?"})${result.stderr.trim() ? `: ${result.stderr.trim().split("\n").slice(-1)[0]!.slice(0, 200)}` : ""}`;
      this.createdHealth.set(ep.idHex17, {
        name: "hook",
        endpoint: ep.idHex17,
        ok: outcome === "ok",
        ...(why ? { detail: why } : {}),
      });
    }
    const run: HookRun = { action, argv, outcome, durationMs, result };
    for (const l of this.listeners) {
      try {
        l(run);
      } catch {
        // a metrics listener must not break hook handling
      }
    }
  }
}
