import { loadNative, type NativeAddon } from "./native";

export interface GeneveSocketOptions {
  /** Local IPv4 address to bind (`listen.address`). */
  readonly address: string;
  /** UDP port (`listen.port`). */
  readonly port: number;
  /**
   * Receive and send buffer size in bytes, set with SO_RCVBUFFORCE/SO_SNDBUFFORCE (root or
   * CAP_NET_ADMIN), else capped by net.core.rmem_max/wmem_max (`socketBufferBytes`).
   */
  readonly bufferBytes: number;
}

/**
 * The two descriptors of the GENEVE data path: a UDP socket bound to :6081 that receives (in
 * batches, with each datagram's local address via IP_PKTINFO), and a send-only raw socket that
 * emits replies from any source port (GWLB expects replies from the port it sent from) with the
 * UDP checksum computed by the addon.
 */
export class GeneveSockets {
  private closed = false;

  private constructor(
    private readonly native: NativeAddon,
    readonly rxFd: number,
    readonly txFd: number,
    /** Effective SO_RCVBUF (the kernel reports twice the requested value). */
    readonly rcvbuf: number,
    readonly sndbuf: number,
    readonly address: string,
    readonly port: number,
  ) {}

  static open(options: GeneveSocketOptions, native = loadNative()): GeneveSockets {
    const { address, port, bufferBytes: bytes } = options;
    const rx = native.udpOpen(address, port, bytes);
    let tx: { fd: number; sndbuf: number };
    try {
      tx = native.rawOpen(bytes);
    } catch (err) {
      native.closeFd(rx.fd);
      throw err;
    }
    return new GeneveSockets(native, rx.fd, tx.fd, rx.rcvbuf, tx.sndbuf, address, port);
  }

  /**
   * The sockets around a receiving socket a previous daemon stored (a restart): the datagrams
   * that arrived meanwhile are still queued in it. Throws (fd left to the caller) when it is not
   * bound where `options` say.
   */
  static adopt(rxFd: number, options: GeneveSocketOptions, native = loadNative()): GeneveSockets {
    const { address, port, bufferBytes: bytes } = options;
    const rx = native.udpAdopt(rxFd, address, port, bytes);
    const tx = native.rawOpen(bytes);
    return new GeneveSockets(native, rx.fd, tx.fd, rx.rcvbuf, tx.sndbuf, address, port);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.closeFd(this.rxFd);
    this.native.closeFd(this.txFd);
  }
}
