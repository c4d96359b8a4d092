/**
 * In-memory {@link DatapathPort}: datagrams queued for recvBatch, tun interfaces as queues, and
 * a record of every reply handed to sendBatch. `mirror` makes what is written to gwi-X appear on
 * gwo-X at once, like the tc mirred hook. Lets the data path's per-packet logic run without root.
 */
import type {
  DatapathBuffers,
  DatapathPort,
  TunLike,
} from "@tollgate/appliance/dist/datapath/port";
import type { Watch } from "@tollgate/appliance/dist/io/poll";

export interface QueuedDatagram {
  readonly data: Buffer;
  readonly from: number;
  readonly port: number;
  readonly local: number;
  readonly truncated?: boolean;
}

export interface SentReply {
  /** GENEVE header + inner packet (what follows the IPv4/UDP headers the addon writes). */
  readonly payload: Buffer;
  readonly saddr: number;
  readonly daddr: number;
  readonly sport: number;
  readonly dport: number;
}

export class FakeTun implements TunLike {
  readonly written: Buffer[] = [];
  readonly readable: Buffer[] = [];
  closed = false;
  constructor(
    readonly name: string,
    readonly fd: number,
    readonly mtu: number,
  ) {}
  isUp(): boolean {
    return !this.closed;
  }
  close(): void {
    this.closed = true;
  }
}

export class FakePort implements DatapathPort {
  readonly rx: QueuedDatagram[] = [];
  readonly sent: SentReply[] = [];
  readonly tuns = new Map<string, FakeTun>();
  readonly byFd = new Map<number, FakeTun>();
  readonly watched = new Map<number, () => void>();
  socketCallback: (() => void) | undefined;
  /** gwi-X writes show up on gwo-X (tc mirred pass-through). */
  mirror = true;
  /** Names for which openTun throws. */
  readonly failing = new Set<string>();
  /** Make sendBatch refuse this many datagrams per call (kernel buffer full). */
  refuseSends = 0;
  private nextFd = 100;

  queue(
    data: Buffer,
    from = 0x0a000001,
    port = 40000,
    local = 0x0a000002,
    truncated = false,
  ): void {
    this.rx.push({ data, from, port, local, truncated });
  }

  recvBatch(buf: Buffer, slot: number, max: number, meta: Uint32Array): number {
    let n = 0;
    while (n < max && this.rx.length > 0) {
      const d = this.rx.shift()!;
      const len = Math.min(d.data.length, slot);
      d.data.copy(buf, n * slot, 0, len);
      meta[4 * n] = (len | (d.truncated ? 0x80000000 : 0)) >>> 0;
      meta[4 * n + 1] = d.from;
      meta[4 * n + 2] = d.port;
      meta[4 * n + 3] = d.local;
      n++;
    }
    return n;
  }

  sendBatch(buf: Buffer, meta: Uint32Array, n: number): number {
    const ok = Math.max(0, n - this.refuseSends);
    for (let k = 0; k < ok; k++) {
      const off = meta[6 * k]!;
      const len = meta[6 * k + 1]!;
      this.sent.push({
        payload: Buffer.from(buf.subarray(off, off + len)),
        saddr: meta[6 * k + 2]!,
        daddr: meta[6 * k + 3]!,
        sport: meta[6 * k + 4]!,
        dport: meta[6 * k + 5]!,
      });
    }
    return ok;
  }

  writeEach(
    fds: Int32Array,
    buf: Buffer,
    offs: Uint32Array,
    lens: Uint32Array,
    n: number,
    errs: Int32Array,
  ): number {
    let ok = 0;
    for (let k = 0; k < n; k++) {
      const tun = this.byFd.get(fds[k]!);
      if (!tun || tun.closed) {
        errs[k] = 9; // EBADF
        continue;
      }
      const pkt = Buffer.from(buf.subarray(offs[k]!, offs[k]! + lens[k]!));
      tun.written.push(pkt);
      if (this.mirror && tun.name.startsWith("gwi-")) {
        this.tuns.get(`gwo-${tun.name.slice(4)}`)?.readable.push(pkt);
      }
      errs[k] = 0;
      ok++;
    }
    return ok;
  }

  readEach(
    fd: number,
    buf: Buffer,
    base: number,
    stride: number,
    cap: number,
    max: number,
    lens: Uint32Array,
  ): number {
    const tun = this.byFd.get(fd);
    if (!tun) return -9;
    let n = 0;
    while (n < max && tun.readable.length > 0) {
      const p = tun.readable.shift()!;
      const len = Math.min(p.length, cap);
      p.copy(buf, base + n * stride, 0, len);
      lens[n++] = len;
    }
    return n;
  }

  openTun(name: string, mtu: number): TunLike {
    if (this.failing.has(name)) throw new Error(`TUNSETIFF: Operation not permitted (${name})`);
    const tun = new FakeTun(name, this.nextFd++, mtu);
    this.tuns.set(name, tun);
    this.byFd.set(tun.fd, tun);
    return tun;
  }

  watch(fd: number, onReadable: () => void): Watch {
    this.watched.set(fd, onReadable);
    return { stop: () => this.watched.delete(fd) };
  }

  watchSocket(onReadable: () => void): Watch {
    this.socketCallback = onReadable;
    return { stop: () => (this.socketCallback = undefined) };
  }

  /** Delivers everything queued, as the event loop would. */
  pump(): void {
    if (this.batchCallback && this.bound) {
      const b = this.bound;
      for (;;) {
        const n = this.recvBatch(b.rxBuf, b.slot, b.wFds.length, b.rxMeta);
        if (n === 0) break;
        this.batchCallback(n);
      }
      return;
    }
    this.socketCallback?.();
  }

  bound: DatapathBuffers | undefined;
  batchCallback: ((n: number) => void) | undefined;
  writeReadCalls = 0;

  /**
   * Adds the optional bound-buffer methods the native port has (bind, watchSocketBatches,
   * writeRead), implemented over the same queues.
   */
  withBoundPath(): this {
    const self = this as DatapathPort & this;
    self.bind = (b) => {
      this.bound = b;
    };
    self.watchSocketBatches = (cb) => {
      this.batchCallback = cb;
      return { stop: () => (this.batchCallback = undefined) };
    };
    self.writeRead = (n, fd, max) => {
      const b = this.bound!;
      this.writeReadCalls++;
      const ok = this.writeEach(b.wFds, b.rxBuf, b.wOffs, b.wLens, n, b.wErrs);
      const r = this.readEach(fd, b.txBuf, b.txBase, b.txStride, b.txCap, max, b.txLens);
      return ok * 65536 + (r < 0 ? 65535 : r);
    };
    return this;
  }

  /** Puts a packet on a tun (as if the kernel routed it out of that interface) and signals it. */
  inject(name: string, packet: Buffer): void {
    const tun = this.tuns.get(name);
    if (!tun) throw new Error(`no tun ${name}`);
    tun.readable.push(packet);
    this.watched.get(tun.fd)?.();
  }
}
