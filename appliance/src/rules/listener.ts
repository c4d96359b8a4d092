import { watch, promises as fs, type FSWatcher } from "node:fs";
import path from "node:path";
import type { EndpointInfo, EndpointListener } from "../endpoint-lifecycle";
import { RulesEngine } from "./engine";
import type { Capabilities, EndpointRef } from "./model";
import { parseRules, type LoadedRules } from "./parse";
import { ExecRunner, type CommandRunner } from "./runner";

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
}

/** The listener plus what tests and the daemon may want to drive directly. */
export interface RulesListener extends EndpointListener {
  /** Re-reads the file; an invalid file is refused and the running rules stay. Resolves true when applied. */
  reload(): Promise<boolean>;
  /** Settles when queued work is done. */
  idle(): Promise<void>;
  readonly engine: RulesEngine;
}

const stderrLogger: RulesLogger = {
  info: (o, msg) =>
    process.stderr.write(`${JSON.stringify({ level: "info", component: "rules", msg, ...o })}\n`),
  error: (o, msg) =>
    process.stderr.write(`${JSON.stringify({ level: "error", component: "rules", msg, ...o })}\n`),
};

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
  let queue: Promise<unknown> = Promise.resolve();
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };

  async function load(): Promise<LoadedRules | undefined> {
    let text: string;
    try {
      text = await fs.readFile(options.file, "utf8");
    } catch (e) {
      log.error({ file: options.file, err: (e as Error).message }, "cannot read rules file");
      return undefined;
    }
    const r = parseRules(text, options.file);
    if (!r.ok) {
      log.error(
        { file: options.file, errors: r.errors },
        "rules file invalid: refused, running rules kept",
      );
      return undefined;
    }
    return r.rules;
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
      return true;
    } catch (e) {
      log.error({ err: (e as Error).message }, "rules apply failed: previous rules kept");
      return false;
    }
  }

  const reload = () =>
    serial(async () => {
      const next = await load();
      if (!next) return false;
      const ok = await applyWith(next);
      if (ok) current = next;
      return ok;
    });

  // Warm up now (probe capabilities, read the file) so the first endpoint's rules are in place
  // as soon as possible after its interfaces appear: packets arriving before that are dropped.
  const warm = serial(async () => {
    await engine.capabilities().catch(() => undefined);
    current ??= await load();
  });
  void warm;

  const onHup = () => {
    void reload();
  };
  if (options.sighup ?? true) process.on("SIGHUP", onHup);
  if (options.watch ?? true) {
    try {
      const base = path.basename(options.file);
      watcher = watch(path.dirname(path.resolve(options.file)), (_event, name) => {
        if (name !== null && name !== base) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          if (!closed) void reload();
        }, options.debounceMs ?? 200);
      });
      watcher.on("error", (e) => log.error({ err: e.message }, "rules file watch failed"));
    } catch (e) {
      log.error({ err: (e as Error).message }, "cannot watch rules file; SIGHUP still reloads");
    }
  }

  const refOf = (ep: EndpointInfo): EndpointRef => ({
    gwi: ep.gwi,
    gwo: ep.gwo,
    vpce: `vpce-${ep.idHex17}`,
  });

  return {
    engine,
    reload,
    idle: () => queue.then(() => undefined),
    created(ep) {
      return serial(async () => {
        endpoints.set(ep.gwi, refOf(ep));
        current ??= await load();
        if (!current) {
          log.error(
            { endpoint: ep.gwi },
            "no valid rules: endpoint left without forwarding (fail closed)",
          );
          return;
        }
        await applyWith(current);
      });
    },
    destroyed(ep) {
      return serial(async () => {
        if (!endpoints.delete(ep.gwi) || !current) return;
        await applyWith(current);
      });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
      process.off("SIGHUP", onHup);
      await queue;
    },
  };
}
