import { loadNative, type NativeAddon } from "@tollgate/appliance/dist/io/native";
import { watchReadable, type Watch } from "@tollgate/appliance/dist/io/poll";
import { TunDevice } from "@tollgate/appliance/dist/io/tun";

const STRIDE = 9216;
const BATCH = 64;
/** Safety net: also drain on a timer, so a missed readiness wake-up can never stall the lab. */
const SAFETY_POLL_MS = 20;

/**
 * The emulator's endpoint device: a tun interface opened with the appliance's io wrappers (Node
 * has no API for tun descriptors). Packets are whole IP packets (IFF_NO_PI).
 */
export class EndpointTun {
  private watch: Watch | undefined;
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
    private readonly tun: TunDevice,
  ) {
    this.fds = new Int32Array([tun.fd]);
  }

  get name(): string {
    return this.tun.name;
  }

  /** Creates the tun device, sets its MTU and brings it up. */
  static open(name: string, mtu: number): EndpointTun {
    const native = loadNative();
    return new EndpointTun(native, TunDevice.open(name, { mtu }, native));
  }

  /** Calls `onPacket` with a copy of each packet read. */
  start(onPacket: (packet: Buffer) => void): void {
    const drain = () => {
      for (;;) {
        const n = this.native.readEach(
          this.tun.fd,
          this.readBuf,
          0,
          STRIDE,
          STRIDE,
          BATCH,
          this.lens,
        );
        if (n <= 0) return;
        for (let k = 0; k < n; k++) {
          this.rxPackets++;
          onPacket(Buffer.from(this.readBuf.subarray(k * STRIDE, k * STRIDE + this.lens[k]!)));
        }
        if (n < BATCH) return;
      }
    };
    this.watch = watchReadable(this.tun.fd, drain, this.native);
    this.timer = setInterval(drain, SAFETY_POLL_MS);
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
    this.watch?.stop();
    this.tun.close();
  }
}
