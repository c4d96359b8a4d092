/**
 * The per-packet loop.
 *
 * Forward: recvmmsg a batch of GENEVE datagrams into one buffer -> decode each header in place
 * (no allocation) -> find or create the endpoint's tun pair -> remember the flow (stored GENEVE
 * header + GWLB address/port) -> write every inner packet to its gwi-X in one addon call.
 * Return: read packets from gwo-X (and gwi-X) into a second buffer, each at a fixed headroom ->
 * look the flow up in either direction -> copy the stored header in front of the packet -> the
 * addon adds IPv4 + UDP headers (checksum included) and sends the batch with sendmmsg to the
 * GWLB's address, port 6081, from the GWLB's original source port.
 *
 * With a tc mirred (or any synchronous) pass-through, what is written to gwi-X is already queued
 * on gwo-X when write() returns, so after each forward batch the touched endpoints' gwo-X are
 * drained at once: one event-loop wake-up per batch instead of two. Packets that show up later
 * (kernel forwarding, local processes) are picked up by libuv readiness on both descriptors.
 *
 * Three cases beyond the plain 5-tuple match:
 * - Hold queue: a new endpoint's packets are kept (bounded by count and bytes, newest dropped when
 *   full: HOLD_QUEUE_FULL) until its listeners (rp_filter, CREATE hook, rules) have finished, then
 *   written to gwi-X in order; after `holdTimeoutMs` they are written anyway (fail-open, counted),
 *   so a hung hook delays a new endpoint's first packets but never black-holes it.
 * - ICMP/ICMPv6 errors read from a tun are matched by the packet they quote (original direction).
 * - Fragments without ports are matched through the first fragment of their datagram: a short,
 *   bounded table maps (tag, protocol, source, destination, fragment id) to the flow.
 * - Health canary (`canaryIntervalMs`): every interval, each endpoint whose listeners finished
 *   gets one probe written to gwi-X; read back from gwo-X it is consumed (never sent to the
 *   GWLB, never counted as traffic) and recorded as a round trip (see canary.ts). Inner packets
 *   from the GWLB with the canary's signature are dropped (CANARY_SPOOFED). On the kernel path
 *   each probe first crosses tg_decap (KernelPath.canaryProbe) and comes back from gwo-X as
 *   tg_encap's encapsulation, checked byte for byte (canaryRead; see kernel-canary.ts).
 */
import {
  createGeneveScratch,
  decodeGeneveInto,
  GENEVE_MAX_HEADER_LENGTH,
  type GeneveScratch,
} from "../geneve/codec";
import { CANARY_PORT, hasCanarySignature } from "../canary";
import { GENEVE_PORT } from "../protocol";
import type { FlowTimeouts } from "../flow/table";
import { createFlowKey, writeFlowKey, writeFragmentKey } from "../flow/key";
import { FlowRecords, FragmentMap } from "../flow/records";
import { createPacketScratch, locatePacket, type PacketScratch } from "../packet/parse";
import { icmpErrorQuoteOffset } from "../packet/icmp-error";
import type { Watch } from "../io/poll";
import { RAW_HEADER_ROOM, Result, RX_TRUNCATED, RxMeta, TxMeta } from "../io/layout";
import { compileSourceAllowList, sourceAllowed, type SourceAllowList } from "../config/cidr";
import { CanaryProber } from "./canary";
import { createCounters, type DatapathCounters, type DatapathDropReason } from "./counters";
import {
  EndpointTable,
  type DatapathLogger,
  type Endpoint,
  type EndpointTableOptions,
  HoldQueue,
} from "./endpoints";
import type { KernelPath } from "./kernel";
import { looksEncapsulatedCanary } from "./kernel-canary";
import { fdName, type HandoverState, type NamedFd } from "../daemon/fdstore";
import type { DatapathPort, TunLike } from "./port";

/** Receive slot: larger than any GWLB datagram (8500-byte inner packet + GENEVE + options). */
export const RX_SLOT = 9216;
/** Bytes in front of each packet read from a tun: IPv4 + UDP + the largest GENEVE header. */
export const TX_HEADROOM = 320;
/** Largest packet read from a tun (the MTU is 8500; anything larger is dropped). */
export const TX_CAP = 9216;
const TX_STRIDE = TX_HEADROOM + TX_CAP;

/**
 * The data path's settings, resolved: each comes from the appliance config (daemon/index.ts,
 * `datapathSettings`), which owns the defaults and ranges; none has a default here.
 */
/** A handed-over endpoint (a restart): its id, flow-key tag, opened tuns and stored links. */
export interface AdoptTuns {
  readonly id: bigint;
  readonly tag: number | undefined;
  readonly gwi: TunLike;
  readonly gwo: TunLike;
  /** Kernel path: the stored tcx links of gwi-X / gwo-X (their program is swapped). */
  readonly links: { readonly gwi?: number; readonly gwo?: number };
}

export interface DatapathSettings {
  readonly mtu: number;
  readonly maxEndpoints: number;
  /** 0 keeps endpoints until shutdown. */
  readonly endpointIdleTimeoutMs: number;
  /** Datagrams per recvmmsg / packets per tun drain. */
  readonly batchSize: number;
  /**
   * Receive-side coalescing window in microseconds (DatapathPort.watchReceive): a datagram
   * arriving within this long of the previous batch waits this long so more come with it. 0
   * disables.
   */
  readonly rxCoalesceUs: number;
  /** Flow table bound (its slots are preallocated, committed as they fill). */
  readonly maxFlows: number;
  /** Idle timeouts in seconds. */
  readonly flowTimeouts: FlowTimeouts;
  /**
   * Hold a new endpoint's packets until its listeners finished, at most this long (ms); then they
   * are written anyway. 0 disables holding (packets go to gwi-X at once, as gwlbtun does).
   * Without listeners nothing is held.
   */
  readonly holdTimeoutMs: number;
  /** Most packets held per new endpoint; newer ones are dropped (HOLD_QUEUE_FULL). */
  readonly holdMaxPackets: number;
  /** Most bytes (inner packets) held per new endpoint. */
  readonly holdMaxBytes: number;
  /**
   * IPv4 CIDRs GENEVE is accepted from (the GWLB's subnets); datagrams from any other source
   * are dropped as SOURCE_NOT_ALLOWED before decoding. Empty: any source.
   */
  readonly geneveSources: readonly string[];
  /**
   * Health canary period, ms: each endpoint gets one probe per period once its listeners have
   * finished. 0: no canary.
   */
  readonly canaryIntervalMs: number;
}

/** Settings plus the seams (clock, listeners, logger, timers) tests and the daemon inject. */
export interface DatapathOptions
  extends DatapathSettings, Omit<EndpointTableOptions, keyof DatapathSettings> {
  /** Milliseconds, monotonic. Defaults to performance.now(). */
  readonly clock?: () => number;
  /** Drain gwo-X right after writing to gwi-X. Defaults to true. */
  readonly inlineDrain?: boolean;
  /** Bound of the fragment-id -> flow table. Defaults to 16384. */
  readonly maxFragments?: number;
  /** Seconds a fragment-id -> flow mapping lives after its last use. Defaults to 10. */
  readonly fragmentTimeout?: number;
  /** Called with each canary round trip, ms (metrics). */
  readonly onCanaryRoundTrip?: (ms: number) => void;
  /**
   * The kernel data path (eBPF), when it runs: it handles most packets itself and sends the
   * rest up through the socket and the tuns, where this class handles them as always; flows it
   * stored are looked up here for those packets (ICMP errors, fragments).
   */
  readonly kernel?: KernelPath;
  /** Endpoints a previous daemon handed over (a restart): adopted by start(), before receiving. */
  readonly adopt?: readonly AdoptTuns[];
}

export const DEFAULT_MAX_FRAGMENTS = 16384;
export const DEFAULT_FRAGMENT_TIMEOUT = 10;

export class Datapath {
  readonly counters: DatapathCounters = createCounters();
  /** What each flow's replies need (outer header, GWLB address and port), by flow key. */
  readonly flows: FlowRecords;
  /** Fragmented datagram (writeFragmentKey) -> the flow its first fragment matched. */
  readonly fragments: FragmentMap;
  readonly endpoints: EndpointTable;
  /** Clock value of the last datagram received or reply sent (0: never). */
  lastActivity = 0;
  /** The health canary prober, when enabled (canaryIntervalMs > 0). */
  readonly canary: CanaryProber | undefined;
  readonly canaryIntervalMs: number;
  readonly kernel: KernelPath | undefined;
  private readonly toAdopt: AdoptTuns[];
  private finished = false;

  private readonly batch: number;
  private readonly clock: () => number;
  private readonly inlineDrain: boolean;
  private readonly rxCoalesceUs: number;
  private readonly rxBuf: Buffer;
  private readonly rxMeta: Uint32Array;
  private readonly wFds: Int32Array;
  private readonly wOffs: Uint32Array;
  private readonly wLens: Uint32Array;
  private readonly wErrs: Int32Array;
  private readonly txBuf: Buffer;
  private readonly txLens: Uint32Array;
  private readonly txMeta: Uint32Array;
  /** The outcome of the last port call of each kind (io/layout Result). */
  private readonly result = new Int32Array(Result.FIELDS);
  private readonly geneve: GeneveScratch = createGeneveScratch();
  private readonly pkt: PacketScratch = createPacketScratch();
  private readonly quoted: PacketScratch = createPacketScratch();
  /** Scratch keys: a packet's flow key, a fragment key, the flow a fragment maps to. */
  private readonly key = createFlowKey();
  private readonly fragKey = createFlowKey();
  private readonly mappedKey = createFlowKey();
  /** Eviction warnings of the daemon's flow table and of the kernel's (see logEvictions). */
  private readonly tableEvictions = new EvictionWarning((evicted, total) =>
    this.log.warn(
      { evicted, evictedTotal: total, maxEntries: this.flows.table.capacity },
      "flow table full: least recently used flows evicted, their replies are dropped until their next packet from the GWLB; raise flows.maxEntries",
    ),
  );
  private readonly kernelEvictions = new EvictionWarning((evicted, total) =>
    this.log.warn(
      { evicted, evictedTotal: total, maxEntries: this.kernel?.describe().flowCapacity },
      "kernel flow map (tg_flows) full: the kernel evicted least recently used flows, their replies go up to the daemon and are dropped until their next packet from the GWLB; raise flows.maxEntries",
    ),
  );
  private readonly holdMs: number;
  /** Allowed GENEVE sources; undefined accepts any. */
  private readonly sources: SourceAllowList | undefined;
  private readonly holdMaxPackets: number;
  private readonly holdMaxBytes: number;
  private readonly touched: Endpoint[] = [];
  private batchSeq = 0;
  private socketWatch: Watch | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private canaryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: DatapathLogger;

  constructor(
    private readonly port: DatapathPort,
    options: DatapathOptions,
  ) {
    // Ranges are the settings' (config/schema.ts), checked when the config is resolved.
    this.batch = options.batchSize;
    this.rxCoalesceUs = options.rxCoalesceUs;
    // `performance` is a lazy getter on globalThis: resolve it once, not per batch.
    const perf = performance;
    this.clock = options.clock ?? (() => perf.now());
    this.inlineDrain = options.inlineDrain ?? true;
    this.flows = new FlowRecords({
      capacity: options.maxFlows,
      timeouts: options.flowTimeouts,
      clock: this.clock,
    });
    const fragTimeout = options.fragmentTimeout ?? DEFAULT_FRAGMENT_TIMEOUT;
    this.fragments = new FragmentMap({
      capacity: options.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      timeouts: { tcp: fragTimeout, udp: fragTimeout, other: fragTimeout },
      clock: this.clock,
    });
    this.sources =
      options.geneveSources.length > 0 ? compileSourceAllowList(options.geneveSources) : undefined;
    this.holdMs = options.holdTimeoutMs;
    this.holdMaxPackets = options.holdMaxPackets;
    this.holdMaxBytes = options.holdMaxBytes;
    this.log = options.logger ?? { info() {}, warn() {}, error() {} };
    this.canaryIntervalMs = options.canaryIntervalMs;
    this.canary =
      this.canaryIntervalMs > 0 ? new CanaryProber(options.onCanaryRoundTrip) : undefined;
    this.kernel = options.kernel;
    this.toAdopt = [...(options.adopt ?? [])];
    const holding = this.holdMs > 0 && (options.listeners?.length ?? 0) > 0;
    this.endpoints = new EndpointTable(
      port,
      options,
      this.counters,
      (ep) => this.onTunReadable(ep),
      (ep) => this.endpointCreated(ep, holding),
      (ep) => this.guard(() => this.kernel?.removeEndpoint(ep)),
    );
    const b = this.batch;
    this.rxBuf = Buffer.alloc(RX_SLOT * b);
    this.rxMeta = new Uint32Array(RxMeta.WORDS * b);
    this.wFds = new Int32Array(b);
    this.wOffs = new Uint32Array(b);
    this.wLens = new Uint32Array(b);
    this.wErrs = new Int32Array(b);
    this.txBuf = Buffer.alloc(TX_STRIDE * b);
    this.txLens = new Uint32Array(b);
    this.txMeta = new Uint32Array(TxMeta.WORDS * b);
    port.bind({
      rxBuf: this.rxBuf,
      slot: RX_SLOT,
      rxMeta: this.rxMeta,
      wFds: this.wFds,
      wOffs: this.wOffs,
      wLens: this.wLens,
      wErrs: this.wErrs,
      txBuf: this.txBuf,
      txBase: TX_HEADROOM,
      txStride: TX_STRIDE,
      txCap: TX_CAP,
      txLens: this.txLens,
      txMeta: this.txMeta,
      result: this.result,
    });
  }

  /** Adopts the handed-over endpoints (if any), then starts receiving. */
  start(sweepIntervalMs = 1000): void {
    if (this.running) return;
    this.running = true;
    for (const a of this.toAdopt.splice(0)) this.adoptEndpoint(a);
    const port = this.port;
    this.socketWatch = port.watchReceive(() => this.onBatch(), this.rxCoalesceUs);
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => {
        const now = this.clock();
        this.syncKernel(now);
        this.flows.table.sweep(now);
        this.fragments.sweep(now);
        this.endpoints.sweepIdle(now);
        this.logEvictions(now);
      }, sweepIntervalMs);
      this.sweepTimer.unref();
    }
    if (this.canary) {
      this.canaryTimer = setInterval(
        () => this.guard(() => this.sendCanaries()),
        this.canaryIntervalMs,
      );
      this.canaryTimer.unref();
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops receiving, tells listeners (DESTROY hooks) and removes every endpoint's interfaces. */
  async stop(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.halt();
    await this.endpoints.closeAll();
    this.kernel?.close();
    this.flows.clear();
    this.fragments.clear();
  }

  /**
   * For a restart: stops receiving and watching, and leaves every interface, link and map as it
   * is (no DESTROY hooks). Returns the descriptors the next daemon needs, named for the fd store,
   * and the state it cannot read back from the kernel. The data path keeps owning them.
   */
  handOver(): { fds: NamedFd[]; endpoints: HandoverState["endpoints"] } {
    this.halt();
    this.endpoints.detachAll();
    const eps = this.endpoints.list();
    const fds: NamedFd[] = eps.flatMap((ep) => [
      { name: fdName({ kind: "tun", side: "gwi", endpoint: ep.info.idHex17 }), fd: ep.gwi.fd },
      { name: fdName({ kind: "tun", side: "gwo", endpoint: ep.info.idHex17 }), fd: ep.gwo.fd },
    ]);
    return {
      fds: [...fds, ...(this.kernel?.handoverFds() ?? [])],
      endpoints: eps.map((ep) => ({ id: ep.info.idHex17, tag: ep.tag })),
    };
  }

  /** Stops receiving and the timers; false when it was not running. */
  private halt(): boolean {
    if (!this.running) return false;
    this.running = false;
    this.socketWatch?.stop();
    this.socketWatch = undefined;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    if (this.canaryTimer) clearInterval(this.canaryTimer);
    this.canaryTimer = undefined;
    return true;
  }

  /** A handed-over endpoint: tuns as they are, kernel links updated, no hold queue. */
  private adoptEndpoint(a: AdoptTuns): void {
    const ep = this.endpoints.adopt(a.id, a.gwi, a.gwo, a.tag, this.clock());
    const kernel = this.kernel;
    if (kernel !== undefined) {
      try {
        kernel.attachEndpoint(ep, a.links);
      } catch (err) {
        this.log.error(
          { endpoint: ep.info.idHex17, gwi: ep.info.gwi, err: String(err) },
          "cannot attach the kernel data path to an adopted endpoint: the daemon serves it",
        );
        kernel.removeEndpoint(ep);
        return;
      }
    }
    this.activateKernel(ep);
  }

  /** A batch the port received into rxBuf (watchReceive). */
  private onBatch(): void {
    if (!this.running) return;
    if (this.result[Result.RECV_ERRNO] !== 0) {
      this.counters.rxErrors++;
      return;
    }
    try {
      this.forward(this.result[Result.RECEIVED]!);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** Forwards the n datagrams in rxBuf (exposed for tests). */
  forward(n: number): void {
    const c = this.counters;
    const meta = this.rxMeta;
    const buf = this.rxBuf;
    const g = this.geneve;
    const pkt = this.pkt;
    const sources = this.sources;
    const now = this.clock();
    const seq = ++this.batchSeq;
    let w = 0;
    c.rxBatches++;
    c.rxDatagrams += n;
    this.lastActivity = now;
    for (let k = 0; k < n; k++) {
      const m = RxMeta.WORDS * k;
      const lenWord = meta[m + RxMeta.LENGTH]!;
      const off = k * RX_SLOT;
      c.rxBytes += lenWord & ~RX_TRUNCATED;
      if (sources !== undefined && !sourceAllowed(sources, meta[m + RxMeta.SOURCE]!)) {
        c.drops.SOURCE_NOT_ALLOWED++;
        continue;
      }
      if (lenWord & RX_TRUNCATED) {
        c.drops.TRUNCATED++;
        continue;
      }
      const reason = decodeGeneveInto(buf, off, lenWord, g);
      if (reason !== undefined) {
        c.drops[reason]++;
        continue;
      }
      const ep = this.endpoints.lookup(g.endpointIdHi, g.endpointIdLo, now);
      if (ep === undefined || typeof ep === "string") {
        c.drops[ep ?? "ENDPOINT_UNAVAILABLE"]++;
        continue;
      }
      if (locatePacket(buf, g.innerOffset, g.innerLength, pkt) !== undefined) {
        c.drops.INNER_UNPARSEABLE++;
        continue;
      }
      if (pkt.dstPort === CANARY_PORT && hasCanarySignature(buf, pkt)) {
        c.drops.CANARY_SPOOFED++;
        continue;
      }
      if (pkt.fragment) {
        this.rememberFragment(ep, off, g.headerLength, m, now);
      } else {
        writeFlowKey(buf, pkt, ep.tag, this.key);
        this.remember(ep, off, g.headerLength, m, now);
      }
      if (ep.hold !== undefined) {
        this.holdPacket(ep, g.innerOffset, g.innerLength);
        continue;
      }
      this.wFds[w] = ep.gwi.fd;
      this.wOffs[w] = g.innerOffset;
      this.wLens[w] = g.innerLength;
      w++;
      if (ep.batchSeq !== seq) {
        ep.batchSeq = seq;
        ep.batchCount = 0;
        this.touched.push(ep);
      }
      ep.batchCount++;
    }
    const touched = this.touched;
    // One endpoint in the batch (the usual case): write and read back in one port call.
    let preread = false;
    if (w > 0) {
      if (this.inlineDrain && touched.length === 1) {
        const ep = touched[0]!;
        this.port.writeRead(w, ep.gwo.fd, Math.min(ep.batchCount, this.batch));
        preread = true;
      } else {
        this.port.write(w);
      }
      const ok = this.result[Result.WRITTEN]!;
      c.tunTxPackets += ok;
      if (ok < w) {
        c.drops.TUN_WRITE_ERROR += w - ok;
        for (let k = 0; k < w; k++) if (this.wErrs[k] === 0) c.tunTxBytes += this.wLens[k]!;
      } else {
        for (let k = 0; k < w; k++) c.tunTxBytes += this.wLens[k]!;
      }
    }
    for (let i = 0; i < touched.length; i++) {
      const ep = touched[i]!;
      ep.lastSeen = now;
      // A synchronous pass-through (tc mirred) has queued exactly what was written: reading
      // that many saves the read() that would only return EAGAIN. Anything else is picked up by
      // readiness.
      if (this.inlineDrain && !ep.closed) {
        this.drain(ep, ep.gwo.fd, ep.batchCount, now, i === 0 && preread);
      }
    }
    touched.length = 0;
  }

  /** Forward path: remembers the flow of this.key (the datagram at rxBuf[off], rxMeta m); its slot. */
  private remember(ep: Endpoint, off: number, hlen: number, m: number, now: number): number {
    const meta = this.rxMeta;
    return this.flows.remember(
      this.key,
      this.pkt.proto,
      ep.serial,
      this.rxBuf,
      off,
      hlen,
      meta[m + RxMeta.SOURCE]!,
      meta[m + RxMeta.SOURCE_PORT]!,
      meta[m + RxMeta.LOCAL]!,
      now,
    );
  }

  /**
   * Forward path, a fragment (in this.pkt; its datagram's rxMeta from m): the first fragment
   * (ports present) is remembered as its flow and maps the datagram to it; a later fragment
   * refreshes the flow its first fragment mapped (it carries the same GENEVE header), or, when
   * that was not seen, is remembered by addresses and protocol like any port-less packet.
   */
  private rememberFragment(ep: Endpoint, off: number, hlen: number, m: number, now: number): void {
    const buf = this.rxBuf;
    const pkt = this.pkt;
    writeFragmentKey(buf, pkt, ep.tag, this.fragKey);
    if (
      pkt.l4Offset < 0 &&
      this.fragments.flowOf(this.fragKey, this.mappedKey, now) &&
      this.flows.lookup(this.mappedKey, ep.serial, now) >= 0
    ) {
      this.counters.fragmentsMatched++;
      return;
    }
    writeFlowKey(buf, pkt, ep.tag, this.key);
    const slot = this.remember(ep, off, hlen, m, now);
    if (pkt.l4Offset >= 0) this.fragments.map(this.fragKey, pkt.proto, this.flows, slot, now);
  }

  /**
   * Adds what the kernel path counted to the counters and refreshes the activity of endpoints
   * whose traffic it carried (no-op on the user path).
   */
  syncKernel(now = this.clock()): void {
    this.guard(() => this.kernel?.sync(this.counters, this.endpoints.list(), now));
  }

  /**
   * A new endpoint: on the kernel path its interfaces get tg_encap now and tg_decap serves it once
   * its held packets are out (until then its datagrams come up to the socket, in order).
   */
  private endpointCreated(ep: Endpoint, holding: boolean): void {
    const kernel = this.kernel;
    if (kernel !== undefined) {
      try {
        kernel.attachEndpoint(ep);
      } catch (err) {
        // Its packets keep coming up to the daemon: the user path serves this endpoint.
        this.log.error(
          { endpoint: ep.info.idHex17, gwi: ep.info.gwi, err: String(err) },
          "cannot attach the kernel data path to the endpoint's interfaces: the daemon serves it",
        );
        kernel.removeEndpoint(ep);
      }
    }
    if (holding) this.startHold(ep);
    else this.activateKernel(ep);
  }

  private activateKernel(ep: Endpoint): void {
    if (ep.closed) return;
    this.guard(() => this.kernel?.activateEndpoint(ep));
  }

  /** Starts holding a new endpoint's packets until its listeners finish or the hold times out. */
  private startHold(ep: Endpoint): void {
    const q = new HoldQueue();
    ep.hold = q;
    q.timer = setTimeout(() => this.releaseHold(ep, true), this.holdMs);
    q.timer.unref();
    ep.ready.then(
      () => this.releaseHold(ep, false),
      () => this.releaseHold(ep, false),
    );
  }

  /** Keeps a copy of the inner packet at buf[off, off + len) in ep's hold queue (or drops it). */
  private holdPacket(ep: Endpoint, off: number, len: number): void {
    const q = ep.hold!;
    const c = this.counters;
    ep.lastSeen = this.lastActivity;
    if (q.packets.length >= this.holdMaxPackets || q.bytes + len > this.holdMaxBytes) {
      c.drops.HOLD_QUEUE_FULL++;
      return;
    }
    q.packets.push(Buffer.from(this.rxBuf.subarray(off, off + len)));
    q.bytes += len;
    c.holdQueued++;
  }

  /** Ends ep's hold: writes the held packets to gwi-X in order (or counts them abandoned). */
  private releaseHold(ep: Endpoint, timedOut: boolean): void {
    const q = ep.hold;
    if (q === undefined) return;
    ep.hold = undefined;
    if (q.timer !== undefined) clearTimeout(q.timer);
    const c = this.counters;
    if (timedOut) {
      c.holdTimeouts++;
      this.log.warn(
        { endpoint: ep.info.idHex17, gwi: ep.info.gwi, held: q.packets.length, ms: this.holdMs },
        "endpoint listeners still running after the hold timeout: releasing its held packets",
      );
    }
    if (ep.closed || !this.running) {
      c.drops.HOLD_ABANDONED += q.packets.length;
      return;
    }
    this.guard(() => this.flushHeld(ep, q.packets));
    this.activateKernel(ep);
  }

  private flushHeld(ep: Endpoint, packets: readonly Buffer[]): void {
    const c = this.counters;
    const buf = this.rxBuf;
    // rxBuf is free between batches (JS is single-threaded): stage the held packets in its slots.
    for (let i = 0; i < packets.length;) {
      let w = 0;
      for (; w < this.batch && i < packets.length; w++, i++) {
        const p = packets[i]!;
        const off = w * RX_SLOT;
        p.copy(buf, off);
        this.wFds[w] = ep.gwi.fd;
        this.wOffs[w] = off;
        this.wLens[w] = p.length;
      }
      this.port.write(w);
      const ok = this.result[Result.WRITTEN]!;
      c.tunTxPackets += ok;
      c.holdFlushed += ok;
      if (ok < w) c.drops.TUN_WRITE_ERROR += w - ok;
      for (let k = 0; k < w; k++)
        if (ok === w || this.wErrs[k] === 0) c.tunTxBytes += this.wLens[k]!;
      if (this.inlineDrain && !ep.closed) this.drain(ep, ep.gwo.fd, w, this.clock());
    }
  }

  /**
   * Writes one canary probe to gwi-X of every endpoint whose listeners have finished (the one
   * still in flight, if any, counts as lost), then reads gwo-X once, for a synchronous path (tc
   * mirred). Exposed for tests.
   */
  sendCanaries(): void {
    const prober = this.canary;
    if (prober === undefined || !this.running) return;
    const now = this.clock();
    const ready = this.endpoints.list().filter((ep) => ep.setupDone && !ep.closed);
    const buf = this.rxBuf;
    // rxBuf is free between batches (JS is single-threaded): stage the probes in its slots.
    for (let i = 0; i < ready.length;) {
      const group = ready.slice(i, i + this.batch);
      i += group.length;
      const written: Endpoint[] = [];
      for (const ep of group) {
        const p = prober.next(ep.canary, now);
        // Kernel path: the probe first crosses tg_decap (a test run); one it would not deliver
        // into gwi-X is not written (it stays outstanding: lost at the next probe).
        const k = this.kernel?.canaryProbe(ep, p);
        ep.canary.kernel = k;
        if (k?.via === "lost") {
          this.logCanaryLoss(ep, k.reason);
          ep.canary.problem = `kernel path: ${k.reason}`;
          continue;
        }
        const w = written.push(ep) - 1;
        p.copy(buf, w * RX_SLOT);
        this.wFds[w] = ep.gwi.fd;
        this.wOffs[w] = w * RX_SLOT;
        this.wLens[w] = p.length;
      }
      if (written.length > 0) this.port.write(written.length);
      if (this.inlineDrain) for (const ep of written) if (!ep.closed) this.drain(ep, ep.gwo.fd, 1);
    }
  }

  /** Logs why the kernel path would lose an endpoint's canary, once per run of losses. */
  private logCanaryLoss(ep: Endpoint, reason: string): void {
    if (ep.canary.consecutiveLost > 0) return;
    this.log.warn(
      { endpoint: ep.info.idHex17, gwi: ep.info.gwi, reason },
      "kernel path: the canary would not reach gwi-X",
    );
  }

  /**
   * A canary read from ep's tun (located in this.pkt, or, encapsulated, at buf[off, off + len)):
   * a round trip when it is the probe in flight and came out of gwo-X the way real traffic would
   * leave. On the kernel path that is tg_encap's encapsulation, byte for byte; or, when tg_encap
   * sent it up (or tg_decap did, and the daemon carried it), the daemon's own return path: for a
   * probe tg_decap carried, the flow tg_decap stored must give the header the GWLB sent.
   */
  private canaryRead(
    ep: Endpoint,
    buf: Buffer,
    off: number,
    len: number,
    encapsulated: boolean,
    fromGwo: boolean,
    now: number,
  ): void {
    const prober = this.canary;
    if (prober === undefined) return;
    const k = ep.canary.kernel;
    const pkt = this.pkt;
    let problem: string | undefined;
    if (encapsulated) {
      // Ethernet + IPv4 + UDP + the GENEVE header, then the canary.
      const inner = off + 14 + 20 + 8 + (k?.via !== "lost" ? (k?.flow.header.length ?? 0) : 0);
      if (k === undefined || k.via === "lost") {
        problem = "kernel path: tg_encap encapsulated a canary tg_decap did not carry";
      } else if (!k.expected.some((e) => buf.compare(e, 0, e.length, off, off + len) === 0)) {
        problem = `kernel path: tg_encap's output (${len} bytes) is not the correct encapsulation (${k.expected[0]?.length ?? 0} bytes)`;
      } else if (locatePacket(buf, inner, off + len - inner, pkt) !== undefined) {
        problem = "kernel path: tg_encap's output carries no canary";
      }
    } else if (k?.via === "kernel") {
      // tg_encap sent it up: the daemon's return path encapsulates with the flow tg_decap stored.
      const f = this.kernel?.lookupFlow(buf, pkt, ep);
      const same =
        f !== undefined &&
        f.header.equals(k.flow.header) &&
        f.gwlbAddress === k.flow.gwlbAddress &&
        f.gwlbPort === k.flow.gwlbPort &&
        f.localAddress === k.flow.localAddress;
      if (!same) {
        problem =
          "kernel path: tg_encap sent the canary up and tg_flows has no flow that gives its GENEVE header back";
      }
    }
    if (problem === undefined) {
      prober.received(ep.canary, buf, pkt, fromGwo, now);
      return;
    }
    if (fromGwo) ep.canary.problem = problem;
    prober.totals.stray++;
  }

  private onTunReadable(ep: Endpoint): void {
    if (!this.running || ep.closed) return;
    // Called for either descriptor; draining both costs one EAGAIN read at most.
    this.guard(() => {
      this.drain(ep, ep.gwo.fd, Infinity);
      this.drain(ep, ep.gwi.fd, Infinity);
    });
  }

  /**
   * Warns, at most once a minute per table, when the daemon's flow table or (kernel path) the
   * kernel's flow map has evicted live flows since the last warning: it is full
   * (flows.maxEntries), and an evicted flow's replies are dropped (UNKNOWN_FLOW) until its next
   * packet from the GWLB. Called by the sweep timer, after syncKernel.
   */
  logEvictions(now: number): void {
    this.tableEvictions.check(now, this.flows.stats.evicted);
    const kernel = this.kernel?.describe().flows?.evicted;
    if (kernel !== undefined) this.kernelEvictions.check(now, kernel);
  }

  /** A bug in per-packet code costs that batch, never the daemon: count it, log it, go on. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.internalError(err);
    }
  }

  private internalError(err: unknown): void {
    this.counters.internalErrors++;
    if (this.counters.internalErrors <= 10 || this.counters.internalErrors % 10000 === 0) {
      this.log.error(
        {
          err: err instanceof Error ? (err.stack ?? err.message) : String(err),
          count: this.counters.internalErrors,
        },
        "internal error in the data path (batch dropped)",
      );
    }
  }

  /** ep's flow of the packet in this.pkt by its own key: its slot, or -1. */
  private ownFlow(ep: Endpoint, buf: Buffer, now: number): number {
    writeFlowKey(buf, this.pkt, ep.tag, this.key);
    return this.lookupFlow(ep, buf, this.pkt, now);
  }

  /**
   * The slot of ep's flow with key this.key (the packet located in `s`): the flow table's, else
   * (kernel path) the flow tg_decap stored, copied into the table. -1 when neither has it.
   */
  private lookupFlow(ep: Endpoint, buf: Buffer, s: PacketScratch, now: number): number {
    const slot = this.flows.lookup(this.key, ep.serial, now);
    if (slot >= 0 || this.kernel === undefined) return slot;
    const k = this.kernel.lookupFlow(buf, s, ep);
    if (k === undefined) return -1;
    const h = k.header;
    return this.flows.remember(
      this.key,
      s.proto,
      ep.serial,
      h,
      0,
      h.length,
      k.gwlbAddress,
      k.gwlbPort,
      k.localAddress,
      now,
    );
  }

  private ownFlowCounted(ep: Endpoint, buf: Buffer, now: number): number {
    const s = this.ownFlow(ep, buf, now);
    if (s < 0) this.counters.drops.UNKNOWN_FLOW++;
    return s;
  }

  /** ep's flow that the datagram of this.fragKey was mapped to: its slot, or -1. */
  private mappedFlow(ep: Endpoint, now: number, peek = false): number {
    return this.fragments.flowOf(this.fragKey, this.mappedKey, now, peek)
      ? this.flows.lookup(this.mappedKey, ep.serial, now)
      : -1;
  }

  /**
   * Return path, ICMP/ICMPv6 (this.pkt): an error is matched by the packet it quotes (the
   * original direction of its flow), then by its own addresses; anything else by its own key.
   * Counts its drop. Returns the flow's slot, or -1.
   */
  private matchIcmp(ep: Endpoint, buf: Buffer, now: number): number {
    const pkt = this.pkt;
    const q = icmpErrorQuoteOffset(buf, pkt);
    if (q < 0) return this.ownFlowCounted(ep, buf, now);
    const quoted = this.quoted;
    if (locatePacket(buf, q, pkt.end - q, quoted, true) === undefined) {
      writeFlowKey(buf, quoted, ep.tag, this.key);
      let s = this.lookupFlow(ep, buf, quoted, now);
      if (s < 0 && quoted.fragment && quoted.l4Offset < 0) {
        writeFragmentKey(buf, quoted, ep.tag, this.fragKey);
        s = this.mappedFlow(ep, now, true);
      }
      if (s >= 0) {
        this.counters.icmpErrorsMatched++;
        return s;
      }
    }
    const own = this.ownFlow(ep, buf, now);
    if (own < 0) this.counters.drops.ICMP_ERROR_UNKNOWN_FLOW++;
    return own;
  }

  /**
   * Return path, a fragment (this.pkt): the first fragment matches its flow and maps its datagram
   * to it; a later one (no ports) follows that mapping, else falls back to its own key.
   * Counts its drop. Returns the flow's slot, or -1.
   */
  private matchFragment(ep: Endpoint, buf: Buffer, now: number): number {
    const pkt = this.pkt;
    if (pkt.l4Offset >= 0) {
      const s =
        pkt.proto === 1 || pkt.proto === 58
          ? this.matchIcmp(ep, buf, now)
          : this.ownFlowCounted(ep, buf, now);
      if (s >= 0) {
        writeFragmentKey(buf, pkt, ep.tag, this.fragKey);
        this.fragments.map(this.fragKey, pkt.proto, this.flows, s, now);
      }
      return s;
    }
    writeFragmentKey(buf, pkt, ep.tag, this.fragKey);
    const mapped = this.mappedFlow(ep, now);
    if (mapped >= 0) {
      this.counters.fragmentsMatched++;
      return mapped;
    }
    const own = this.ownFlow(ep, buf, now);
    if (own < 0) this.counters.drops.FRAGMENT_UNKNOWN_FLOW++;
    return own;
  }

  /**
   * Reads queued packets from fd (a tun of ep) and sends them to the GWLB: until the queue is
   * empty, or after `expect` packets when fewer than a batch are expected. `preread`: the first
   * read was already made (by writeRead), its outcome is in the result block.
   */
  drain(ep: Endpoint, fd: number, expect: number, at?: number, preread = false): void {
    const c = this.counters;
    const res = this.result;
    const buf = this.txBuf;
    const lens = this.txLens;
    const meta = this.txMeta;
    const pkt = this.pkt;
    const flows = this.flows;
    for (let round = 0; round < 16; round++) {
      if (round > 0 || !preread) this.port.read(fd, expect < this.batch ? expect : this.batch);
      const n = res[Result.READ]!;
      if (n === 0) {
        if (res[Result.READ_ERRNO] !== 0) ep.readErrors++;
        return;
      }
      const now = round === 0 && at !== undefined ? at : this.clock();
      let m = 0;
      let canaries = 0;
      for (let k = 0; k < n; k++) {
        const len = lens[k]!;
        const off = TX_HEADROOM + k * TX_STRIDE;
        c.tunRxBytes += len;
        if (len >= TX_CAP) {
          c.drops.RETURN_TOO_BIG++;
          continue;
        }
        // The kernel path's encapsulated canary (tg_encap hands it to the tun): consumed.
        if (this.kernel !== undefined && looksEncapsulatedCanary(buf, off, len)) {
          canaries++;
          c.tunRxBytes -= len;
          this.canaryRead(ep, buf, off, len, true, fd === ep.gwo.fd, now);
          continue;
        }
        if (locatePacket(buf, off, len, pkt) !== undefined) {
          c.drops.RETURN_UNPARSEABLE++;
          continue;
        }
        // A canary is consumed here: never sent to the GWLB, never counted as traffic.
        if (pkt.dstPort === CANARY_PORT && hasCanarySignature(buf, pkt)) {
          canaries++;
          c.tunRxBytes -= len;
          this.canaryRead(ep, buf, off, len, false, fd === ep.gwo.fd, now);
          continue;
        }
        const slot = pkt.fragment
          ? this.matchFragment(ep, buf, now)
          : pkt.proto === 1 || pkt.proto === 58
            ? this.matchIcmp(ep, buf, now)
            : this.ownFlowCounted(ep, buf, now);
        if (slot < 0) continue;
        const start = off - flows.headerLengthOf(slot);
        const hlen = flows.copyHeader(slot, buf, start);
        const j = TxMeta.WORDS * m;
        meta[j + TxMeta.OFFSET] = start;
        meta[j + TxMeta.LENGTH] = hlen + len;
        meta[j + TxMeta.SOURCE] = flows.localAddress[slot]!;
        meta[j + TxMeta.DESTINATION] = flows.gwlbAddress[slot]!;
        meta[j + TxMeta.SOURCE_PORT] = flows.gwlbPort[slot]!;
        meta[j + TxMeta.DESTINATION_PORT] = GENEVE_PORT;
        m++;
      }
      // Canaries alone neither count as traffic nor keep an idle endpoint alive.
      c.tunRxPackets += n - canaries;
      if (n > canaries) ep.lastSeen = now;
      if (m > 0) {
        this.port.send(m);
        const sent = res[Result.SENT]!;
        c.txDatagrams += sent;
        for (let k = 0; k < m; k++) c.txBytes += meta[TxMeta.WORDS * k + TxMeta.LENGTH]!;
        if (sent < m) c.drops.SEND_ERROR += m - sent;
        this.lastActivity = now;
      }
      if (n < this.batch) return;
      expect -= n;
      if (expect <= 0) return;
    }
  }
}

/** Calls `warn` at most once a minute, when a monotonic eviction total moved since the last call. */
class EvictionWarning {
  private logged = 0;
  private at = -Infinity;
  constructor(private readonly warn: (evicted: number, total: number) => void) {}

  check(now: number, total: number): void {
    if (total === this.logged || now - this.at < 60_000) return;
    this.warn(total - this.logged, total);
    this.logged = total;
    this.at = now;
  }
}

// Compile-time guarantee that the headroom fits the raw headers and the largest GENEVE header.
const _headroomCheck: true = (TX_HEADROOM >= RAW_HEADER_ROOM + GENEVE_MAX_HEADER_LENGTH) as true;
void _headroomCheck;

export type { DatapathDropReason };
