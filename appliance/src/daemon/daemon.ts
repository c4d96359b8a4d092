/**
 * Assembles the running appliance: GENEVE sockets, data path, endpoint listeners (rp_filter,
 * hooks, rules), whatever else registers a stop step (health server, rp_filter keeper), and a
 * clean shutdown on SIGTERM/SIGINT that runs DESTROY hooks and removes every interface.
 * Under a systemd unit with a file descriptor store, SIGTERM hands the data path's descriptors
 * to the service manager instead and exits without tearing down; the next start adopts them
 * (daemon/fdstore.ts): a restart or an upgrade keeps every flow flowing.
 */
import * as fs from "node:fs";
import type { EndpointListener } from "../endpoint-lifecycle";
import { GeneveSockets, type GeneveSocketOptions } from "../io/udp";
import { loadNative, type NativeAddon } from "../io/native";
import { Datapath, type DatapathSettings } from "../datapath/datapath";
import { nativePort } from "../datapath/port";
import type { DatapathLogger } from "../datapath/endpoints";
import { totalDrops, type DatapathCounters } from "../datapath/counters";
import type { DatapathStatus, DatapathStatusProvider } from "../health/status";
import { canaryStatus } from "../datapath/canary";
import type { DatapathMode } from "../config/schema";
import { LoadedKernelPath, type KernelPath } from "../datapath/kernel";
import type { AdoptTuns } from "../datapath/datapath";
import { TunDevice } from "../io/tun";
import { endpointInfo } from "../naming";
import {
  SOCKET_FD_NAME,
  STATE_FD_NAME,
  fdStoreLimit,
  listenFds,
  notifyFdStore,
  parseState,
  planAdoption,
  stateMemfd,
  type Adoption,
  type AdoptedKernel,
  type FdStore,
  type HandoverState,
  type NamedFd,
  type ReadFd,
} from "./fdstore";

/** The daemon's settings, resolved from the appliance config (daemon/index.ts, daemonSettings). */
export interface DaemonSettings {
  /** IPv4 address to receive GENEVE on. */
  readonly listenAddress: string;
  /** UDP port. */
  readonly port: number;
  /** SO_RCVBUF/SO_SNDBUF of the GENEVE sockets (forced as root). */
  readonly socketBufferBytes: number;
  /** Data path settings (MTU, batch size, flow table bound and timeouts, max endpoints...). */
  readonly datapath: DatapathSettings;
  /** `--datapath`: kernel (eBPF), user, or auto (kernel where supported). */
  readonly datapathMode: DatapathMode;
}

export interface DaemonOptions extends DaemonSettings {
  /** Called with each canary round trip, ms (metrics). */
  readonly onCanaryRoundTrip?: (ms: number) => void;
  /** Run in order after an endpoint's interfaces come up, and in reverse before removal. */
  readonly listeners?: readonly EndpointListener[];
  readonly logger?: DatapathLogger;
  /** Stop cleanly on SIGTERM and SIGINT. Defaults to true. */
  readonly handleSignals?: boolean;
  /** The addon (tests may inject one). Defaults to the built tollgate_native. */
  readonly native?: NativeAddon;
  /** Opens the kernel path (tests may inject one). Defaults to loading the compiled programs. */
  readonly openKernel?: (
    options: DaemonOptions,
    native: NativeAddon,
    adopt?: AdoptedKernel,
  ) => KernelPath;
  /**
   * Where SIGTERM hands the data path over (a restart). Defaults to systemd's fd store when
   * NOTIFY_SOCKET and FDSTORE say the unit has one; null: always tear down.
   */
  readonly fdStore?: FdStore | null;
  /** Descriptors handed over by the previous daemon. Defaults to LISTEN_FDS (sd_listen_fds). */
  readonly inherited?: readonly NamedFd[];
}

/** A point-in-time view of the data path, for health checks and metrics. */
export interface DaemonStatus extends DatapathStatus {
  readonly listen: { readonly address: string; readonly port: number };
  readonly counters: DatapathCounters;
  readonly totalDrops: number;
}

export interface Daemon extends DatapathStatusProvider {
  readonly datapath: Datapath;
  readonly sockets: GeneveSockets;
  status(): DaemonStatus;
  /** Registers a step run at shutdown (after the data path has stopped), in reverse order. */
  onStop(step: () => Promise<void> | void): void;
  /** Stops everything; idempotent. Resolves when interfaces are gone and sockets closed. */
  stop(reason?: string): Promise<void>;
  /** Resolves once stop() has finished. */
  readonly stopped: Promise<void>;
}

const consoleLogger: DatapathLogger = {
  info: (o, m) => console.error(JSON.stringify({ level: "info", msg: m, ...o })),
  warn: (o, m) => console.error(JSON.stringify({ level: "warn", msg: m, ...o })),
  error: (o, m) => console.error(JSON.stringify({ level: "error", msg: m, ...o })),
};

/** Opens the sockets and starts forwarding. Throws (nothing left open) if the socket cannot bind. */
export function startDatapathDaemon(options: DaemonOptions): Daemon {
  const log = options.logger ?? consoleLogger;
  const native = options.native ?? loadNative();
  const listen = { address: options.listenAddress, port: options.port };
  const inherited = takeInherited(options);
  const adoption = readAdoption(inherited, options, native, log);
  const sockets = openSockets(
    { address: listen.address, port: listen.port, bufferBytes: options.socketBufferBytes },
    adoption.socket,
    native,
    log,
  );
  let datapath: Datapath;
  let kernel: KernelPath | undefined;
  try {
    kernel = chooseDatapath(options, native, log, adoption);
    const adopt = adoptTuns(adoption, kernel !== undefined, native, log);
    datapath = new Datapath(nativePort(sockets, native), {
      ...options.datapath,
      ...(kernel ? { kernel } : {}),
      adopt,
      ...(options.onCanaryRoundTrip ? { onCanaryRoundTrip: options.onCanaryRoundTrip } : {}),
      listeners: options.listeners ?? [],
      logger: log,
    });
  } catch (err) {
    kernel?.close();
    sockets.close();
    throw err;
  }
  datapath.start();
  log.info(
    { address: listen.address, port: listen.port, rcvbuf: sockets.rcvbuf, sndbuf: sockets.sndbuf },
    "GENEVE data path listening",
  );

  const steps: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const fdStore = options.fdStore === undefined ? fdStoreFromEnv(native, log) : options.fdStore;
  forgetInherited(inherited, fdStore, log);
  const onSignal = (sig: NodeJS.Signals): void => {
    void daemon.stop(sig);
  };
  if (options.handleSignals ?? true) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  const daemon: Daemon = {
    datapath,
    sockets,
    stopped,
    onStop(step) {
      steps.push(step);
    },
    status() {
      const now = performance.now();
      datapath.syncKernel();
      return {
        datapath: kernel ? "kernel" : "user",
        ...(kernel ? { kernel: kernel.describe() } : {}),
        running: datapath.isRunning,
        socketBound: sockets.isOpen,
        listen,
        endpoints: datapath.endpoints.list().map((ep) => ({
          id: ep.info.idHex17,
          gwi: ep.info.gwi,
          gwo: ep.info.gwo,
          up: ep.gwi.isUp() && ep.gwo.isUp(),
          ageMs: now - ep.createdAt,
          setupDone: ep.setupDone,
          ...(kernel
            ? { kernelPackets: { toGwi: ep.kernelToGwi, fromTuns: ep.kernelFromTuns } }
            : {}),
          ...(datapath.canary ? { canary: canaryStatus(ep.canary, now) } : {}),
        })),
        flows: datapath.flows.size,
        flowCapacity: datapath.flows.table.capacity,
        flowCache: datapath.flows.stats,
        idleMs: datapath.lastActivity > 0 ? now - datapath.lastActivity : undefined,
        counters: datapath.counters,
        totalDrops: totalDrops(datapath.counters),
        ...(datapath.canary ? { canary: { ...datapath.canary.totals } } : {}),
      };
    },
    stop(reason = "stop") {
      if (stopping) return stopping;
      stopping = (async () => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        const handedOver =
          reason === "SIGTERM" &&
          fdStore !== null &&
          handOver(datapath, sockets, fdStore, native, log);
        if (!handedOver) {
          log.info({ reason }, "shutting down: removing endpoint interfaces");
          try {
            await datapath.stop();
          } catch (err) {
            log.error({ err: String(err) }, "error while stopping the data path");
          }
        }
        sockets.close();
        for (const step of steps.reverse()) {
          try {
            await step();
          } catch (err) {
            log.error({ err: String(err) }, "error in a shutdown step");
          }
        }
        log.info({ counters: datapath.counters }, "stopped");
        resolveStopped();
      })();
      return stopping;
    },
  };
  return daemon;
}

/**
 * The kernel path for `--datapath kernel|auto`, or undefined for the user path. `kernel` fails
 * (the daemon does not start) when it cannot load or attach; `auto` logs why and uses the user
 * path.
 */
function chooseDatapath(
  options: DaemonOptions,
  native: NativeAddon,
  log: DatapathLogger,
  adoption: Adoption,
): KernelPath | undefined {
  const mode = options.datapathMode;
  const k = adoption.kernel;
  const adopt = k.maps.size + k.uplinks.size + k.progs.length > 0 ? k : undefined;
  if (mode === "user") {
    log.info({ datapath: "user" }, "data path: user space (--datapath user)");
    closeKernelFds(adoption.kernel, native);
    return undefined;
  }
  try {
    const kernel = (options.openKernel ?? openKernelPath)(options, native, adopt);
    log.info(
      { datapath: "kernel", mode, ...kernel.describe() },
      "data path: kernel (eBPF on the uplink and the tun interfaces; the daemon handles what the programs send up)",
    );
    return kernel;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (mode === "kernel") throw new Error(`--datapath kernel: ${reason}`);
    log.warn(
      { datapath: "user", reason },
      "data path: the kernel path is not available here, using the user-space path (--datapath auto)",
    );
    return undefined;
  }
}

/** The stored maps, uplink links and programs, when the user path runs instead. */
function closeKernelFds(k: AdoptedKernel, native: NativeAddon): void {
  for (const fd of [...k.maps.values(), ...k.uplinks.values(), ...k.progs]) native.closeFd(fd);
}

function openKernelPath(
  options: DaemonOptions,
  native: NativeAddon,
  adopt: AdoptedKernel | undefined,
): KernelPath {
  return LoadedKernelPath.open(native, {
    ...(adopt ? { adopt } : {}),
    port: options.port,
    listenAddress: options.listenAddress,
    geneveSources: options.datapath.geneveSources,
    flowEntries: options.datapath.maxFlows,
    logger: options.logger ?? consoleLogger,
  });
}

/**
 * The GENEVE sockets: the stored receiving socket (a restart) when it is bound where this start
 * listens, else a new one.
 */
function openSockets(
  options: GeneveSocketOptions,
  stored: number | undefined,
  native: NativeAddon,
  log: DatapathLogger,
): GeneveSockets {
  if (stored !== undefined) {
    try {
      return GeneveSockets.adopt(stored, options, native);
    } catch (err) {
      log.warn({ err: String(err) }, "restart: stored GENEVE socket not adopted: closed");
      native.closeFd(stored);
    }
  }
  return GeneveSockets.open(options, native);
}

/** The service manager's fd store when the environment says there is one; null (logged) when not. */
function fdStoreFromEnv(native: NativeAddon, log: DatapathLogger): FdStore | null {
  const limit = fdStoreLimit(process.env);
  if (typeof limit === "string") {
    log.info({ reason: limit }, "restart: SIGTERM removes every interface (no fd store)");
    return null;
  }
  log.info(
    { fdStoreMax: limit },
    "restart: SIGTERM hands the data path to the service manager's fd store",
  );
  return notifyFdStore(process.env.NOTIFY_SOCKET!, limit, native);
}

/**
 * SIGTERM under an fd store: stores every descriptor the data path needs plus the state memfd,
 * and leaves interfaces, links, maps, rules and routes as they are. False (nothing stored, the
 * caller tears down) when they do not fit the store or the first one cannot be sent.
 */
function handOver(
  datapath: Datapath,
  sockets: GeneveSockets,
  store: FdStore,
  native: NativeAddon,
  log: DatapathLogger,
): boolean {
  const handed = datapath.handOver();
  const { endpoints } = handed;
  // The receiving socket too: GENEVE arriving while no daemon runs queues in it.
  const fds = [...handed.fds, { name: SOCKET_FD_NAME, fd: sockets.rxFd }];
  const state: HandoverState = {
    version: 1,
    datapath: datapath.kernel ? "kernel" : "user",
    address: sockets.address,
    port: sockets.port,
    endpoints,
  };
  if (fds.length + 1 > store.limit) {
    log.error(
      { needed: fds.length + 1, fdStoreMax: store.limit },
      "restart: the fd store is too small for the data path (raise FileDescriptorStoreMax= and FDSTORE= in the unit): removing every interface",
    );
    return false;
  }
  const memfd = stateMemfd(state, native, (fd, text) => fs.writeSync(fd, text, 0));
  try {
    store.store([...fds, { name: STATE_FD_NAME, fd: memfd }]);
  } catch (err) {
    log.error(
      { err: String(err) },
      "restart: cannot store the descriptors: removing every interface",
    );
    return false;
  } finally {
    native.closeFd(memfd);
  }
  log.info(
    { endpoints: endpoints.length, descriptors: fds.length + 1, datapath: state.datapath },
    "restart: data path handed to the service manager; interfaces, links and maps stay",
  );
  return true;
}

const readWholeFd: ReadFd = (fd) => {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = fs.readSync(fd, buf, off, size - off, off);
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off).toString("utf8");
};

/** The previous daemon's descriptors; LISTEN_* leaves the environment (hooks must not see it). */
function takeInherited(options: DaemonOptions): readonly NamedFd[] {
  if (options.inherited !== undefined) return options.inherited;
  const fds = listenFds(process.env, process.pid);
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDNAMES;
  return fds;
}

/**
 * Once adopted, the store forgets what it handed over (FDSTOREREMOVE=1): it keeps its copies
 * until told, so an endpoint this daemon removes later would keep its interfaces alive, and come
 * back at the next start. The next SIGTERM stores what is live then.
 */
function forgetInherited(
  inherited: readonly NamedFd[],
  store: FdStore | null,
  log: DatapathLogger,
): void {
  if (store === null || inherited.length === 0) return;
  try {
    store.remove([...new Set(inherited.map((f) => f.name))]);
  } catch (err) {
    log.warn({ err: String(err) }, "restart: cannot clear the fd store");
  }
}

/**
 * What to do with the previous daemon's descriptors (LISTEN_FDS); those not adopted are closed
 * here (logged).
 */
function readAdoption(
  fds: readonly NamedFd[],
  options: DaemonOptions,
  native: NativeAddon,
  log: DatapathLogger,
): Adoption {
  const listen = { address: options.listenAddress, port: options.port };
  if (fds.length === 0) return planAdoption([], undefined, listen);
  let state: HandoverState | undefined;
  const stateFd = fds.find((f) => f.name === STATE_FD_NAME);
  if (stateFd !== undefined) {
    const parsed = parseState(readWholeFd(stateFd.fd));
    if (typeof parsed === "string") log.warn({ reason: parsed }, "restart: stored state ignored");
    else state = parsed;
    native.closeFd(stateFd.fd);
  }
  const plan = planAdoption(
    fds.filter((f) => f !== stateFd),
    state,
    listen,
  );
  for (const c of plan.close) {
    log.warn({ name: c.name, reason: c.reason }, "restart: stored descriptor not adopted: closed");
    native.closeFd(c.fd);
  }
  log.info(
    { endpoints: plan.endpoints.length, previous: state?.datapath, descriptors: fds.length },
    "restart: taking over the previous daemon's data path",
  );
  return plan;
}

/**
 * Opens the adopted endpoints' tuns. Without the kernel path their stored links are closed (the
 * programs detach: the user path serves them); an endpoint whose tun is not what its name says
 * is dropped (its descriptors closed: its interfaces go, its next datagram recreates them).
 */
function adoptTuns(
  plan: Adoption,
  kernel: boolean,
  native: NativeAddon,
  log: DatapathLogger,
): AdoptTuns[] {
  const out: AdoptTuns[] = [];
  for (const a of plan.endpoints) {
    const links = kernel ? a.links : {};
    if (!kernel)
      for (const fd of [a.links.gwi, a.links.gwo]) if (fd !== undefined) native.closeFd(fd);
    const id = BigInt(`0x${a.id}`);
    const info = endpointInfo(id);
    try {
      const gwi = TunDevice.adopt(a.gwi, info.gwi, native);
      const gwo = TunDevice.adopt(a.gwo, info.gwo, native);
      out.push({ id, tag: a.tag, gwi, gwo, links });
    } catch (err) {
      log.warn({ endpoint: a.id, err: String(err) }, "restart: endpoint not adopted: closed");
      for (const fd of [a.gwi, a.gwo, links.gwi, links.gwo])
        if (fd !== undefined) native.closeFd(fd);
    }
  }
  return out;
}
