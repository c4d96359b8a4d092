import * as fs from "node:fs";
import * as path from "node:path";
import type { DatapathBuffers, PortLayout } from "./layout";

/**
 * The tollgate_native addon (appliance/native): only what Node has no API for — tun descriptors,
 * interface ioctls, batched datagram syscalls, a send-only raw socket and libuv readiness. The
 * batched calls work on caller-owned buffers bound once (dpBind) and addressed by offsets, so
 * nothing allocates per packet.
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
   * Binds a data path's buffers to its GENEVE sockets once (the receive message headers are
   * prepared once too); the calls below then take integers only, read and write these buffers
   * only, and put their outcome into `buffers.result` (fields: io/layout Result). Unpacking a
   * Buffer or typed-array argument costs more than the work at one packet per call. The handle
   * keeps the buffers alive. `buffers.wFds.length` is the batch size.
   */
  dpBind(rxFd: number, txFd: number, buffers: DatapathBuffers): NativeDatapath;
  /**
   * Readiness of the bound GENEVE socket: on each wake-up the addon receives up to a batch itself
   * (recvmmsg into rxBuf slots of `slot` bytes, rxMeta per io/layout RxMeta; Result.RECEIVED and
   * RECV_ERRNO) and calls `callback()` only when it received something or the receive failed.
   * With `coalesceUs` > 0 (at most 10000), a wake-up within that long of the previous batch (of
   * fewer than 4 datagrams) first lets that long pass, so that several datagrams are received
   * together: the socket is unwatched meanwhile and a timerfd ends the window, so the event loop
   * keeps running.
   */
  dpWatch(h: NativeDatapath, callback: () => void, coalesceUs: number): NativeWatch;
  /**
   * write() of rxBuf[wOffs[k], wOffs[k] + wLens[k]) to wFds[k] for k < n; wErrs[k] = errno or 0.
   * Result.WRITTEN = writes that succeeded.
   */
  dpWrite(h: NativeDatapath, n: number): void;
  /**
   * read() from fd until EAGAIN or `max` packets; packet k goes to txBuf at txBase + k * txStride
   * (at most txCap bytes), its length to txLens[k]. Result.READ = packets read; READ_ERRNO =
   * errno when the first read failed (EAGAIN: 0).
   */
  dpRead(h: NativeDatapath, fd: number, max: number): void;
  /** dpWrite(h, n) then dpRead(h, fd, max) in one call (the usual batch: one endpoint). */
  dpWriteRead(h: NativeDatapath, n: number, fd: number, max: number): void;
  /**
   * For each k < n, txMeta per io/layout TxMeta: writes an IPv4 + UDP header (UDP checksum
   * computed) into the RAW_HEADER_ROOM bytes before the offset and sends the datagrams with
   * sendmmsg from the raw socket. Result.SENT = datagrams sent.
   */
  dpSend(h: NativeDatapath, n: number): void;
  /** Calls `callback` from the event loop whenever fd is readable (level-triggered). */
  watch(fd: number, callback: () => void): NativeWatch;
  unwatch(handle: NativeWatch): void;
  /**
   * Loads a BPF object with the distribution's libbpf (dlopen'ed). Map `mapNames[i]` is pinned at
   * `pinPaths[i]` unless that is "" (an existing compatible pin is reused: its contents survive a
   * restart) and gets `maxEntries[i]` entries when > 0. Returns new descriptors of the maps and
   * programs asked for, in order. Throws with libbpf's log (the verifier's verdict included).
   */
  bpfLoad(
    objectPath: string,
    mapNames: readonly string[],
    pinPaths: readonly string[],
    maxEntries: readonly number[],
    progNames: readonly string[],
    /**
     * Per map: a descriptor of an existing map to use instead of creating one (a restart), or
     * -1. Used only when its type, key size, value size and entries match the object's map
     * (after maxEntries); `reused[i]` says whether it was. The caller still owns it.
     */
    reuseFds?: readonly number[],
  ): { maps: number[]; progs: number[]; reused: boolean[] };
  /** Attaches a program with a tcx link (Linux >= 6.6) at ifindex's ingress or egress; link fd. */
  bpfLinkTcx(progFd: number, ifindex: number, egress: boolean): number;
  /** bpf(BPF_MAP_UPDATE_ELEM) (flags: 0 any, 1 no-exist, 2 exist); throws with the errno. */
  bpfMapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): boolean;
  /** bpf(BPF_MAP_LOOKUP_ELEM) into `out` (per-CPU maps: one 8-aligned value per possible CPU). */
  bpfMapLookup(fd: number, key: Buffer, out: Buffer): boolean;
  /** bpf(BPF_MAP_DELETE_ELEM); false when the key was absent. */
  bpfMapDelete(fd: number, key: Buffer): boolean;
  bpfMapInfo(fd: number): {
    type: number;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    /** The map's id (`bpftool map show id N`). */
    id: number;
  };
  /** ifindex a tcx link is attached to; 0 once detached (its interface was removed). */
  bpfLinkIfindex(fd: number): number;
  /** bpf(BPF_OBJ_GET) of a pinned object; throws (code ENOENT) when there is none. */
  bpfObjGet(path: string): number;
  /** if_nametoindex(); 0 when there is no such interface. */
  ifIndex(name: string): number;
  /** Links a bpf iterator program (BPF_TRACE_ITER, no target); link fd. */
  bpfIterLink(progFd: number): number;
  /**
   * Runs the linked iterator once (a new iterator fd, read to its end) into `out`; bytes written.
   * Throws (ENOSPC) when it wrote more than `out` holds.
   */
  bpfIterRead(linkFd: number, out: Buffer): number;
  /**
   * Sends `message` (sd_notify(3) text) with `fds` (SCM_RIGHTS, at most 253) as one datagram to
   * a unix socket: an absolute path or an abstract name written with a leading "@"
   * ($NOTIFY_SOCKET's forms).
   */
  notifySend(socket: string, message: string, fds: readonly number[]): void;
  /** A non-blocking AF_UNIX datagram socket bound to `socket` (tests play the service manager). */
  notifyBind(socket: string): number;
  /** One queued datagram with the descriptors it carried (close-on-exec), or null when none. */
  notifyReceive(fd: number): { message: string; fds: number[]; truncated: boolean } | null;
  /** memfd_create(2) with MFD_CLOEXEC. */
  memfdCreate(name: string): number;
  /** Name of the tun interface a tun descriptor is attached to (TUNGETIFF). */
  tunName(fd: number): string;
  /** bpf(BPF_LINK_UPDATE): the link runs progFd from now on (atomically; no detach). */
  bpfLinkUpdate(linkFd: number, progFd: number): void;
  /** The link's id and the id of the program it runs. */
  bpfLinkIds(fd: number): { id: number; progId: number };
  /** Sets FD_CLOEXEC (descriptors inherited through LISTEN_FDS do not have it). */
  fdCloexec(fd: number): void;
  /**
   * Takes over a stored GENEVE socket (a restart): checks it is UDP bound to address:port,
   * makes it non-blocking and close-on-exec, sets IP_PKTINFO and the buffers like udpOpen.
   */
  udpAdopt(
    fd: number,
    address: string,
    port: number,
    bufferBytes: number,
  ): { fd: number; rcvbuf: number; sndbuf: number };
  /** The field indices the addon uses (its C enums); the same as io/layout's PORT_LAYOUT. */
  readonly layout: PortLayout;
  /**
   * bpf(BPF_PROG_TEST_RUN) of a tc program on one Ethernet frame, the skb's device `ifindex`
   * and `mark` as given: the program's return value and the frame it left in `out` (its first
   * `size` bytes). The kernel performs no redirect. Throws with the errno.
   */
  bpfTestRun(
    progFd: number,
    frame: Buffer,
    mark: number,
    ifindex: number,
    out: Buffer,
  ): { retval: number; size: number };
}

/** Opaque bound data path buffers (see NativeAddon.dpBind). */
export type NativeDatapath = { readonly __nativeDatapath: unique symbol };

/** Opaque libuv poll handle. */
export type NativeWatch = { readonly __nativeWatch: unique symbol };

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
