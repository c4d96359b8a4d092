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
  writeEach(
    fds: Int32Array,
    buf: Buffer,
    offs: Uint32Array,
    lens: Uint32Array,
    n: number,
    errs: Int32Array,
  ): number;
  readEach(
    fd: number,
    buf: Buffer,
    base: number,
    stride: number,
    cap: number,
    max: number,
    lens: Uint32Array,
  ): number;
  /** Creates, configures (MTU, up) and returns a tun interface. Throws on failure. */
  openTun(name: string, mtu: number): TunLike;
  watch(fd: number, onReadable: () => void): Watch;
  /** Readiness of the GENEVE socket. */
  watchSocket(onReadable: () => void): Watch;
}

/** The real port: the GENEVE sockets and tun devices through the tollgate_native addon. */
export function nativePort(
  sockets: GeneveSockets,
  native: NativeAddon = loadNative(),
): DatapathPort {
  const rx = sockets.rxFd;
  const tx = sockets.txFd;
  return {
    recvBatch: (buf, slot, max, meta) => native.recvBatch(rx, buf, slot, max, meta),
    sendBatch: (buf, meta, n) => native.sendRawBatch(tx, buf, meta, n),
    writeEach: (fds, buf, offs, lens, n, errs) => native.writeEach(fds, buf, offs, lens, n, errs),
    readEach: (fd, buf, base, stride, cap, max, lens) =>
      native.readEach(fd, buf, base, stride, cap, max, lens),
    openTun: (name, mtu) => TunDevice.open(name, { mtu }, native),
    watch: (fd, cb) => watchReadable(fd, cb, native),
    watchSocket: (cb) => watchReadable(rx, cb, native),
  };
}
