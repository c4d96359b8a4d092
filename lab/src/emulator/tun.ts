import * as fs from "node:fs";
import {
  loadNative,
  type NativeAddon,
  TunDevice,
  type Watch,
  watchReadable,
} from "@tollgate/appliance";

/** Largest packet read (the tun MTU is at most 8500). */
const MAX_PACKET = 9216;
/** Packets read per readiness wake-up, at most (the event loop stays fair). */
const BATCH = 64;
/** Safety net: also drain on a timer, so a missed readiness wake-up can never stall the lab. */
const SAFETY_POLL_MS = 20;

/**
 * The emulator's endpoint device: a tun interface opened with the appliance's io wrappers (Node
 * has no API for tun descriptors). Packets are whole IP packets (IFF_NO_PI), one per read() and
 * write() on its non-blocking descriptor, done with node:fs (the appliance's batched calls are
 * bound to its data path's buffers).
 */
export class EndpointTun {
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly readBuf = Buffer.alloc(MAX_PACKET);
  rxPackets = 0;
  txPackets = 0;
  txErrors = 0;

  private constructor(
    private readonly native: NativeAddon,
    private readonly tun: TunDevice,
  ) {}

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
      for (let k = 0; k < BATCH; k++) {
        const len = this.readOne();
        if (len < 0) return;
        this.rxPackets++;
        onPacket(Buffer.from(this.readBuf.subarray(0, len)));
      }
    };
    this.watch = watchReadable(this.tun.fd, drain, this.native);
    this.timer = setInterval(drain, SAFETY_POLL_MS);
  }

  /** One packet's length in readBuf, or -1 when none is queued (EAGAIN) or the read failed. */
  private readOne(): number {
    try {
      return fs.readSync(this.tun.fd, this.readBuf, 0, MAX_PACKET, null);
    } catch {
      return -1;
    }
  }

  /** Writes one IP packet into the kernel; false (and counted) when the write failed. */
  write(packet: Buffer): boolean {
    let ok: boolean;
    try {
      ok = fs.writeSync(this.tun.fd, packet) === packet.length;
    } catch {
      ok = false;
    }
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
