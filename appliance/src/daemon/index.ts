/**
 * `startDaemon(config, { logger })`: the appliance as the `tollgate` command runs it. Builds the
 * control plane (rp_filter keeper, -c/-r hooks, rules; health and metrics server) from the
 * resolved configuration, starts the data path with its listeners, and stops everything in order
 * on SIGTERM/SIGINT: data path (DESTROY hooks, interfaces removed), then the control plane (once
 * its start has settled, when the signal came during start-up).
 */
import type { ApplianceConfig } from "../config/config";
import { createControlPlane, type ControlPlaneDeps } from "../config/control-plane";
import type { Logger } from "../config/logger";
import { DATAPATH_DROP_REASONS } from "../datapath/counters";
import type { NativeAddon } from "../io/native";
import { startDatapathDaemon, type Daemon, type DaemonSettings } from "./daemon";

export * from "./daemon";

export interface StartDaemonOptions {
  readonly logger: Logger;
  /** Stop on SIGTERM/SIGINT. Defaults to true. */
  readonly handleSignals?: boolean;
  /** Test seams for the control plane (exec, sysctl file system, rules listener). */
  readonly controlPlane?: ControlPlaneDeps;
  readonly native?: NativeAddon;
}

export async function startDaemon(
  config: ApplianceConfig,
  options: StartDaemonOptions,
): Promise<Daemon> {
  const logger = options.logger;
  const plane = createControlPlane(config, logger, options.controlPlane);
  const daemon = startDatapathDaemon({
    ...daemonSettings(config),
    onCanaryRoundTrip: (ms) => plane.onCanaryRoundTrip(ms),
    listeners: plane.listeners,
    logger: logger.child({ component: "datapath" }),
    handleSignals: options.handleSignals ?? true,
    ...(options.native ? { native: options.native } : {}),
  });
  // SIGTERM/SIGINT is handled from here on, also while the control plane is still starting: its
  // stop step first waits for the start to settle, so a health server that begins listening
  // after the signal is closed too (otherwise it kept the process alive).
  const starting = plane.start(daemon, {
    dropReasons: DATAPATH_DROP_REASONS,
    flows: daemon.datapath,
  });
  daemon.onStop(async () => {
    await starting.catch(() => undefined);
    await plane.stop();
  });
  try {
    await starting;
  } catch (err) {
    await daemon.stop("control plane failed to start");
    throw err;
  }
  return daemon;
}

/** The data path daemon's settings from the resolved config (units converted, nothing defaulted). */
export function daemonSettings(config: ApplianceConfig): DaemonSettings {
  return {
    listenAddress: config.listen.address,
    port: config.listen.port,
    socketBufferBytes: config.socketBufferBytes,
    datapathMode: config.datapath,
    datapath: {
      batchSize: config.batchSize,
      rxCoalesceUs: config.rxCoalesceUs,
      mtu: config.mtu,
      maxEndpoints: config.maxEndpoints,
      endpointIdleTimeoutMs: config.endpointIdleTimeoutSeconds * 1000,
      maxFlows: config.flows.maxEntries,
      flowTimeouts: config.flows.timeouts,
      holdTimeoutMs: config.hold.timeoutSeconds * 1000,
      holdMaxPackets: config.hold.maxPackets,
      holdMaxBytes: config.hold.maxBytes,
      geneveSources: config.gwlbCidrs,
      // The canary feeds health: without a health server nobody would read it.
      canaryIntervalMs:
        config.health.port !== undefined ? config.health.canary.intervalSeconds * 1000 : 0,
    },
  };
}
