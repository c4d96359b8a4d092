import { loadNative, type NativeAddon } from "@tollgate/appliance/dist/io/native";

const STRIDE = 9216;
const BATCH = 64;

/**
 * The emulator's endpoint device: a tun interface opened with the appliance's native addon
 * (Node has no API for tun descriptors). Packets are whole IP packets (IFF_NO_PI).
 */
export class TunDevice {
  private timer: NodeJS.Timeout | undefined;
  private readonly readBuf = Buffer.alloc(STRIDE * BATCH);
  private readonly lens = new Uint32Array(BATCH);
  private readonly fds: Int32Array;
  private readonly offs = new Uint32Array([0]);
  private readonly wlens = new Uint32Array(1);
  private readonly errs = new Int32Array(1);
  rxPackets = 0;
  txPackets = 0;
  txErrors = 0;

  private constructor(
    private readonly native: NativeAddon,
    readonly name: string,
    private readonly fd: number,
  ) {
    this.fds = new Int32Array([fd]);
  }

  /** Opens (creates) the tun device, sets its MTU and brings it up. */
  static open(name: string, mtu: number): TunDevice {
    const native = loadNative();
    const { fd, name: actual } = native.tunOpen(name, false);
    native.ifConfigure(actual, mtu, true);
    return new TunDevice(native, actual, fd);
  }

  /**
   * Calls `onPacket` with a copy of each packet read. Reads on a 1 ms timer (the lab carries
   * little traffic): the addon's readiness watch (`watch`) throws from its callback on this Node
   * version once its async resource is garbage-collected, which would kill the emulator.
   */
  start(onPacket: (packet: Buffer) => void): void {
    const drain = () => {
      for (;;) {
        const n = this.native.readEach(this.fd, this.readBuf, 0, STRIDE, STRIDE, BATCH, this.lens);
        if (n <= 0) return;
        for (let k = 0; k < n; k++) {
          const len = this.lens[k]!;
          this.rxPackets++;
          onPacket(Buffer.from(this.readBuf.subarray(k * STRIDE, k * STRIDE + len)));
        }
        if (n < BATCH) return;
      }
    };
    this.timer = setInterval(drain, 1);
  }

  /** Writes one IP packet into the kernel; false (and counted) when the write failed. */
  write(packet: Buffer): boolean {
    this.wlens[0] = packet.length;
    const ok = this.native.writeEach(this.fds, packet, this.offs, this.wlens, 1, this.errs) === 1;
    if (ok) this.txPackets++;
    else this.txErrors++;
    return ok;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.native.closeFd(this.fd);
  }
}
