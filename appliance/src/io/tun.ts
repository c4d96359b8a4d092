import { IFF_RUNNING, IFF_UP, loadNative, type NativeAddon } from "./native";

export interface TunOptions {
  /** MTU to set (the `mtu` setting; GWLB drops replies over 8500 bytes without ICMP). */
  readonly mtu: number;
  /** Open with IFF_MULTI_QUEUE. Defaults to false. */
  readonly multiQueue?: boolean;
  /**
   * Default qdisc "noqueue" instead of pfifo_fast, which a tun gains nothing from; hooks can still
   * replace it with `tc qdisc add dev X root ...`. Defaults to true.
   */
  readonly noQueue?: boolean;
}

/**
 * One tun interface (IFF_TUN | IFF_NO_PI, non-blocking descriptor), configured and up. The
 * interface is not persistent: closing the descriptor removes it.
 */
export class TunDevice {
  private closed = false;

  private constructor(
    private readonly native: NativeAddon,
    /** Interface name as the kernel knows it. */
    readonly name: string,
    /** Non-blocking descriptor: one read() returns one IP packet, one write() injects one. */
    readonly fd: number,
  ) {}

  /** Creates the interface, sets its MTU and brings it up; closes it again if any step fails. */
  static open(name: string, options: TunOptions, native = loadNative()): TunDevice {
    const { fd, name: actual } = native.tunOpen(name, options.multiQueue ?? false);
    try {
      native.ifConfigure(actual, options.mtu, true, options.noQueue ?? true);
    } catch (err) {
      native.closeFd(fd);
      throw err;
    }
    return new TunDevice(native, actual, fd);
  }

  /**
   * Takes over a tun descriptor a previous daemon left (a restart through the fd store): the
   * interface is used as it is (name, MTU, addresses, qdiscs untouched). Throws when fd is not
   * the tun `expected`.
   */
  static adopt(fd: number, expected: string, native = loadNative()): TunDevice {
    const name = native.tunName(fd);
    if (name !== expected) throw new Error(`descriptor ${fd} is tun ${name}, not ${expected}`);
    native.fdCloexec(fd);
    return new TunDevice(native, name, fd);
  }

  /** True when the interface exists and is administratively up. */
  isUp(): boolean {
    if (this.closed) return false;
    const flags = this.native.ifFlags(this.name);
    return flags >= 0 && (flags & IFF_UP) !== 0;
  }

  /** True when the kernel reports the link running (a reader is attached). */
  isRunning(): boolean {
    const flags = this.native.ifFlags(this.name);
    return flags >= 0 && (flags & IFF_RUNNING) !== 0;
  }

  /** Closes the descriptor, which deletes the interface. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.closeFd(this.fd);
  }
}
