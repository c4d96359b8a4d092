/**
 * Assembles the running appliance: GENEVE sockets, data path, endpoint listeners (rp_filter,
 * hooks, rules), whatever else registers a stop step (health server, rp_filter keeper), and a
 * clean shutdown on SIGTERM/SIGINT that runs DESTROY hooks and removes every interface.
 */
import type { EndpointListener } from "../endpoint-lifecycle";
import { GeneveSockets } from "../io/udp";
import { loadNative, type NativeAddon } from "../io/native";
import { Datapath, type DatapathSettings } from "../datapath/datapath";
import { nativePort } from "../datapath/port";
import type { DatapathLogger } from "../datapath/endpoints";
import { totalDrops, type DatapathCounters } from "../datapath/counters";
import type { DatapathStatus, DatapathStatusProvider } from "../health/status";
import { canaryStatus } from "../datapath/canary";
import type { DatapathMode } from "../config/schema";
import { LoadedKernelPath, type KernelPath } from "../datapath/kernel";

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
  readonly openKernel?: (options: DaemonOptions, native: NativeAddon) => KernelPath;
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
  const sockets = GeneveSockets.open(
    { address: listen.address, port: listen.port, bufferBytes: options.socketBufferBytes },
    native,
  );
  let datapath: Datapath;
  let kernel: KernelPath | undefined;
  try {
    kernel = chooseDatapath(options, native, log);
    datapath = new Datapath(nativePort(sockets, native), {
      ...options.datapath,
      ...(kernel ? { kernel } : {}),
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
        log.info({ reason }, "shutting down: removing endpoint interfaces");
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        try {
          await datapath.stop();
        } catch (err) {
          log.error({ err: String(err) }, "error while stopping the data path");
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
): KernelPath | undefined {
  const mode = options.datapathMode;
  if (mode === "user") {
    log.info({ datapath: "user" }, "data path: user space (--datapath user)");
    return undefined;
  }
  try {
    const kernel = (options.openKernel ?? openKernelPath)(options, native);
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

function openKernelPath(options: DaemonOptions, native: NativeAddon): KernelPath {
  return LoadedKernelPath.open(native, {
    port: options.port,
    listenAddress: options.listenAddress,
    geneveSources: options.datapath.geneveSources,
    flowEntries: options.datapath.maxFlows,
    logger: options.logger ?? consoleLogger,
  });
}
