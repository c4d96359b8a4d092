import type { GeneveSockets } from "../io/udp";
import { loadNative, type NativeAddon } from "../io/native";
import { TunDevice } from "../io/tun";
import { watchReadable, type Watch } from "../io/poll";

/** A tun interface as the data path sees it. */
export interface TunLike {
  readonly name: string;
  readonly fd: number;
  isUp(): boolean;
  close(): void;
}

/** The data path's buffers, the same in every call (see DatapathPort.bind). */
export interface DatapathBuffers {
  readonly rxBuf: Buffer;
  readonly slot: number;
  readonly rxMeta: Uint32Array;
  readonly wFds: Int32Array;
  readonly wOffs: Uint32Array;
  readonly wLens: Uint32Array;
  readonly wErrs: Int32Array;
  readonly txBuf: Buffer;
  readonly txBase: number;
  readonly txStride: number;
  readonly txCap: number;
  readonly txLens: Uint32Array;
  readonly txMeta: Uint32Array;
}

/**
 * Everything the data path does to the outside world, in batches over caller-owned buffers. The
 * native implementation ({@link nativePort}) maps one call to one addon call; unit tests use an
 * in-memory fake, so the per-packet logic is tested without root.
 */
export interface DatapathPort {
  /** recvmmsg on the GENEVE socket; see NativeAddon.recvBatch for `meta`. */
  recvBatch(buf: Buffer, slot: number, max: number, meta: Uint32Array): number;
  /** Sends replies; see NativeAddon.sendRawBatch for `meta`. Returns how many were sent. */
  sendBatch(buf: Buffer, meta: Uint32Array, n: number): number;
  /** Batched tun writes; see NativeAddon.writeEach. */
  writeEach: NativeAddon["writeEach"];
  /** Batched tun reads; see NativeAddon.readEach. */
  readEach: NativeAddon["readEach"];
  /** Creates, configures (MTU, up) and returns a tun interface. Throws on failure. */
  openTun(name: string, mtu: number): TunLike;
  watch(fd: number, onReadable: () => void): Watch;
  /** Readiness of the GENEVE socket. */
  watchSocket(onReadable: () => void): Watch;
  /**
   * Optional: the data path announces its buffers once and then always passes these same ones,
   * so a port may bind them natively and ignore the buffer arguments of later calls.
   */
  bind?(buffers: DatapathBuffers): void;
  /**
   * Optional, after bind(): the port receives a batch into the bound buffers on each wake-up of
   * the GENEVE socket and calls `onBatch(n)` (n > 0 datagrams, or -errno).
   */
  watchSocketBatches?(onBatch: (n: number) => void, coalesceUs?: number): Watch;
  /**
   * Optional, after bind(): writeEach(n) then readEach(fd, max) in one call. Returns
   * writesOk * 65536 + packets read (65535 when the read failed).
   */
  writeRead?(n: number, fd: number, max: number): number;
}

/** The real port: the GENEVE sockets and tun devices through the tollgate_native addon. */
export function nativePort(
  sockets: GeneveSockets,
  native: NativeAddon = loadNative(),
): DatapathPort {
  const rx = sockets.rxFd;
  const tx = sockets.txFd;
  const port: DatapathPort = {
    recvBatch: (buf, slot, max, meta) => native.recvBatch(rx, buf, slot, max, meta),
    sendBatch: (buf, meta, n) => native.sendRawBatch(tx, buf, meta, n),
    writeEach: (fds, buf, offs, lens, n, errs) => native.writeEach(fds, buf, offs, lens, n, errs),
    readEach: (fd, buf, base, stride, cap, max, lens) =>
      native.readEach(fd, buf, base, stride, cap, max, lens),
    openTun: (name, mtu) => TunDevice.open(name, { mtu }, native),
    watch: (fd, cb) => watchReadable(fd, cb, native),
    watchSocket: (cb) => watchReadable(rx, cb, native),
    bind(b) {
      const h = native.dpBind(
        rx,
        tx,
        b.rxBuf,
        b.slot,
        b.rxMeta,
        b.wFds,
        b.wOffs,
        b.wLens,
        b.wErrs,
        b.txBuf,
        b.txBase,
        b.txStride,
        b.txCap,
        b.txLens,
        b.txMeta,
      );
      // From now on the hot calls pass integers only; the buffer arguments are the bound ones.
      port.recvBatch = (_buf, _slot, max) => native.dpRecv(h, max);
      port.writeEach = (_fds, _buf, _offs, _lens, n) => native.dpWrite(h, n);
      port.readEach = (fd, _buf, _base, _stride, _cap, max) => native.dpRead(h, fd, max);
      port.sendBatch = (_buf, _meta, n) => native.dpSend(h, n);
      port.writeRead = (n, fd, max) => native.dpWriteRead(h, n, fd, max);
      port.watchSocketBatches = (onBatch, coalesceUs) => {
        const w = native.dpWatch(h, onBatch, coalesceUs ?? 0);
        let stopped = false;
        return {
          stop() {
            if (stopped) return;
            stopped = true;
            native.unwatch(w);
          },
        };
      };
    },
  };
  return port;
}
