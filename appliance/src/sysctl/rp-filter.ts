/**
 * Keeps reverse-path filtering off for the appliance's interfaces.
 *
 * The kernel uses max(conf/all/rp_filter, conf/<if>/rp_filter), so both `all` and each gwi-/gwo-
 * interface are set to 0, and `default` too so interfaces created later start at 0. Some
 * distributions (systemd-sysctl, NetworkManager, cloud-init) reset these after the daemon set
 * them; the keeper re-reads them periodically and re-asserts 0, logging and counting each reset.
 * The file system sits behind {@link SysctlFs} so this is tested with a fake.
 */
import { promises as fsp } from "node:fs";
import type { EndpointInfo, EndpointListener } from "../endpoint-lifecycle";

export interface SysctlFs {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
}

export const procSysctlFs: SysctlFs = {
  read: (path) => fsp.readFile(path, "utf8"),
  write: (path, value) => fsp.writeFile(path, value),
};

export interface RpFilterLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RpFilterKeeperOptions {
  /** Defaults to the real /proc. */
  readonly fs?: SysctlFs;
  /** Re-check period in ms; 0 checks only on start and interface creation (`rpFilter.interval`). */
  readonly intervalMs: number;
  /** Also set conf/all and conf/default (`rpFilter.global`). */
  readonly global: boolean;
  /** Defaults to /proc/sys/net/ipv4/conf. */
  readonly root?: string;
  readonly logger?: RpFilterLogger;
}

export interface RpFilterStats {
  checks: number;
  /** Values found non-zero (after the first assertion) and set back to 0. */
  resets: number;
  errors: number;
}

const silent: RpFilterLogger = { info() {}, warn() {}, error() {} };

export class RpFilterKeeper implements EndpointListener {
  readonly stats: RpFilterStats = { checks: 0, resets: 0, errors: 0 };
  private readonly fs: SysctlFs;
  private readonly intervalMs: number;
  private readonly root: string;
  private readonly log: RpFilterLogger;
  private readonly global: boolean;
  /** Interfaces (and "all"/"default") we keep at 0 -> whether we already asserted them once. */
  private readonly targets = new Map<string, boolean>();
  /** Last failure per target, cleared on success. */
  private readonly failures = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(options: RpFilterKeeperOptions) {
    this.fs = options.fs ?? procSysctlFs;
    this.intervalMs = options.intervalMs;
    this.root = options.root ?? "/proc/sys/net/ipv4/conf";
    this.log = options.logger ?? silent;
    this.global = options.global;
    if (this.global) {
      this.targets.set("all", false);
      this.targets.set("default", false);
    }
  }

  /** Asserts the global settings now and starts the periodic re-check. */
  async start(): Promise<void> {
    await this.check();
    if (this.intervalMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.check(), this.intervalMs);
      this.timer.unref();
    }
  }

  async created(endpoint: EndpointInfo): Promise<void> {
    this.targets.set(endpoint.gwi, false);
    this.targets.set(endpoint.gwo, false);
    await this.check();
  }

  /** A restart's adopted endpoint: its interfaces are kept at 0 like a new one's. */
  adopted(endpoint: EndpointInfo): Promise<void> {
    return this.created(endpoint);
  }

  async destroyed(endpoint: EndpointInfo): Promise<void> {
    for (const name of [endpoint.gwi, endpoint.gwo]) {
      this.targets.delete(name);
      this.failures.delete(name);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  /** Interfaces whose rp_filter could not be set to 0 (name -> error). */
  get problems(): ReadonlyMap<string, string> {
    return this.failures;
  }

  /** One pass over every target; concurrent calls share the pass in progress. */
  check(): Promise<void> {
    if (this.checking) return this.checking;
    this.checking = this.pass().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async pass(): Promise<void> {
    this.stats.checks++;
    for (const [name, asserted] of [...this.targets]) {
      const path = `${this.root}/${name}/rp_filter`;
      try {
        const value = (await this.fs.read(path)).trim();
        if (value !== "0") {
          await this.fs.write(path, "0");
          if (asserted) {
            this.stats.resets++;
            this.log.warn(
              { interface: name, found: value },
              "rp_filter was reset by something else; set to 0 again",
            );
          } else {
            this.log.info({ interface: name, was: value }, "rp_filter disabled");
          }
        }
        if (this.targets.has(name)) this.targets.set(name, true);
        this.failures.delete(name);
      } catch (err) {
        // The interface may have just been removed: only report targets still wanted.
        if (!this.targets.has(name)) continue;
        this.stats.errors++;
        const msg = err instanceof Error ? err.message : String(err);
        if (this.failures.get(name) !== msg) {
          this.log.error({ interface: name, err: msg }, "cannot disable rp_filter");
        }
        this.failures.set(name, msg);
      }
    }
  }
}
