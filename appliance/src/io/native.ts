import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The tollgate_native addon (appliance/native): only what Node has no API for — tun descriptors,
 * interface ioctls, batched datagram syscalls, a send-only raw socket and libuv readiness. Every
 * call works on caller-owned buffers addressed by offsets, so nothing allocates per packet.
 * IPv4 addresses are unsigned 32-bit numbers in host order (10.0.0.1 is 0x0a000001).
 */
export interface NativeAddon {
  /** Opens /dev/net/tun non-blocking as IFF_TUN | IFF_NO_PI (| IFF_MULTI_QUEUE). */
  tunOpen(name: string, multiQueue: boolean): { fd: number; name: string };
  /**
   * Sets the MTU (when > 0) and the administrative state of an interface. With `noQueue`, an
   * interface brought up gets "noqueue" as its default qdisc instead of pfifo_fast (a tun never
   * pushes back, so a queue only costs a lock and an enqueue/dequeue per packet); it stays a
   * default qdisc, so `tc qdisc add dev X root ...` in a hook still replaces it.
   */
  ifConfigure(name: string, mtu: number, up: boolean, noQueue?: boolean): void;
  /** Interface flags (IFF_UP = 1, IFF_RUNNING = 0x40), or -1 when the interface does not exist. */
  ifFlags(name: string): number;
  /** Non-blocking UDP socket bound to address:port with IP_PKTINFO and forced buffer sizes. */
  udpOpen(
    address: string,
    port: number,
    bufferBytes: number,
  ): { fd: number; rcvbuf: number; sndbuf: number };
  /** Send-only AF_INET raw socket (IPPROTO_RAW: the caller supplies the IPv4 header). */
  rawOpen(bufferBytes: number): { fd: number; sndbuf: number };
  closeFd(fd: number): void;
  /**
   * recvmmsg into `buf` slots of `slot` bytes; per datagram k, meta[4k] = length (bit 31 set when
   * truncated), meta[4k+1] = source address, meta[4k+2] = source port, meta[4k+3] = local
   * (destination) address. Returns the count, 0 when nothing is queued, -errno on error.
   */
  recvBatch(fd: number, buf: Buffer, slot: number, max: number, meta: Uint32Array): number;
  /** write() of buf[offs[k], offs[k]+lens[k]) to fds[k]; errs[k] = errno or 0. Returns writes that succeeded. */
  writeEach(
    fds: Int32Array,
    buf: Buffer,
    offs: Uint32Array,
    lens: Uint32Array,
    n: number,
    errs: Int32Array,
  ): number;
  /**
   * read() until EAGAIN or `max` packets; packet k goes to base + k*stride (at most cap bytes),
   * its length to lens[k]. Returns the count, or -errno when the first read fails.
   */
  readEach(
    fd: number,
    buf: Buffer,
    base: number,
    stride: number,
    cap: number,
    max: number,
    lens: Uint32Array,
  ): number;
  /**
   * For each k, meta[6k..6k+5] = offset, length, source address, destination address, source
   * port, destination port: writes an IPv4 + UDP header (UDP checksum computed) into the 28 bytes
   * before `offset` and sends the datagrams with sendmmsg. Returns how many were sent.
   */
  sendRawBatch(fd: number, buf: Buffer, meta: Uint32Array, n: number): number;
  /**
   * Binds a data path's buffers once, so the hot calls below take integers only (unpacking
   * Buffer and typed-array arguments costs more than the work at one packet per call). The
   * buffers are kept alive by the handle. wFds.length is the batch size.
   */
  dpBind(
    rxFd: number,
    txFd: number,
    rxBuf: Buffer,
    slot: number,
    rxMeta: Uint32Array,
    wFds: Int32Array,
    wOffs: Uint32Array,
    wLens: Uint32Array,
    wErrs: Int32Array,
    txBuf: Buffer,
    txBase: number,
    txStride: number,
    txCap: number,
    txLens: Uint32Array,
    txMeta: Uint32Array,
  ): NativeDatapath;
  /** recvBatch into the bound rxBuf/rxMeta. */
  dpRecv(h: NativeDatapath, max: number): number;
  /** writeEach of the bound wFds/wOffs/wLens from rxBuf, errors in wErrs. */
  dpWrite(h: NativeDatapath, n: number): number;
  /** readEach into the bound txBuf (txBase + k * txStride, txCap bytes) and txLens. */
  dpRead(h: NativeDatapath, fd: number, max: number): number;
  /** sendRawBatch of the bound txBuf with txMeta. */
  dpSend(h: NativeDatapath, n: number): number;
  /**
   * dpWrite(h, n) then dpRead(h, fd, max) in one call. Returns writesOk * 65536 + packets read
   * (65535 when the read failed).
   */
  dpWriteRead(h: NativeDatapath, n: number, fd: number, max: number): number;
  /**
   * Readiness of the bound GENEVE socket: on each wake-up the addon runs recvmmsg itself and calls
   * `callback(n)` only when it received something (n > 0) or failed (n = -errno). With
   * `coalesceUs` > 0 (at most 10000), a wake-up within that long of the previous batch first waits
   * that long, so that several datagrams are received together.
   */
  dpWatch(h: NativeDatapath, callback: (n: number) => void, coalesceUs?: number): NativeWatch;
  /** Calls `callback` from the event loop whenever fd is readable (level-triggered). */
  watch(fd: number, callback: (status: number) => void): NativeWatch;
  unwatch(handle: NativeWatch): void;
}

/** Opaque bound data path buffers (see NativeAddon.dpBind). */
export type NativeDatapath = { readonly __nativeDatapath: unique symbol };

/** Opaque libuv poll handle. */
export type NativeWatch = { readonly __nativeWatch: unique symbol };

/** Bytes the raw sender writes in front of each payload (IPv4 20 + UDP 8). */
export const RAW_HEADER_ROOM = 28;

/** Interface flag bits (linux/if.h). */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;

/** Where node-gyp puts the addon, relative to this file's compiled location (dist/io). */
export const NATIVE_ADDON_PATH = path.resolve(
  __dirname,
  "..",
  "..",
  "native",
  "build",
  "Release",
  "tollgate_native.node",
);

let cached: NativeAddon | undefined;

/** Loads the addon once; throws an error that says how to build it when it is missing. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    throw new Error(
      `tollgate native addon not built (${NATIVE_ADDON_PATH}): run \`npm run build\` ` +
        "(or `npm run build:native -w @tollgate/appliance`; needs g++, make and python3)",
    );
  }
  const mod = { exports: {} as NativeAddon };
  process.dlopen(mod, NATIVE_ADDON_PATH);
  cached = mod.exports;
  return cached;
}

/** Converts dotted-quad IPv4 text to the addon's host-order number. */
export function ipv4ToNumber(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${text}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new RangeError(`not an IPv4 address: ${text}`);
    n = n * 256 + v;
  }
  return n;
}

/** Converts the addon's host-order number to dotted-quad text. */
export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
