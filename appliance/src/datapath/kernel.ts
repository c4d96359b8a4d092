/**
 * The kernel data path's control side: loads appliance/bpf/tollgate.bpf.c's object through the
 * addon (libbpf), attaches tg_decap to the uplinks' ingress and tg_encap to every endpoint's
 * gwi-X/gwo-X egress (tcx links, Linux >= 6.6), fills the maps the programs read (config, local
 * addresses, allowed GENEVE sources, ready endpoints, interface -> endpoint), and reads back
 * what they count (per-CPU counters, per-endpoint activity) and store (flows, for the packets the
 * programs send up to the daemon: ICMP errors, fragments).
 *
 * Nothing is pinned: across a restart the service manager's file descriptor store keeps the maps
 * and the tcx links (daemon/fdstore.ts); a start reuses the stored maps whose layout matches the
 * object (flows, endpoints, counters) and swaps the new programs into the stored links
 * (BPF_LINK_UPDATE), so traffic never stops. A pin from an older release is removed at start.
 * The byte layouts below mirror the C structs (little-endian hosts: x86_64, arm64).
 */
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GENEVE_DROP_REASONS, type GeneveDropReason } from "../geneve/codec";
import { compareEndpoints } from "../flow/key";
import type { NativeAddon } from "../io/native";
import { ipv4ToNumber, numberToIpv4 } from "../io/native";
import type { PacketScratch } from "../packet/parse";
import { compileSourceAllowList } from "../config/cidr";
import type { DatapathCounters } from "./counters";
import type { DatapathLogger, Endpoint } from "./endpoints";
import {
  KernelFlowAccounting,
  type KernelFlowStatus,
  type MapElementCounter,
  openMapElementCounter,
} from "./kernel-flows";
import {
  canaryDatagram,
  encapsulatedCanary,
  forwardedCanary,
  type KernelCanarySpec,
} from "./kernel-canary";
import { CANARY_PORT } from "../canary";
import { fdName, type AdoptedKernel, type NamedFd } from "../daemon/fdstore";

/** The compiled programs, relative to this file's compiled location (dist/datapath). */
export const BPF_OBJECT_PATH = path.resolve(
  __dirname,
  "..",
  "..",
  "bpf",
  "build",
  "tollgate.bpf.o",
);
export const BPF_FS = "/sys/fs/bpf";
export const BPF_PIN_ROOT = `${BPF_FS}/tollgate`;

/** Counter slots (tollgate.bpf.c's enum). */
export const KernelCounter = {
  RX_DATAGRAMS: 0,
  RX_BYTES: 1,
  TUN_TX_PACKETS: 2,
  TUN_TX_BYTES: 3,
  TUN_RX_PACKETS: 4,
  TUN_RX_BYTES: 5,
  TX_DATAGRAMS: 6,
  TX_BYTES: 7,
  PUNT_DECAP: 8,
  PUNT_ENCAP: 9,
  REDIRECT_ERRORS: 10,
  /** Flows tg_decap inserted into tg_flows (see kernel-flows.ts). */
  FLOWS_CREATED: 11,
  /** The daemon's canary encapsulated by tg_encap / decapsulated by tg_decap (not traffic). */
  CANARY_ENCAP: 14,
  CANARY_DECAP: 15,
  /** GENEVE drop reasons follow, in GENEVE_DROP_REASONS order. */
  DROP_BASE: 16,
  COUNT: 32,
} as const;

/** tcx verdicts (tollgate.bpf.c). */
const TCX_NEXT = -1;
const TCX_REDIRECT = 7;

export const FLOW_KEY_BYTES = 40;
export const FLOW_VALUE_BYTES = 104;
const FLOW_HDR_OFFSET = 40;

const MAPS = [
  "tg_config",
  "tg_endpoints",
  "tg_ifaces",
  "tg_flows",
  "tg_local",
  "tg_sources",
  "tg_counters",
  "tg_ep_stats",
] as const;
type MapName = (typeof MAPS)[number];
const PROGS = ["tg_decap", "tg_encap"] as const;
/**
 * Maps a restart reuses when the stored one has the object's layout: the flows, the endpoints'
 * entries (the tuns keep their ifindex) and the counters (which go on from the kernel's values).
 * The others hold configuration and are filled anew from this start's settings.
 */
export const REUSED_MAPS: readonly MapName[] = [
  "tg_flows",
  "tg_endpoints",
  "tg_ifaces",
  "tg_counters",
  "tg_ep_stats",
];

/** What a flow stored by tg_decap gives the daemon's return path (see FlowRecord). */
export interface KernelFlow {
  header: Buffer;
  gwlbAddress: number;
  gwlbPort: number;
  localAddress: number;
}

/**
 * How the kernel path would carry an endpoint's canary (KernelPath.canaryProbe):
 * - `kernel`: tg_decap decapsulated it for gwi-X (the daemon writes it there); tg_encap must
 *   return one of `expected` from gwo-X;
 * - `daemon`: the kernel path sends the datagram up (tg_decap punted it, or is not attached to the
 *   uplink): the daemon's user path carries it, like a real datagram;
 * - `lost`: the kernel path would not deliver it into gwi-X (reason): not written.
 * `expected`: tg_encap's output for the canary after a routed hop (TTL decremented: the default
 * rules' kernel forwarding) or a hop that does not route (TTL kept: a gwlbtun-style tc mirred
 * hook), like the GWLB emulator accepts either; `flow`: the flow tg_decap stores for it
 * (what the daemon's return path uses when tg_encap sends the canary up unencapsulated).
 */
export type KernelCanaryProbe =
  | {
      readonly via: "kernel" | "daemon";
      readonly expected: readonly Buffer[];
      readonly flow: KernelFlow;
    }
  | { readonly via: "lost"; readonly reason: string };

/** An interface GENEVE arrives on, with its IPv4 addresses. */
export interface Uplink {
  readonly name: string;
  readonly addresses: readonly string[];
}

/** The kernel path as the data path uses it (a seam: tests inject fakes). */
export interface KernelPath {
  /**
   * Attaches tg_encap to the endpoint's interfaces (its replies are encapsulated from now on);
   * with `stored` links (a restart) the new program replaces the old one in them instead.
   */
  attachEndpoint(ep: Endpoint, stored?: { readonly gwi?: number; readonly gwo?: number }): void;
  /** Lets tg_decap redirect the endpoint's traffic (after its hold queue was flushed). */
  activateEndpoint(ep: Endpoint): void;
  /** Stops both programs serving the endpoint (before its interfaces are removed). */
  removeEndpoint(ep: Endpoint): void;
  /** The flow tg_decap stored for the packet located in `s` (buf) of endpoint ep, if any. */
  lookupFlow(buf: Uint8Array, s: PacketScratch, ep: Endpoint): KernelFlow | undefined;
  /**
   * Adds what the programs counted since the last call to `counters`; sets lastSeen = now of the
   * endpoints whose kernel traffic moved.
   */
  sync(counters: DatapathCounters, endpoints: readonly Endpoint[], now: number): void;
  /**
   * Runs the endpoint's canary (the IPv4 packet `canary`, GENEVE-wrapped) through the loaded
   * tg_decap (BPF_PROG_TEST_RUN) and says how the kernel path carries it. Never throws.
   */
  canaryProbe(ep: Endpoint, canary: Buffer): KernelCanaryProbe;
  /** What the health and status report about the kernel path. */
  describe(): KernelPathStatus;
  /** Detaches every program (closing the links) and closes the maps. */
  close(): void;
  /**
   * The descriptors a restart must keep (maps, programs, uplink links, the endpoints' links),
   * named for the fd store. The path keeps owning them.
   */
  handoverFds(): NamedFd[];
}

export interface KernelPathStatus {
  readonly uplinks: readonly string[];
  /** Uplinks whose tcx link is no longer attached (interface gone, detached by hand). */
  readonly detached: readonly string[];
  readonly puntedForward: number;
  readonly puntedReturn: number;
  readonly flowCapacity: number;
  /** tg_flows' turnover since the daemon started (kernel-flows.ts); always set by LoadedKernelPath. */
  readonly flows?: KernelFlowStatus;
  /** The daemon's canaries tg_decap decapsulated and tg_encap encapsulated. */
  readonly canaryDecapsulated: number;
  readonly canaryEncapsulated: number;
  /** Adopted at this start from a restart: maps reused, maps replaced (their content lost). */
  readonly restart?: {
    readonly reusedMaps: readonly string[];
    readonly replacedMaps: readonly string[];
  };
}

export interface KernelPathOptions {
  readonly port: number;
  /** IPv4 address GENEVE is received on; 0.0.0.0: every address of the uplinks. */
  readonly listenAddress: string;
  readonly geneveSources: readonly string[];
  readonly flowEntries: number;
  /** Defaults to every interface with an IPv4 address but lo and gwi-/gwo- (uplinks()). */
  readonly uplinks?: readonly Uplink[];
  readonly objectPath?: string;
  /** The flow counter's object (kernel-flows.ts); defaults to BPF_COUNT_OBJECT_PATH. */
  readonly countObjectPath?: string;
  readonly logger: DatapathLogger;
  /** What the previous daemon stored (a restart): maps to reuse, uplink links to update. */
  readonly adopt?: AdoptedKernel;
}

/** Interfaces with IPv4 addresses (`ip -j -4 addr`), minus loopback and the endpoints' tuns. */
export function discoverUplinks(listenAddress: string): Uplink[] {
  const out = execFileSync("ip", ["-j", "-4", "addr", "show"], { encoding: "utf8" });
  const links = JSON.parse(out) as { ifname: string; addr_info?: { local?: string }[] }[];
  return links
    .filter((l) => l.ifname !== "lo" && !/^gw[io]-/.test(l.ifname))
    .map((l) => ({
      name: l.ifname,
      addresses: (l.addr_info ?? []).flatMap((a) => (a.local !== undefined ? [a.local] : [])),
    }))
    .filter(
      (l) =>
        l.addresses.length > 0 &&
        (listenAddress === "0.0.0.0" || l.addresses.includes(listenAddress)),
    );
}

/** Mounts bpffs on /sys/fs/bpf when nothing is mounted there (systemd does it at boot). */
function ensureBpffs(): void {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8");
  if (mounts.split("\n").some((l) => l.split(" ")[1] === BPF_FS && l.split(" ")[2] === "bpf")) {
    return;
  }
  execFileSync("mount", ["-t", "bpf", "bpf", BPF_FS], { stdio: ["ignore", "ignore", "pipe"] });
}

function possibleCpus(): number {
  const text = fs.readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  let n = 0;
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function ipv4Bytes(text: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ipv4ToNumber(text));
  return b;
}

/** tg_endpoints key: the endpoint id as GENEVE carries it (8 bytes, big-endian). */
function endpointKey(ep: Endpoint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(ep.info.id);
  return b;
}

/**
 * tg_flows key of the packet located in `s`: tag, family, protocol, then the (address, port)
 * that sorts first (bytes, then port) and the other one, like flow/key.ts and the C order_key.
 */
export function kernelFlowKey(buf: Uint8Array, s: PacketScratch, tag: number, out: Buffer): void {
  out.fill(0);
  const alen = s.family === 4 ? 4 : 16;
  const src = s.srcOffset;
  const dst = src + alen;
  const ps = s.hasPorts ? s.srcPort : 0;
  const pd = s.hasPorts ? s.dstPort : 0;
  const swap = compareEndpoints(buf, src, dst, alen, ps, pd) > 0;
  out.writeUInt16LE(tag & 0xffff, 0);
  out[2] = s.family;
  out[3] = s.proto;
  out.writeUInt16BE(swap ? pd : ps, 4);
  out.writeUInt16BE(swap ? ps : pd, 6);
  out.set(buf.subarray(swap ? dst : src, (swap ? dst : src) + alen), 8);
  out.set(buf.subarray(swap ? src : dst, (swap ? src : dst) + alen), 24);
}

interface EndpointLinks {
  readonly links: number[];
  readonly ifindexes: number[];
}

/** Removes a pin of tg_flows left by an older release (it would hold the map past a stop). */
function removeStalePin(pinDir: string, log: DatapathLogger): void {
  const pin = `${pinDir}/tg_flows`;
  if (!fs.existsSync(pin)) return;
  fs.unlinkSync(pin);
  log.info({ pin }, "removed a pinned flow map left by an older release (nothing is pinned now)");
  for (const dir of [pinDir, BPF_PIN_ROOT]) {
    try {
      fs.rmdirSync(dir);
    } catch {
      return; // not empty: someone else's pins
    }
  }
}

/** The loaded kernel path. `open` throws (nothing left attached) with the reason when it cannot. */
export class LoadedKernelPath implements KernelPath {
  private readonly fds: Record<MapName, number>;
  private readonly progs: Record<(typeof PROGS)[number], number>;
  private readonly uplinkLinks: { name: string; fd: number }[] = [];
  private readonly endpoints = new Map<Endpoint, EndpointLinks>();
  private readonly cpus = possibleCpus();
  private readonly last = new Float64Array(KernelCounter.COUNT);
  private readonly epLast = new Map<number, number>();
  private readonly key = Buffer.alloc(FLOW_KEY_BYTES);
  private readonly value = Buffer.alloc(FLOW_VALUE_BYTES);
  private readonly epValue = Buffer.alloc(8);
  private readonly perCpu: Buffer;
  private readonly epPerCpu: Buffer;
  private flowAccounting: KernelFlowAccounting | undefined;
  /** Secret per-daemon skb mark tg_decap accepts as the daemon's canary (tg_config). */
  private readonly canaryMark = randomInt(1, 2 ** 32 - 1);
  /** The canary's uplink (the first one), its tcx link and what the datagram claims. */
  private canaryUplink:
    { ifindex: number; link: number; spec: Omit<KernelCanarySpec, "endpointId"> } | undefined;
  private readonly testOut = Buffer.alloc(2048);
  private readonly restart: KernelPathStatus["restart"];

  static open(native: NativeAddon, options: KernelPathOptions): LoadedKernelPath {
    return new LoadedKernelPath(native, options);
  }

  private constructor(
    private readonly native: NativeAddon,
    private readonly options: KernelPathOptions,
  ) {
    // Whatever the start adopts and does not keep is closed, also when it fails.
    const offered = options.adopt?.maps ?? new Map<string, number>();
    const storedUplinks = new Map(options.adopt?.uplinks ?? []);
    try {
      const object = options.objectPath ?? BPF_OBJECT_PATH;
      if (!fs.existsSync(object)) {
        throw new Error(
          `BPF object not built (${object}): build with clang and libbpf-dev installed (npm run build)`,
        );
      }
      const uplinks = options.uplinks ?? discoverUplinks(options.listenAddress);
      if (uplinks.length === 0) {
        throw new Error(`no interface holds ${options.listenAddress} (no uplink to attach to)`);
      }
      ensureBpffs();
      removeStalePin(`${BPF_PIN_ROOT}/geneve-${options.port}`, options.logger);
      const loaded = native.bpfLoad(
        object,
        MAPS,
        MAPS.map(() => ""),
        MAPS.map((m) => (m === "tg_flows" ? options.flowEntries : 0)),
        PROGS,
        MAPS.map((m) => (REUSED_MAPS.includes(m) ? (offered.get(m) ?? -1) : -1)),
      );
      this.fds = Object.fromEntries(MAPS.map((m, i) => [m, loaded.maps[i]!])) as Record<
        MapName,
        number
      >;
      this.progs = Object.fromEntries(PROGS.map((p, i) => [p, loaded.progs[i]!])) as Record<
        (typeof PROGS)[number],
        number
      >;
      this.restart = options.adopt ? this.reportReuse(offered, loaded.reused) : undefined;
      this.perCpu = Buffer.alloc(8 * this.cpus);
      this.epPerCpu = Buffer.alloc(24 * this.cpus);
      try {
        this.flowAccounting = this.openFlowAccounting();
        this.configure(uplinks);
        for (const u of uplinks) {
          const ifindex = native.ifIndex(u.name);
          const stored = storedUplinks.get(ifindex);
          storedUplinks.delete(ifindex);
          const fd = this.link(this.progs.tg_decap, ifindex, false, stored);
          this.uplinkLinks.push({ name: u.name, fd });
        }
        this.canaryUplink = this.canarySetup(uplinks[0]!, this.uplinkLinks[0]!.fd);
      } catch (err) {
        this.close();
        throw err;
      }
    } finally {
      for (const [ifindex, fd] of storedUplinks) {
        options.logger.info({ ifindex }, "stored uplink link not used by this start: detaching it");
        native.closeFd(fd);
      }
      for (const fd of [...offered.values(), ...(options.adopt?.progs ?? [])]) native.closeFd(fd);
    }
    // The counters map is new (its first read is the baseline, zero) or reused (the first read
    // adds what the kernel counted before this start).
  }

  /**
   * A tcx link running prog at ifindex: the stored one (a restart) with prog swapped in, when it
   * is still attached there, else a new one.
   */
  private link(prog: number, ifindex: number, egress: boolean, stored: number | undefined): number {
    const n = this.native;
    if (stored !== undefined) {
      if (n.bpfLinkIfindex(stored) === ifindex) {
        n.bpfLinkUpdate(stored, prog);
        return stored;
      }
      this.options.logger.warn({ ifindex }, "stored tcx link no longer attached: attaching anew");
      n.closeFd(stored);
    }
    try {
      return n.bpfLinkTcx(prog, ifindex, egress);
    } catch (err) {
      throw new Error(
        `cannot attach ${egress ? "tg_encap" : "tg_decap"} to ifindex ${ifindex} with a tcx link (needs Linux >= 6.6; this is ${os.release()}): ${String(err)}`,
      );
    }
  }

  /** Logs which stored maps were reused and warns about those replaced (their content lost). */
  private reportReuse(
    offered: ReadonlyMap<string, number>,
    reused: readonly boolean[],
  ): NonNullable<KernelPathStatus["restart"]> {
    const reusedMaps = MAPS.filter((_, i) => reused[i] === true);
    // Configuration maps are filled anew at every start by design: only a map of REUSED_MAPS the
    // start could not take over has lost content.
    const replacedMaps = MAPS.filter(
      (m, i) => REUSED_MAPS.includes(m) && offered.has(m) && reused[i] !== true,
    );
    this.options.logger.info({ reusedMaps }, "restart: reusing the stored BPF maps");
    if (replacedMaps.length > 0) {
      this.options.logger.warn(
        { replacedMaps },
        "restart: stored BPF maps with another layout or size were replaced (their flows and counts are lost)",
      );
    }
    return { reusedMaps, replacedMaps };
  }

  /** tg_flows' turnover; its baseline is taken before tg_decap starts (configure()). */
  private openFlowAccounting(): KernelFlowAccounting {
    const mapId = this.native.bpfMapInfo(this.fds.tg_flows).id;
    let counter: MapElementCounter | { readonly error: string };
    try {
      counter = openMapElementCounter(this.native, mapId, this.options.countObjectPath);
    } catch (err) {
      const error = `cannot count the flows in tg_flows (needs the kernel's BTF, /sys/kernel/btf/vmlinux, and Linux >= 6.6): ${err instanceof Error ? err.message : String(err)}`;
      this.options.logger.warn({ mapId }, `${error}; kernel evictions are not counted`);
      counter = { error };
    }
    return new KernelFlowAccounting(
      mapId,
      () => this.counter(KernelCounter.FLOWS_CREATED),
      counter,
    );
  }

  /**
   * The canary datagram's addresses: to the uplink's MAC and its (first) address in tg_local, from
   * the first allowed GENEVE source (any address when all are allowed) and the canary port.
   */
  private canarySetup(u: Uplink, link: number): LoadedKernelPath["canaryUplink"] {
    const o = this.options;
    const [info] = JSON.parse(
      execFileSync("ip", ["-j", "link", "show", "dev", u.name], { encoding: "utf8" }),
    ) as { address?: string }[];
    const mac = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(info?.address ?? "")
      ? Buffer.from(info!.address!.split(":").map((h) => parseInt(h, 16)))
      : Buffer.alloc(6); // no hardware address: eth_type_trans compares with zeros
    const sources = compileSourceAllowList(o.geneveSources);
    const first = sources.networks[0];
    const gwlb = first === undefined ? "198.18.0.2" : numberToIpv4(first);
    const local = o.listenAddress === "0.0.0.0" ? u.addresses[0]! : o.listenAddress;
    return {
      ifindex: this.native.ifIndex(u.name),
      link,
      spec: { uplinkMac: mac, local, gwlb, gwlbPort: CANARY_PORT },
    };
  }

  private configure(uplinks: readonly Uplink[]): void {
    const n = this.native;
    const o = this.options;
    const config = Buffer.alloc(8);
    config.writeUInt16BE(o.port, 0);
    config.writeUInt16LE(o.geneveSources.length > 0 ? 1 : 0, 2);
    config.writeUInt32LE(this.canaryMark, 4);
    const locals =
      o.listenAddress === "0.0.0.0" ? uplinks.flatMap((u) => u.addresses) : [o.listenAddress];
    for (const a of locals) n.bpfMapUpdate(this.fds.tg_local, ipv4Bytes(a), Buffer.of(1), 0);
    const sources = compileSourceAllowList(o.geneveSources);
    sources.networks.forEach((network, i) => {
      const k = Buffer.alloc(8);
      k.writeUInt32LE(Math.clz32(~sources.masks[i]!), 0); // prefix length
      k.writeUInt32BE(network, 4);
      n.bpfMapUpdate(this.fds.tg_sources, k, Buffer.of(1), 0);
    });
    // Last: with the port set, tg_decap starts handling datagrams.
    n.bpfMapUpdate(this.fds.tg_config, u32(0), config, 0);
  }

  attachEndpoint(
    ep: Endpoint,
    stored: { readonly gwi?: number; readonly gwo?: number } = {},
  ): void {
    const n = this.native;
    const ifindexes = [n.ifIndex(ep.info.gwi), n.ifIndex(ep.info.gwo)];
    const storedLinks = [stored.gwi, stored.gwo];
    const value = Buffer.alloc(16);
    value.writeUInt32LE(ep.tag, 0);
    value.writeBigUInt64BE(ep.info.id, 8);
    const links: number[] = [];
    this.endpoints.set(ep, { links, ifindexes });
    ifindexes.forEach((ifindex, i) => {
      n.bpfMapUpdate(this.fds.tg_ifaces, u32(ifindex), value, 0);
      links.push(this.link(this.progs.tg_encap, ifindex, true, storedLinks[i]));
    });
  }

  activateEndpoint(ep: Endpoint): void {
    const e = this.endpoints.get(ep);
    if (e === undefined) return;
    const value = Buffer.alloc(8);
    value.writeUInt32LE(e.ifindexes[0]!, 0);
    value.writeUInt32LE(ep.tag, 4);
    this.native.bpfMapUpdate(this.fds.tg_endpoints, endpointKey(ep), value, 0);
  }

  removeEndpoint(ep: Endpoint): void {
    const e = this.endpoints.get(ep);
    if (e === undefined) return;
    this.endpoints.delete(ep);
    const n = this.native;
    n.bpfMapDelete(this.fds.tg_endpoints, endpointKey(ep));
    for (const ifindex of e.ifindexes) n.bpfMapDelete(this.fds.tg_ifaces, u32(ifindex));
    for (const fd of e.links) n.closeFd(fd);
    this.epLast.delete(ep.tag);
  }

  lookupFlow(buf: Uint8Array, s: PacketScratch, ep: Endpoint): KernelFlow | undefined {
    kernelFlowKey(buf, s, ep.tag, this.key);
    const v = this.value;
    if (!this.native.bpfMapLookup(this.fds.tg_flows, this.key, v)) return undefined;
    if (v.readBigUInt64BE(32) !== ep.info.id) return undefined;
    const hlen = v.readUInt16LE(14);
    return {
      header: Buffer.from(v.subarray(FLOW_HDR_OFFSET, FLOW_HDR_OFFSET + hlen)),
      localAddress: v.readUInt32BE(4),
      gwlbAddress: v.readUInt32BE(8),
      gwlbPort: v.readUInt16BE(12),
    };
  }

  canaryProbe(ep: Endpoint, canary: Buffer): KernelCanaryProbe {
    const u = this.canaryUplink;
    if (u === undefined) return { via: "lost", reason: "the kernel path is closed" };
    try {
      const spec: KernelCanarySpec = { ...u.spec, endpointId: ep.info.id };
      const { frame, header } = canaryDatagram(spec, canary);
      const expected = [forwardedCanary(canary), canary].map((c) =>
        encapsulatedCanary(spec, header, c),
      );
      const flow: KernelFlow = {
        header,
        gwlbAddress: ipv4ToNumber(spec.gwlb),
        gwlbPort: spec.gwlbPort,
        localAddress: ipv4ToNumber(spec.local),
      };
      // Detached, tg_decap sees no datagram: they reach the daemon's socket.
      if (this.native.bpfLinkIfindex(u.link) === 0) return { via: "daemon", expected, flow };
      const out = this.testOut;
      const r = this.native.bpfTestRun(this.progs.tg_decap, frame, this.canaryMark, u.ifindex, out);
      if (r.retval === TCX_NEXT) return { via: "daemon", expected, flow };
      if (r.retval !== TCX_REDIRECT) {
        return { via: "lost", reason: `tg_decap returned ${r.retval}, not a redirect` };
      }
      const decapped = out.subarray(0, r.size);
      if (r.size !== 14 + canary.length || !decapped.subarray(14).equals(canary)) {
        return { via: "lost", reason: "tg_decap's output is not the canary it carried" };
      }
      // A test run does not redirect: check where tg_decap would (tg_endpoints' gwi ifindex).
      const gwi = this.native.ifIndex(ep.info.gwi);
      const target = this.native.bpfMapLookup(this.fds.tg_endpoints, endpointKey(ep), this.epValue)
        ? this.epValue.readUInt32LE(0)
        : 0;
      if (target !== gwi) {
        return {
          via: "lost",
          reason: `tg_decap redirects into ifindex ${target}, not ${ep.info.gwi} (${gwi})`,
        };
      }
      return { via: "kernel", expected, flow };
    } catch (err) {
      return { via: "lost", reason: `canary test run failed: ${String(err)}` };
    }
  }

  /** Sum over CPUs of counter slot i. */
  private counter(i: number): number {
    if (!this.native.bpfMapLookup(this.fds.tg_counters, u32(i), this.perCpu)) return 0;
    let sum = 0;
    for (let c = 0; c < this.cpus; c++) sum += Number(this.perCpu.readBigUInt64LE(8 * c));
    return sum;
  }

  private delta(i: number): number {
    const v = this.counter(i);
    const d = v - this.last[i]!;
    this.last[i] = v;
    return d;
  }

  sync(c: DatapathCounters, endpoints: readonly Endpoint[], now: number): void {
    const K = KernelCounter;
    c.rxDatagrams += this.delta(K.RX_DATAGRAMS);
    c.rxBytes += this.delta(K.RX_BYTES);
    c.tunTxPackets += this.delta(K.TUN_TX_PACKETS);
    c.tunTxBytes += this.delta(K.TUN_TX_BYTES);
    c.tunRxPackets += this.delta(K.TUN_RX_PACKETS);
    c.tunRxBytes += this.delta(K.TUN_RX_BYTES);
    c.txDatagrams += this.delta(K.TX_DATAGRAMS);
    c.txBytes += this.delta(K.TX_BYTES);
    c.drops.SEND_ERROR += this.delta(K.REDIRECT_ERRORS);
    this.delta(K.PUNT_DECAP);
    this.delta(K.PUNT_ENCAP);
    this.flowAccounting?.sync();
    this.delta(K.CANARY_DECAP);
    this.delta(K.CANARY_ENCAP);
    GENEVE_DROP_REASONS.forEach((r: GeneveDropReason, i) => {
      c.drops[r] += this.delta(K.DROP_BASE + i);
    });
    for (const ep of endpoints) {
      if (!this.native.bpfMapLookup(this.fds.tg_ep_stats, u32(ep.tag), this.epPerCpu)) continue;
      let toGwi = 0;
      let fromTuns = 0;
      for (let k = 0; k < this.cpus; k++) {
        toGwi += Number(this.epPerCpu.readBigUInt64LE(24 * k + 8));
        fromTuns += Number(this.epPerCpu.readBigUInt64LE(24 * k + 16));
      }
      ep.kernelToGwi = toGwi;
      ep.kernelFromTuns = fromTuns;
      const packets = toGwi + fromTuns;
      if (packets !== (this.epLast.get(ep.tag) ?? 0)) {
        this.epLast.set(ep.tag, packets);
        ep.lastSeen = now;
      }
    }
  }

  describe(): KernelPathStatus {
    return {
      uplinks: this.uplinkLinks.map((u) => u.name),
      detached: this.uplinkLinks
        .filter((u) => this.native.bpfLinkIfindex(u.fd) === 0)
        .map((u) => u.name),
      puntedForward: this.last[KernelCounter.PUNT_DECAP]!,
      puntedReturn: this.last[KernelCounter.PUNT_ENCAP]!,
      flowCapacity: this.options.flowEntries,
      ...(this.flowAccounting ? { flows: this.flowAccounting.status() } : {}),
      canaryDecapsulated: this.last[KernelCounter.CANARY_DECAP]!,
      canaryEncapsulated: this.last[KernelCounter.CANARY_ENCAP]!,
      ...(this.restart ? { restart: this.restart } : {}),
    };
  }

  handoverFds(): NamedFd[] {
    const out: NamedFd[] = [];
    for (const m of MAPS) out.push({ name: fdName({ kind: "map", name: m }), fd: this.fds[m] });
    for (const p of PROGS) out.push({ name: fdName({ kind: "prog", name: p }), fd: this.progs[p] });
    for (const u of this.uplinkLinks) {
      const ifindex = this.native.bpfLinkIfindex(u.fd);
      if (ifindex > 0) out.push({ name: fdName({ kind: "uplink", ifindex }), fd: u.fd });
    }
    for (const [ep, e] of this.endpoints) {
      const id = ep.info.idHex17;
      e.links.forEach((fd, i) => {
        out.push({
          name: fdName({ kind: "link", side: i === 0 ? "gwi" : "gwo", endpoint: id }),
          fd,
        });
      });
    }
    return out;
  }

  close(): void {
    const n = this.native;
    for (const ep of [...this.endpoints.keys()]) this.removeEndpoint(ep);
    for (const u of this.uplinkLinks.splice(0)) n.closeFd(u.fd);
    this.flowAccounting?.close();
    this.flowAccounting = undefined;
    this.canaryUplink = undefined;
    for (const fd of [...Object.values(this.progs), ...Object.values(this.fds)]) n.closeFd(fd);
  }
}
