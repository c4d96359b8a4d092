import type { GeneveSockets } from "../io/udp";
import type { DatapathBuffers } from "../io/layout";
import { loadNative, type NativeAddon, type NativeDatapath } from "../io/native";
import { TunDevice } from "../io/tun";
import { stoppable, watchReadable, type Watch } from "../io/poll";

export type { DatapathBuffers } from "../io/layout";

/** A tun interface as the data path sees it. */
export interface TunLike {
  readonly name: string;
  readonly fd: number;
  isUp(): boolean;
  close(): void;
}

/**
 * Everything the data path does to the outside world. One convention: the data path binds its
 * buffers once ({@link DatapathPort.bind}); every batch call then takes integers only, works on
 * those buffers and puts its outcome into `buffers.result` (field indices: io/layout `Result`).
 * The native implementation ({@link nativePort}) maps each call to one addon call; unit tests
 * use an in-memory port with the same interface, so the per-packet logic is tested without root
 * through the same calls production makes.
 */
export interface DatapathPort {
  /** Binds the data path's buffers; called once, before any call below. */
  bind(buffers: DatapathBuffers): void;
  /**
   * Readiness of the GENEVE socket: on each wake-up the port receives up to a batch into rxBuf /
   * rxMeta (Result.RECEIVED, RECV_ERRNO) and calls `onBatch()` when it received something or the
   * receive failed. `coalesceUs` (0-10000, 0 = off): a wake-up within that long of the previous
   * small batch waits that long first (without blocking the event loop), so that several
   * datagrams come together.
   */
  watchReceive(onBatch: () => void, coalesceUs: number): Watch;
  /** Writes rxBuf[wOffs[k], +wLens[k]) to wFds[k] for k < n; wErrs[k]; Result.WRITTEN. */
  write(n: number): void;
  /** Reads up to `max` packets from fd into txBuf / txLens; Result.READ, READ_ERRNO. */
  read(fd: number, max: number): void;
  /** write(n) then read(fd, max) in one call. */
  writeRead(n: number, fd: number, max: number): void;
  /** Sends the n replies described by txMeta (payloads in txBuf); Result.SENT. */
  send(n: number): void;
  /** Creates, configures (MTU, up) and returns a tun interface. Throws on failure. */
  openTun(name: string, mtu: number): TunLike;
  /** Calls `onReadable` while fd (a tun) has data. */
  watch(fd: number, onReadable: () => void): Watch;
}

/** The real port: the GENEVE sockets and tun devices through the tollgate_native addon. */
export function nativePort(
  sockets: GeneveSockets,
  native: NativeAddon = loadNative(),
): DatapathPort {
  return new NativePort(sockets, native);
}

class NativePort implements DatapathPort {
  /** Set by bind(); a call before it fails in the addon ("expected a data path handle"). */
  private h!: NativeDatapath;

  constructor(
    private readonly sockets: GeneveSockets,
    private readonly native: NativeAddon,
  ) {}

  bind(buffers: DatapathBuffers): void {
    this.h = this.native.dpBind(this.sockets.rxFd, this.sockets.txFd, buffers);
  }

  watchReceive(onBatch: () => void, coalesceUs: number): Watch {
    return stoppable(this.native, this.native.dpWatch(this.h, onBatch, coalesceUs));
  }

  write(n: number): void {
    this.native.dpWrite(this.h, n);
  }

  read(fd: number, max: number): void {
    this.native.dpRead(this.h, fd, max);
  }

  writeRead(n: number, fd: number, max: number): void {
    this.native.dpWriteRead(this.h, n, fd, max);
  }

  send(n: number): void {
    this.native.dpSend(this.h, n);
  }

  openTun(name: string, mtu: number): TunLike {
    return TunDevice.open(name, { mtu }, this.native);
  }

  watch(fd: number, onReadable: () => void): Watch {
    return watchReadable(fd, onReadable, this.native);
  }
}
