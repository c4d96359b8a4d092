import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { EndpointInfo, EndpointListener } from "../endpoint-lifecycle";
import type { HealthCheckResult } from "../health/status";
import { RulesEngine } from "./engine";
import type { Capabilities, EndpointRef } from "./model";
import { readRulesFile, type LoadedRules } from "./parse";
import { checkRulesReadiness, type ReadinessResult } from "./readiness";
import { ExecRunner, type CommandRunner } from "../command";

/** pino-compatible subset. */
export interface RulesLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RulesListenerOptions {
  /** Path of the rules file (YAML). */
  readonly file: string;
  /** Defaults to running commands on this host (ExecRunner). */
  readonly runner?: CommandRunner;
  /** Skip capability probing. */
  readonly capabilities?: Capabilities;
  readonly stateFile?: string;
  /** Defaults to JSON lines on stderr. */
  readonly logger?: RulesLogger;
  /** Reload when the file changes (fs.watch on its directory). Defaults to true. */
  readonly watch?: boolean;
  /** Reload on SIGHUP. Defaults to true. */
  readonly sighup?: boolean;
  /** Debounce for file-change reloads. Defaults to 200 ms. */
  readonly debounceMs?: number;
  /**
   * Period of the readiness check (see readiness.ts), ms; it also runs once at start-up and
   * retries endpoints whose rules could not be applied. 0: only at start-up. Defaults to 0.
   */
  readonly checkIntervalMs?: number;
  /**
   * Called (not awaited) with every valid file once it is in force: at start-up and after each
   * applied change. The Suricata manager renders and reloads Suricata from it.
   */
  readonly onLoaded?: (rules: LoadedRules) => void;
}

/** The listener plus what tests and the daemon may want to drive directly. */
export interface RulesListener extends EndpointListener {
  /** Re-reads the file; an invalid file is refused and the running rules stay. Resolves true when applied. */
  reload(): Promise<boolean>;
  /** Settles when queued work is done. */
  idle(): Promise<void>;
  readonly engine: RulesEngine;
  /**
   * Runs the readiness check now: re-applies first when an endpoint's rules are missing (an
   * apply that failed, or the kernel state drifted), then checks. Resolves with its result.
   */
  check(): Promise<ReadinessResult | undefined>;
  /**
   * Health stages: `rules-engine` (the last readiness check; pending until the first one
   * finished), `rules` per endpoint (applied and verified, or why not) and globally (drift).
   */
  health(): HealthCheckResult[];
}

const stderrLogger: RulesLogger = {
  info: (o, msg) =>
    process.stderr.write(`${JSON.stringify({ level: "info", component: "rules", msg, ...o })}\n`),
  error: (o, msg) =>
    process.stderr.write(`${JSON.stringify({ level: "error", component: "rules", msg, ...o })}\n`),
};

/** Runs async work one piece at a time, in order; a failure does not stop what follows. */
function serialQueue() {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const p = queue.then(fn, fn);
      queue = p.catch(() => undefined);
      return p;
    },
    idle: (): Promise<void> => queue.then(() => undefined),
  };
}

/**
 * Calls `onChange` (debounced) when the rules file changes, watching its directory (editors
 * replace files), and on SIGHUP. Returns what stops both.
 */
function watchRulesFile(
  options: RulesListenerOptions,
  onChange: () => void,
  log: RulesLogger,
): () => void {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  if (options.sighup ?? true) process.on("SIGHUP", onChange);
  if (options.watch ?? true) {
    try {
      const base = path.basename(options.file);
      watcher = watch(path.dirname(path.resolve(options.file)), (_event, name) => {
        if (name !== null && name !== base) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          if (!closed) onChange();
        }, options.debounceMs ?? 200);
      });
      watcher.on("error", (e) => log.error({ err: e.message }, "rules file watch failed"));
    } catch (e) {
      log.error({ err: (e as Error).message }, "cannot watch rules file; SIGHUP still reloads");
    }
  }
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    watcher?.close();
    process.off("SIGHUP", onChange);
  };
}

/**
 * Applies an endpoint's rules when the daemon creates its interfaces and removes them on
 * destroy; reloads on SIGHUP or file change. An invalid file never replaces running rules.
 */
export function createRulesListener(options: RulesListenerOptions): RulesListener {
  const log = options.logger ?? stderrLogger;
  const engine = new RulesEngine({
    runner: options.runner ?? new ExecRunner(),
    capabilities: options.capabilities,
    stateFile: options.stateFile,
    log: (m) => log.info({}, m),
  });
  const endpoints = new Map<string, EndpointRef>();
  let current: LoadedRules | undefined;
  const queue = serialQueue();
  const serial = queue.run;
  let closed = false;
  let lastLoadError = "not read yet";
  /** Health of the rule engine (stage rules-engine, or rules for drift). */
  let engineHealth: HealthCheckResult = {
    name: "rules-engine",
    ok: false,
    pending: true,
    detail: "first check of the rule engine still running",
  };
  /** Stage `rules` per endpoint, by gwi. */
  const applied = new Map<string, HealthCheckResult>();
  const idOf = (ref: EndpointRef) => ref.vpce?.replace(/^vpce-/, "");
  const markEndpoints = (ok: boolean, detail?: string, onlyNew = false) => {
    for (const ref of endpoints.values()) {
      if (onlyNew && applied.get(ref.gwi)?.ok) continue;
      const endpoint = idOf(ref);
      applied.set(ref.gwi, {
        name: "rules",
        ok,
        ...(endpoint ? { endpoint } : {}),
        ...(detail ? { detail } : {}),
      });
    }
  };

  async function load(): Promise<LoadedRules | undefined> {
    const file = options.file;
    const r = await readRulesFile(file);
    if (r.ok) return r.rules;
    if ("readError" in r) {
      lastLoadError = `cannot read ${file}: ${r.readError}`;
      log.error({ file, err: r.readError }, "cannot read rules file");
    } else {
      lastLoadError = `${file} is invalid: ${r.errors.slice(0, 3).join("; ")}`;
      log.error({ file, errors: r.errors }, "rules file invalid: refused, running rules kept");
    }
    return undefined;
  }

  async function applyWith(rules: LoadedRules): Promise<boolean> {
    try {
      const res = await engine.apply(rules, [...endpoints.values()]);
      log.info(
        {
          endpoints: res.compiled.endpoints.map((e) => e.gwi),
          ms: Math.round(res.ms),
          notes: res.compiled.notes,
        },
        "rules applied",
      );
      markEndpoints(true);
      return true;
    } catch (e) {
      log.error({ err: (e as Error).message }, "rules apply failed: previous rules kept");
      // Endpoints that had rules keep them (rolled back); the others have none.
      markEndpoints(false, `rules not applied: ${(e as Error).message}`, true);
      return false;
    }
  }

  /** The readiness check (run it inside serial()). */
  const runCheck = async (): Promise<ReadinessResult | undefined> => {
    current ??= await load();
    if (!current) {
      engineHealth = { name: "rules-engine", ok: false, detail: lastLoadError };
      markEndpoints(false, `no valid rules: ${lastLoadError}`);
      return undefined;
    }
    if ([...applied.values()].some((h) => !h.ok)) await applyWith(current);
    let r = await checkRulesReadiness(engine, current, [...endpoints.values()]);
    if (!r.ok && r.step === "drift") {
      log.error({ detail: r.detail }, "applied rules drifted from the kernel state: re-applying");
      if (await applyWith(current))
        r = await checkRulesReadiness(engine, current, [...endpoints.values()]);
    }
    if (r.ok && !engineHealth.ok) log.info({ ms: Math.round(r.ms) }, "rule engine check passed");
    if (!r.ok && (engineHealth.ok || engineHealth.pending))
      log.error({ step: r.step, detail: r.detail }, "rule engine check failed");
    engineHealth = r.ok
      ? { name: "rules-engine", ok: true, detail: `checked in ${Math.round(r.ms)} ms` }
      : {
          name: r.step === "drift" ? "rules" : "rules-engine",
          ok: false,
          detail: `${r.step}: ${r.detail}`,
        };
    return r;
  };
  /** performance.now() when the check in flight (queued or running) was asked for; 0: none. */
  let checkSince = 0;
  const check = () => {
    if (checkSince === 0) checkSince = performance.now();
    return serial(async () => {
      try {
        return await runCheck();
      } finally {
        checkSince = 0;
      }
    });
  };

  const reload = () =>
    serial(async () => {
      const next = await load();
      if (!next) return false;
      const ok = await applyWith(next);
      if (ok) current = next;
      if (ok) options.onLoaded?.(next);
      return ok;
    });

  // Warm up now (probe capabilities, read the file) so the first endpoint's rules are in place
  // as soon as possible after its interfaces appear: packets arriving before that are dropped.
  // ...and check the engine at once, so health knows before the first endpoint appears.
  const warm = serial(async () => {
    await engine.capabilities().catch(() => undefined);
    current ??= await load();
    if (current) options.onLoaded?.(current);
    await runCheck();
  });
  void warm;
  const checkMs = options.checkIntervalMs ?? 0;
  const checker =
    checkMs > 0
      ? setInterval(() => {
          // One check at a time: a tool that hangs shows in health(), it does not pile up checks.
          if (!closed && checkSince === 0) void check();
        }, checkMs)
      : undefined;
  checker?.unref();

  const stopWatching = watchRulesFile(options, () => void reload(), log);

  const refOf = (ep: EndpointInfo): EndpointRef => ({
    gwi: ep.gwi,
    gwo: ep.gwo,
    vpce: `vpce-${ep.idHex17}`,
  });

  return {
    engine,
    reload,
    idle: queue.idle,
    check,
    health: () => {
      const hung = checkSince > 0 ? performance.now() - checkSince : 0;
      const engineNow: HealthCheckResult =
        checkMs > 0 && hung > 2 * checkMs
          ? {
              name: "rules-engine",
              ok: false,
              detail: `check still running after ${(hung / 1000).toFixed(0)} s (a tool does not return)`,
            }
          : engineHealth;
      return [engineNow, ...applied.values()];
    },
    created(ep) {
      return serial(async () => {
        endpoints.set(ep.gwi, refOf(ep));
        current ??= await load();
        if (!current) {
          log.error(
            { endpoint: ep.gwi },
            "no valid rules: endpoint left without forwarding (fail closed)",
          );
          markEndpoints(false, `no valid rules: ${lastLoadError}`, true);
          return;
        }
        await applyWith(current);
      });
    },
    /**
     * A restart's adopted endpoint: its rules are applied as at any start (transactionally). It
     * is registered at once, not in its turn: a start adopts every endpoint before the first
     * apply runs, so that apply already covers all of them. Registered in turn, the first apply
     * would hold only the first endpoint and remove the others' rules and routes (kept by the
     * previous daemon) until their own applies: their traffic, still crossing the kernel path,
     * would be dropped meanwhile.
     */
    adopted(ep) {
      endpoints.set(ep.gwi, refOf(ep));
      return this.created(ep);
    },
    destroyed(ep) {
      return serial(async () => {
        applied.delete(ep.gwi);
        if (!endpoints.delete(ep.gwi) || !current) return;
        await applyWith(current);
      });
    },
    async close() {
      closed = true;
      if (checker) clearInterval(checker);
      stopWatching();
      await queue.idle();
    },
  };
}
