/**
 * Runs one long-lived child process (Suricata) from an argv array, without a shell, and restarts
 * it when it exits, with exponential backoff (reset once it has run for `stableMs`). Every start,
 * exit and restart is counted; its output lines go to the logger. `spawn` is injectable (tests).
 */
import { spawn as nodeSpawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** What the supervisor needs of a child process. */
export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: "exit", listener: (code: number | null, signal: string | null) => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
}

export type SpawnFn = (argv: readonly string[]) => ChildLike;

export interface SupervisorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SupervisorOptions {
  readonly logger: SupervisorLogger;
  readonly spawn?: SpawnFn;
  /** First restart delay; doubled per consecutive failure up to maxBackoffMs. Default 1000. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A child that ran this long resets the backoff. Default 60000. */
  readonly stableMs?: number;
  /** Grace after SIGTERM before SIGKILL on stop. Default 10000. */
  readonly stopTimeoutMs?: number;
}

export interface SupervisorStatus {
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly starts: number;
  /** Exits while the supervisor wanted it running (each one is followed by a restart). */
  readonly crashes: number;
  readonly lastExit: string | undefined;
  /** Milliseconds until the next restart, while waiting for one. */
  readonly restartInMs: number | undefined;
}

const defaultSpawn: SpawnFn = (argv) =>
  nodeSpawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });

export class Supervisor {
  private child: ChildLike | undefined;
  private argv: readonly string[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private restartAt: number | undefined;
  private failures = 0;
  private startedAt = 0;
  private counts = { starts: 0, crashes: 0 };
  private lastExit: string | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: SupervisorOptions) {}

  /** Runs `argv`, restarting it whenever it exits, until stop(). Stops a running child first. */
  async start(argv: readonly string[]): Promise<void> {
    await this.stop();
    this.argv = argv;
    this.launch();
  }

  /** Stops the child (SIGTERM, then SIGKILL) and the restarts. Idempotent. */
  async stop(): Promise<void> {
    this.argv = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.restartAt = undefined;
    const child = this.child;
    if (!child) return;
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), this.options.stopTimeoutMs ?? 10000);
    await this.exited;
    clearTimeout(kill);
  }

  status(): SupervisorStatus {
    return {
      running: this.child !== undefined,
      pid: this.child?.pid,
      ...this.counts,
      lastExit: this.lastExit,
      restartInMs:
        this.restartAt === undefined ? undefined : Math.max(0, this.restartAt - Date.now()),
    };
  }

  private launch(): void {
    const argv = this.argv;
    if (!argv) return;
    const log = this.options.logger;
    const child = (this.options.spawn ?? defaultSpawn)(argv);
    this.child = child;
    this.counts.starts++;
    this.startedAt = Date.now();
    log.info({ argv, pid: child.pid }, "suricata started");
    for (const stream of [child.stdout, child.stderr]) {
      if (stream)
        createInterface({ input: stream }).on("line", (line) =>
          log.info({ suricata: line }, "suricata"),
        );
    }
    this.exited = new Promise((resolve) => {
      let done = false;
      const onExit = (why: string) => {
        if (done) return;
        done = true;
        this.child = undefined;
        this.lastExit = why;
        resolve();
        this.exitedWhileWanted(why);
      };
      child.once("exit", (code, signal) => onExit(signal ? `signal ${signal}` : `exit ${code}`));
      child.once("error", (err) => onExit(`could not run: ${err.message}`));
    });
  }

  /** Schedules the restart of a child that exited while it should run. */
  private exitedWhileWanted(why: string): void {
    if (!this.argv) return;
    this.counts.crashes++;
    const stable = Date.now() - this.startedAt >= (this.options.stableMs ?? 60000);
    this.failures = stable ? 1 : this.failures + 1;
    const base = this.options.backoffMs ?? 1000;
    const delay = Math.min(base * 2 ** (this.failures - 1), this.options.maxBackoffMs ?? 30000);
    this.options.logger.warn(
      { why, restartInMs: delay, crashes: this.counts.crashes },
      "suricata exited: restarting",
    );
    this.restartAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.restartAt = undefined;
      this.launch();
    }, delay);
    this.timer.unref();
  }
}
