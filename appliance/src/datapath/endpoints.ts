/**
 * Endpoints (GWLB endpoint ids) and their tun pairs. An endpoint is created on the first datagram
 * that carries its id: gwi-X and gwo-X are opened, configured (MTU, up) and watched synchronously;
 * listeners (rp_filter, CREATE hooks, rules) then run in the background, in order, and a failing
 * listener is logged and counted, never fatal. The data path holds the endpoint's packets until
 * they finish (see Datapath, hold queue).
 */
import type { EndpointInfo, EndpointListener } from "../endpoint-lifecycle";
import { endpointInfo } from "../naming";
import type { Watch } from "../io/poll";
import { CanaryState } from "./canary";
import type { DatapathCounters } from "./counters";
import type { DatapathPort, TunLike } from "./port";

/** Minimal structured logger (pino-compatible). */
export interface DatapathLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EndpointTableOptions {
  /** MTU of the tun interfaces (setting `mtu`). */
  readonly mtu: number;
  /** Most endpoints served at once, each costs two interfaces (setting `maxEndpoints`). */
  readonly maxEndpoints: number;
  /** After a failed interface creation, wait this long before trying again. Defaults to 5000 ms. */
  readonly retryAfterMs?: number;
  /**
   * Remove an endpoint (DESTROY listeners, then its interfaces) after this long without a packet
   * in either direction, in ms. 0 keeps endpoints until shutdown (setting `endpointIdleTimeout`).
   */
  readonly endpointIdleTimeoutMs: number;
  /** Called in order after an endpoint's interfaces are up, and before they are removed. */
  readonly listeners?: readonly EndpointListener[];
  readonly logger?: DatapathLogger;
}

/** One endpoint's runtime state. */
export class Endpoint {
  /** The forward batch batchCount belongs to. */
  batchSeq = 0;
  /** Packets written to gwi in the current batch. */
  batchCount = 0;
  /** Clock value of the last packet in either direction. */
  lastSeen = 0;
  closed = false;
  readErrors = 0;
  /** Kernel path: packets tg_decap redirected into gwi-X / tg_encap sent from the tuns (totals). */
  kernelToGwi = 0;
  kernelFromTuns = 0;
  /** Resolves when every listener's created() has finished (or failed). */
  ready: Promise<void> = Promise.resolve();
  /** Every listener's created() has finished (or failed): forwarding is set up, canaries may go. */
  setupDone = false;
  /** Clock value when the interfaces were created. */
  createdAt = 0;
  readonly canary = new CanaryState();
  /**
   * Packets received while the listeners (CREATE hook, rules) still run: written to gwi-X, in
   * order, once they finish. Undefined when the endpoint forwards directly.
   */
  hold: HoldQueue | undefined = undefined;
  watches: Watch[] = [];
  constructor(
    readonly info: EndpointInfo,
    /** Namespaces this endpoint's flows in the shared flow table (the flow key's tag). */
    readonly tag: number,
    /** Unique for the table's lifetime (tags wrap): what a flow records as its endpoint. */
    readonly serial: number,
    readonly gwi: TunLike,
    readonly gwo: TunLike,
  ) {}
}

/** A new endpoint's packets waiting for its listeners (see Datapath). */
export class HoldQueue {
  readonly packets: Buffer[] = [];
  bytes = 0;
  timer: NodeJS.Timeout | undefined = undefined;
}

const silent: DatapathLogger = { info() {}, warn() {}, error() {} };

export class EndpointTable {
  private readonly byHi = new Map<number, Map<number, Endpoint>>();
  private readonly failedUntil = new Map<string, number>();
  private nextTag = 1;
  private nextSerial = 1;
  private last: Endpoint | undefined;
  private lastHi = -1;
  private lastLo = -1;
  private count = 0;
  private readonly mtu: number;
  private readonly maxEndpoints: number;
  private readonly retryAfterMs: number;
  private readonly idleMs: number;
  private readonly listeners: readonly EndpointListener[];
  private readonly log: DatapathLogger;

  constructor(
    private readonly port: DatapathPort,
    options: EndpointTableOptions,
    private readonly counters: DatapathCounters,
    private readonly onReadable: (ep: Endpoint) => void,
    /** Called once per new endpoint, right after its listeners were started. */
    private readonly onCreated?: (ep: Endpoint) => void,
    /** Called once per endpoint being removed, before its DESTROY listeners run. */
    private readonly onRemoved?: (ep: Endpoint) => void,
  ) {
    // Ranges are the settings' (config/schema.ts), checked when the config is resolved.
    this.mtu = options.mtu;
    this.maxEndpoints = options.maxEndpoints;
    this.retryAfterMs = options.retryAfterMs ?? 5000;
    this.idleMs = options.endpointIdleTimeoutMs;
    this.listeners = options.listeners ?? [];
    this.log = options.logger ?? silent;
  }

  get size(): number {
    return this.count;
  }

  /** All live endpoints. */
  list(): Endpoint[] {
    const out: Endpoint[] = [];
    for (const m of this.byHi.values()) for (const ep of m.values()) out.push(ep);
    return out;
  }

  /**
   * The endpoint for an id given as two unsigned 32-bit halves, created on first sight. Returns a
   * drop reason when it cannot be served.
   */
  lookup(
    hi: number,
    lo: number,
    now: number,
  ): Endpoint | "ENDPOINT_UNAVAILABLE" | "TOO_MANY_ENDPOINTS" {
    if (hi === this.lastHi && lo === this.lastLo && this.last !== undefined) return this.last;
    const ep = this.byHi.get(hi)?.get(lo);
    if (ep !== undefined) {
      this.last = ep;
      this.lastHi = hi;
      this.lastLo = lo;
      return ep;
    }
    return this.create(hi, lo, now);
  }

  private create(
    hi: number,
    lo: number,
    now: number,
  ): Endpoint | "ENDPOINT_UNAVAILABLE" | "TOO_MANY_ENDPOINTS" {
    if (this.count >= this.maxEndpoints) return "TOO_MANY_ENDPOINTS";
    const failKey = `${hi}:${lo}`;
    const until = this.failedUntil.get(failKey);
    if (until !== undefined && now < until) return "ENDPOINT_UNAVAILABLE";
    const info = endpointInfo((BigInt(hi) << 32n) | BigInt(lo));
    let gwi: TunLike | undefined;
    let gwo: TunLike | undefined;
    try {
      gwi = this.port.openTun(info.gwi, this.mtu);
      gwo = this.port.openTun(info.gwo, this.mtu);
    } catch (err) {
      gwi?.close();
      this.failedUntil.set(failKey, now + this.retryAfterMs);
      this.log.error(
        { endpoint: info.idHex17, gwi: info.gwi, gwo: info.gwo, err: String(err) },
        "cannot create endpoint interfaces",
      );
      return "ENDPOINT_UNAVAILABLE";
    }
    this.failedUntil.delete(failKey);
    const tag = this.allocateTag();
    const ep = new Endpoint(info, tag, this.nextSerial++, gwi, gwo);
    ep.lastSeen = now;
    ep.createdAt = now;
    ep.watches.push(this.port.watch(gwo.fd, () => this.onReadable(ep)));
    ep.watches.push(this.port.watch(gwi.fd, () => this.onReadable(ep)));
    let m = this.byHi.get(hi);
    if (m === undefined) this.byHi.set(hi, (m = new Map()));
    m.set(lo, ep);
    this.count++;
    this.counters.endpointsCreated++;
    this.last = ep;
    this.lastHi = hi;
    this.lastLo = lo;
    this.log.info(
      { endpoint: info.idHex17, gwi: info.gwi, gwo: info.gwo },
      "endpoint interfaces created",
    );
    ep.ready = this.runListeners(ep, "created").then(() => {
      ep.setupDone = true;
    });
    this.onCreated?.(ep);
    return ep;
  }

  /**
   * Takes over an endpoint whose interfaces a previous daemon left open (a restart): the tuns are
   * used as they are, its flow-key tag kept when given (the kernel's flows carry it), and only
   * the listeners that re-apply their state at a start run (`adopted`: rp_filter, rules; the
   * CREATE hook does not run again). No hold queue: its forwarding is already set up.
   */
  adopt(id: bigint, gwi: TunLike, gwo: TunLike, tag: number | undefined, now: number): Endpoint {
    const info = endpointInfo(id);
    const live = new Set(this.list().map((e) => e.tag));
    const t = tag !== undefined && !live.has(tag) ? tag : this.allocateTag();
    const ep = new Endpoint(info, t, this.nextSerial++, gwi, gwo);
    ep.lastSeen = now;
    ep.createdAt = now;
    ep.watches.push(this.port.watch(gwo.fd, () => this.onReadable(ep)));
    ep.watches.push(this.port.watch(gwi.fd, () => this.onReadable(ep)));
    const hi = Number(id >> 32n);
    let m = this.byHi.get(hi);
    if (m === undefined) this.byHi.set(hi, (m = new Map()));
    m.set(Number(id & 0xffffffffn), ep);
    this.count++;
    this.counters.endpointsAdopted++;
    this.log.info(
      { endpoint: info.idHex17, gwi: info.gwi, gwo: info.gwo, tag: t },
      "endpoint adopted",
    );
    ep.ready = this.runListeners(ep, "adopted").then(() => {
      ep.setupDone = true;
    });
    return ep;
  }

  /** Stops watching every endpoint's tuns and leaves them open (a restart hands them over). */
  detachAll(): void {
    for (const ep of this.list()) {
      for (const w of ep.watches) w.stop();
      ep.watches = [];
      if (ep.hold?.timer) clearTimeout(ep.hold.timer);
    }
  }

  private async runListeners(
    ep: Endpoint,
    what: "created" | "destroyed" | "adopted",
  ): Promise<void> {
    const order = what === "destroyed" ? [...this.listeners].reverse() : this.listeners;
    for (const l of order) {
      const step = l[what];
      if (step === undefined) continue;
      try {
        await step.call(l, ep.info);
      } catch (err) {
        this.counters.listenerErrors++;
        this.log.warn(
          { endpoint: ep.info.idHex17, gwi: ep.info.gwi, phase: what, err: String(err) },
          "endpoint listener failed",
        );
      }
    }
  }

  /** Runs destroyed() listeners, then removes the interfaces. */
  async remove(ep: Endpoint): Promise<void> {
    if (ep.closed) return;
    ep.closed = true;
    const m = this.byHi.get(Number(ep.info.id >> 32n));
    m?.delete(Number(ep.info.id & 0xffffffffn));
    if (this.last === ep) {
      this.last = undefined;
      this.lastHi = this.lastLo = -1;
    }
    this.count--;
    this.onRemoved?.(ep);
    for (const w of ep.watches) w.stop();
    ep.watches = [];
    await ep.ready;
    await this.runListeners(ep, "destroyed");
    ep.gwi.close();
    ep.gwo.close();
    this.counters.endpointsRemoved++;
    this.log.info({ endpoint: ep.info.idHex17, gwi: ep.info.gwi }, "endpoint interfaces removed");
  }

  /**
   * Flow-key tag for a new endpoint: 1..65535, not reused until the counter wraps, so flows left
   * by a removed endpoint never match its successor.
   */
  private allocateTag(): number {
    const live = new Set(this.list().map((e) => e.tag));
    for (;;) {
      const t = this.nextTag;
      this.nextTag = t >= 65535 ? 1 : t + 1;
      if (!live.has(t)) return t;
    }
  }

  /** Removes endpoints idle for longer than endpointIdleTimeoutMs; returns how many. */
  sweepIdle(now: number): number {
    if (this.idleMs <= 0) return 0;
    let n = 0;
    for (const ep of this.list()) {
      if (now - ep.lastSeen >= this.idleMs) {
        n++;
        this.log.info(
          { endpoint: ep.info.idHex17, idleMs: Math.round(now - ep.lastSeen) },
          "endpoint idle: removing its interfaces",
        );
        void this.remove(ep);
      }
    }
    return n;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((ep) => this.remove(ep)));
  }
}
