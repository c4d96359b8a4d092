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
 */
import {
  createGeneveScratch,
  decodeGeneveInto,
  GENEVE_MAX_HEADER_LENGTH,
  GENEVE_UDP_PORT,
  type GeneveScratch,
} from "../geneve/codec";
import { FlowCache, type FlowRemovalReason } from "../flow/cache";
import { flowKeyFromScratch } from "../flow/key";
import { createPacketScratch, locatePacket, type PacketScratch } from "../packet/parse";
import type { Watch } from "../io/poll";
import { createCounters, type DatapathCounters, type DatapathDropReason } from "./counters";
import {
  EndpointTable,
  type DatapathLogger,
  type Endpoint,
  type EndpointTableOptions,
} from "./endpoints";
import type { DatapathPort } from "./port";

/** Receive slot: larger than any GWLB datagram (8500-byte inner packet + GENEVE + options). */
export const RX_SLOT = 9216;
/** Bytes in front of each packet read from a tun: IPv4 + UDP + the largest GENEVE header. */
export const TX_HEADROOM = 320;
/** Largest packet read from a tun (the MTU is 8500; anything larger is dropped). */
export const TX_CAP = 9216;
const TX_STRIDE = TX_HEADROOM + TX_CAP;
const RAW_ROOM = 28;

/** What the forward path remembers per flow. */
export interface FlowRecord {
  /** GENEVE header with options, exactly as the GWLB sent it (a private copy). */
  header: Buffer;
  /** GWLB address (host-order IPv4 number) and the UDP source port it sent from. */
  gwlbAddress: number;
  gwlbPort: number;
  /** Our address the GWLB sent to (replies come from it); 0 lets the kernel choose. */
  localAddress: number;
  readonly endpoint: Endpoint;
}

export interface DatapathOptions extends EndpointTableOptions {
  /** Datagrams per recvmmsg / packets per tun drain. Defaults to 64. */
  readonly batchSize?: number;
  /** Flow table bound. Defaults to the flow cache's default (262144). */
  readonly maxFlows?: number;
  /** Idle timeouts in seconds. Defaults to TCP 350, UDP 120, other 120. */
  readonly flowTimeouts?: { tcp?: number; udp?: number; other?: number };
  /** Milliseconds, monotonic. Defaults to performance.now(). */
  readonly clock?: () => number;
  /** How often expired flows are swept, in ms. Defaults to 1000. 0 disables the timer. */
  readonly sweepIntervalMs?: number;
  /** Drain gwo-X right after writing to gwi-X. Defaults to true. */
  readonly inlineDrain?: boolean;
}

export class Datapath {
  readonly counters: DatapathCounters = createCounters();
  readonly flows: FlowCache<FlowRecord>;
  readonly endpoints: EndpointTable;
  /** Flows removed by LRU eviction or expiry, for metrics. */
  readonly flowRemovals: Record<FlowRemovalReason, number> = { expired: 0, evicted: 0, deleted: 0 };
  /** Clock value of the last datagram received or reply sent (0: never). */
  lastActivity = 0;

  private readonly batch: number;
  private readonly clock: () => number;
  private readonly inlineDrain: boolean;
  private readonly rxBuf: Buffer;
  private readonly rxMeta: Uint32Array;
  private readonly wFds: Int32Array;
  private readonly wOffs: Uint32Array;
  private readonly wLens: Uint32Array;
  private readonly wErrs: Int32Array;
  private readonly txBuf: Buffer;
  private readonly txLens: Uint32Array;
  private readonly txMeta: Uint32Array;
  private readonly geneve: GeneveScratch = createGeneveScratch();
  private readonly pkt: PacketScratch = createPacketScratch();
  private readonly touched: Endpoint[] = [];
  private batchSeq = 0;
  private socketWatch: Watch | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly log: DatapathLogger;

  constructor(
    private readonly port: DatapathPort,
    options: DatapathOptions = {},
  ) {
    this.batch = options.batchSize ?? 64;
    if (!Number.isInteger(this.batch) || this.batch < 1 || this.batch > 1024) {
      throw new RangeError(`batchSize must be an integer 1-1024, got ${this.batch}`);
    }
    // `performance` is a lazy getter on globalThis: resolve it once, not per batch.
    const perf = performance;
    this.clock = options.clock ?? (() => perf.now());
    this.inlineDrain = options.inlineDrain ?? true;
    this.flows = new FlowCache<FlowRecord>({
      maxEntries: options.maxFlows,
      timeouts: options.flowTimeouts,
      clock: this.clock,
      onRemove: (_k, _v, reason) => {
        this.flowRemovals[reason]++;
      },
    });
    this.log = options.logger ?? { info() {}, warn() {}, error() {} };
    this.endpoints = new EndpointTable(port, options, this.counters, (ep) =>
      this.onTunReadable(ep),
    );
    const b = this.batch;
    this.rxBuf = Buffer.alloc(RX_SLOT * b);
    this.rxMeta = new Uint32Array(4 * b);
    this.wFds = new Int32Array(b);
    this.wOffs = new Uint32Array(b);
    this.wLens = new Uint32Array(b);
    this.wErrs = new Int32Array(b);
    this.txBuf = Buffer.alloc(TX_STRIDE * b);
    this.txLens = new Uint32Array(b);
    this.txMeta = new Uint32Array(6 * b);
    port.bind?.({
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
    });
  }

  /** Starts receiving. */
  start(sweepIntervalMs = 1000): void {
    if (this.running) return;
    this.running = true;
    const port = this.port;
    this.socketWatch = port.watchSocketBatches
      ? port.watchSocketBatches((n) => this.onBatch(n))
      : port.watchSocket(() => this.onSocketReadable());
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => {
        const now = this.clock();
        this.flows.sweep(now);
        this.endpoints.sweepIdle(now);
      }, sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Stops receiving, tells listeners (DESTROY hooks) and removes every endpoint's interfaces. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.socketWatch?.stop();
    this.socketWatch = undefined;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.endpoints.closeAll();
    this.flows.clear();
  }

  /** Receives and forwards until the socket is empty (bounded so the event loop stays fair). */
  onSocketReadable(): void {
    try {
      for (let round = 0; round < 16 && this.running; round++) {
        const n = this.port.recvBatch(this.rxBuf, RX_SLOT, this.batch, this.rxMeta);
        if (n <= 0) {
          if (n < 0) this.counters.rxErrors++;
          break;
        }
        this.forward(n);
        if (n < this.batch) break;
      }
    } catch (err) {
      this.internalError(err);
    }
  }

  /** A batch the port already received into rxBuf (watchSocketBatches). */
  private onBatch(n: number): void {
    if (!this.running) return;
    if (n < 0) {
      this.counters.rxErrors++;
      return;
    }
    try {
      this.forward(n);
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
    const now = this.clock();
    const seq = ++this.batchSeq;
    let w = 0;
    c.rxBatches++;
    c.rxDatagrams += n;
    this.lastActivity = now;
    for (let k = 0; k < n; k++) {
      const lenWord = meta[4 * k]!;
      const off = k * RX_SLOT;
      c.rxBytes += lenWord & 0x7fffffff;
      if (lenWord & 0x80000000) {
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
      this.remember(
        flowKeyFromScratch(buf, pkt, ep.tag),
        pkt.proto,
        ep,
        off,
        g.headerLength,
        meta[4 * k + 1]!,
        meta[4 * k + 2]!,
        meta[4 * k + 3]!,
        now,
      );
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
    // One endpoint in the batch (the usual case): write and read back in one addon call.
    let preread = -1;
    if (w > 0) {
      let ok: number;
      const port = this.port;
      if (port.writeRead !== undefined && this.inlineDrain && touched.length === 1) {
        const ep = touched[0]!;
        const r = port.writeRead(w, ep.gwo.fd, Math.min(ep.batchCount, this.batch));
        ok = Math.floor(r / 65536);
        preread = r % 65536;
        if (preread === 65535) preread = -2;
      } else {
        ok = port.writeEach(this.wFds, buf, this.wOffs, this.wLens, w, this.wErrs);
      }
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
        this.drain(ep, ep.gwo.fd, ep.batchCount, now, i === 0 ? preread : -1);
      }
    }
    touched.length = 0;
  }

  private remember(
    key: string,
    proto: number,
    ep: Endpoint,
    off: number,
    hlen: number,
    addr: number,
    port: number,
    local: number,
    now: number,
  ): void {
    const rec = this.flows.get(key, now);
    const buf = this.rxBuf;
    if (rec !== undefined && rec.endpoint === ep) {
      const h = rec.header;
      let same = h.length === hlen;
      for (let i = 0; same && i < hlen; i++) same = h[i] === buf[off + i];
      if (!same) {
        rec.header = Buffer.from(buf.subarray(off, off + hlen));
      }
      rec.gwlbAddress = addr;
      rec.gwlbPort = port;
      rec.localAddress = local;
      return;
    }
    const fresh: FlowRecord = {
      header: Buffer.from(buf.subarray(off, off + hlen)),
      gwlbAddress: addr,
      gwlbPort: port,
      localAddress: local,
      endpoint: ep,
    };
    this.flows.set(key, fresh, proto, now);
  }

  private onTunReadable(ep: Endpoint): void {
    if (!this.running || ep.closed) return;
    // Called for either descriptor; draining both costs one EAGAIN read at most.
    this.guard(() => {
      this.drain(ep, ep.gwo.fd, Infinity);
      this.drain(ep, ep.gwi.fd, Infinity);
    });
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

  /**
   * Reads queued packets from fd (a tun of ep) and sends them to the GWLB: until the queue is
   * empty, or after `expect` packets when fewer than a batch are expected.
   */
  drain(ep: Endpoint, fd: number, expect: number, at?: number, preread = -1): void {
    const c = this.counters;
    const buf = this.txBuf;
    const lens = this.txLens;
    const meta = this.txMeta;
    const pkt = this.pkt;
    const flows = this.flows;
    for (let round = 0; round < 16; round++) {
      const want = expect < this.batch ? expect : this.batch;
      // preread: packets already read by writeRead (-2: that read failed)
      const n =
        round === 0 && preread !== -1
          ? preread === -2
            ? -1
            : preread
          : this.port.readEach(fd, buf, TX_HEADROOM, TX_STRIDE, TX_CAP, want, lens);
      if (n <= 0) {
        if (n < 0) ep.readErrors++;
        return;
      }
      const now = round === 0 && at !== undefined ? at : this.clock();
      let m = 0;
      c.tunRxPackets += n;
      ep.lastSeen = now;
      for (let k = 0; k < n; k++) {
        const len = lens[k]!;
        const off = TX_HEADROOM + k * TX_STRIDE;
        c.tunRxBytes += len;
        if (len >= TX_CAP) {
          c.drops.RETURN_TOO_BIG++;
          continue;
        }
        if (locatePacket(buf, off, len, pkt) !== undefined) {
          c.drops.RETURN_UNPARSEABLE++;
          continue;
        }
        const rec = flows.get(flowKeyFromScratch(buf, pkt, ep.tag), now);
        if (rec === undefined || rec.endpoint !== ep) {
          c.drops.UNKNOWN_FLOW++;
          continue;
        }
        const h = rec.header;
        const start = off - h.length;
        buf.set(h, start); // TypedArray copy: no C++ call for a 40-byte header
        const j = 6 * m;
        meta[j] = start;
        meta[j + 1] = h.length + len;
        meta[j + 2] = rec.localAddress;
        meta[j + 3] = rec.gwlbAddress;
        meta[j + 4] = rec.gwlbPort;
        meta[j + 5] = GENEVE_UDP_PORT;
        m++;
      }
      if (m > 0) {
        const sent = this.port.sendBatch(buf, meta, m);
        c.txDatagrams += sent;
        for (let k = 0; k < m; k++) c.txBytes += meta[6 * k + 1]!;
        if (sent < m) c.drops.SEND_ERROR += m - sent;
        this.lastActivity = now;
      }
      if (n < this.batch) return;
      expect -= n;
      if (expect <= 0) return;
    }
  }
}

// Compile-time guarantee that the headroom fits the raw headers and the largest GENEVE header.
const _headroomCheck: true = (TX_HEADROOM >= RAW_ROOM + GENEVE_MAX_HEADER_LENGTH) as true;
void _headroomCheck;

export type { DatapathDropReason };
