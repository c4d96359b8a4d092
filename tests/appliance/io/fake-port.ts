/**
 * In-memory {@link DatapathPort}: datagrams queued for the receive watch, tun interfaces as
 * queues, and a record of every reply sent. `mirror` makes what is written to gwi-X appear on
 * gwo-X at once, like the tc mirred hook. It implements the same interface as the native port
 * (buffers bound once, outcomes in the result block), so the data path's per-packet logic runs
 * without root through the calls production makes.
 */
import {
  type DatapathBuffers,
  type DatapathPort,
  Result,
  RX_TRUNCATED,
  RxMeta,
  type TunLike,
  TxMeta,
  type Watch,
} from "@tollgate/appliance";

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
  /** The data path's receive callback while it is watching (watchReceive). */
  batchCallback: (() => void) | undefined;
  /** The coalescing window the data path asked for (the fake delivers at once). */
  coalesceUs: number | undefined;
  /** gwi-X writes show up on gwo-X (tc mirred pass-through). */
  mirror = true;
  /** Names for which openTun throws. */
  readonly failing = new Set<string>();
  /** Make send refuse this many datagrams per call (kernel buffer full). */
  refuseSends = 0;
  /** Calls of writeRead (one endpoint in a batch). */
  writeReadCalls = 0;
  private nextFd = 100;
  private b: DatapathBuffers | undefined;

  queue(
    data: Buffer,
    from = 0x0a000001,
    port = 40000,
    local = 0x0a000002,
    truncated = false,
  ): void {
    this.rx.push({ data, from, port, local, truncated });
  }

  bind(buffers: DatapathBuffers): void {
    this.b = buffers;
  }

  /** The bound buffers (bind() must have been called, as the addon requires). */
  private get bound(): DatapathBuffers {
    if (this.b === undefined) throw new TypeError("expected a data path handle (bind first)");
    return this.b;
  }

  watchReceive(onBatch: () => void, coalesceUs: number): Watch {
    this.batchCallback = onBatch;
    this.coalesceUs = coalesceUs;
    return { stop: () => (this.batchCallback = undefined) };
  }

  /** Delivers everything queued, a batch per call of the receive callback, as the addon does. */
  pump(): void {
    while (this.batchCallback !== undefined && this.rx.length > 0) {
      this.receive();
      this.batchCallback();
    }
  }

  /** Moves up to a batch of queued datagrams into rxBuf / rxMeta (the addon's recvmmsg). */
  private receive(): void {
    const { rxBuf, slot, rxMeta, wFds, result } = this.bound;
    let n = 0;
    while (n < wFds.length && this.rx.length > 0) {
      const d = this.rx.shift()!;
      const len = Math.min(d.data.length, slot);
      const m = RxMeta.WORDS * n;
      d.data.copy(rxBuf, n * slot, 0, len);
      rxMeta[m + RxMeta.LENGTH] = (len | (d.truncated ? RX_TRUNCATED : 0)) >>> 0;
      rxMeta[m + RxMeta.SOURCE] = d.from;
      rxMeta[m + RxMeta.SOURCE_PORT] = d.port;
      rxMeta[m + RxMeta.LOCAL] = d.local;
      n++;
    }
    result[Result.RECEIVED] = n;
    result[Result.RECV_ERRNO] = 0;
  }

  write(n: number): void {
    const { rxBuf, wFds, wOffs, wLens, wErrs, result } = this.bound;
    let ok = 0;
    for (let k = 0; k < n; k++) {
      const tun = this.byFd.get(wFds[k]!);
      if (!tun || tun.closed) {
        wErrs[k] = 9; // EBADF
        continue;
      }
      const pkt = Buffer.from(rxBuf.subarray(wOffs[k]!, wOffs[k]! + wLens[k]!));
      tun.written.push(pkt);
      if (this.mirror && tun.name.startsWith("gwi-")) {
        this.tuns.get(`gwo-${tun.name.slice(4)}`)?.readable.push(pkt);
      }
      wErrs[k] = 0;
      ok++;
    }
    result[Result.WRITTEN] = ok;
  }

  read(fd: number, max: number): void {
    const { txBuf, txBase, txStride, txCap, txLens, result } = this.bound;
    const tun = this.byFd.get(fd);
    let n = 0;
    while (tun !== undefined && n < max && tun.readable.length > 0) {
      const p = tun.readable.shift()!;
      const len = Math.min(p.length, txCap);
      p.copy(txBuf, txBase + n * txStride, 0, len);
      txLens[n++] = len;
    }
    result[Result.READ] = n;
    result[Result.READ_ERRNO] = tun === undefined ? 9 : 0; // EBADF
  }

  writeRead(n: number, fd: number, max: number): void {
    this.writeReadCalls++;
    this.write(n);
    this.read(fd, max);
  }

  send(n: number): void {
    const { txBuf, txMeta, result } = this.bound;
    const ok = Math.max(0, n - this.refuseSends);
    for (let k = 0; k < ok; k++) {
      const m = TxMeta.WORDS * k;
      const off = txMeta[m + TxMeta.OFFSET]!;
      this.sent.push({
        payload: Buffer.from(txBuf.subarray(off, off + txMeta[m + TxMeta.LENGTH]!)),
        saddr: txMeta[m + TxMeta.SOURCE]!,
        daddr: txMeta[m + TxMeta.DESTINATION]!,
        sport: txMeta[m + TxMeta.SOURCE_PORT]!,
        dport: txMeta[m + TxMeta.DESTINATION_PORT]!,
      });
    }
    result[Result.SENT] = ok;
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

  /** Puts a packet on a tun (as if the kernel routed it out of that interface) and signals it. */
  inject(name: string, packet: Buffer): void {
    const tun = this.tuns.get(name);
    if (!tun) throw new Error(`no tun ${name}`);
    tun.readable.push(packet);
    this.watched.get(tun.fd)?.();
  }
}
