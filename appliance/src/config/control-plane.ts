/**
 * The appliance's control plane, assembled from a resolved config: endpoint listeners (rp_filter
 * keeper, -c/-r hooks, rules) in the order the daemon must call them, and the health/metrics HTTP
 * server once the data path exists. The daemon (daemon/index.ts) builds the data path with
 * `listeners`, then calls `start(datapath)`, and `stop()` on shutdown after the data path has
 * removed its interfaces.
 */
import type { EndpointListener } from "../endpoint-lifecycle";
import { HookRunner, type ExecFn } from "../hooks/runner";
import { RpFilterKeeper, type SysctlFs } from "../sysctl/rp-filter";
import { HealthEvaluator, type HealthEvaluatorOptions } from "../health/evaluate";
import { startHealthServer, type HealthServer } from "../health/server";
import type { DatapathStatusProvider, ExtraHealthCheck, HealthCheckResult } from "../health/status";
import { createMetrics, type ApplianceMetrics } from "../metrics/registry";
import { registerAlertMetrics } from "../alerts/metrics";
import { createRulesListener } from "../rules/listener";
import { startAlerts } from "../alerts/start";
import { createSuricataManager } from "../suricata/start";
import { registerSuricataMetrics } from "../suricata/metrics";
import type { FlowTableView } from "../alerts/endpoint";
import type { AlertService } from "../alerts/service";
import type { ApplianceConfig } from "./config";
import type { Logger } from "./logger";

export interface ControlPlaneDeps {
  readonly exec?: ExecFn;
  readonly sysctlFs?: SysctlFs;
  /** Replaces the rules listener (tests); its health(), if any, feeds the rules stages. */
  readonly rules?: EndpointListener & { health?(): HealthCheckResult[] };
}

export interface ControlPlane {
  /** Call in order on creation, in reverse order before removal: rp_filter, hooks, rules. */
  readonly listeners: readonly EndpointListener[];
  readonly hooks: HookRunner;
  readonly rpFilter: RpFilterKeeper | undefined;
  readonly health: HealthServer | undefined;
  readonly metrics: ApplianceMetrics | undefined;
  readonly alerts: AlertService | undefined;
  /**
   * Starts the rp_filter keeper, the alert follower and, with a health port, the HTTP server
   * reading `datapath`. `dropReasons` pre-registers every drop label in /metrics; `flows` lets
   * alerts find their endpoint by 5-tuple (alerts/endpoint.ts).
   */
  start(
    datapath: DatapathStatusProvider,
    options?: { dropReasons?: readonly string[]; flows?: FlowTableView },
  ): Promise<void>;
  /** Stops the HTTP server and keeper, waits for running hooks. Idempotent. */
  stop(): Promise<void>;
  /** The data path reports each canary round trip here (metrics). */
  onCanaryRoundTrip(ms: number): void;
}

/**
 * What the daemon accepts and relies on without checking it, said in the start-up log and in
 * the health details: GENEVE from any source (no `gwlbCidrs`), forwarding wired outside the
 * daemon (`externalForwarding`). These never make the appliance unhealthy.
 */
export function exposureNotes(config: ApplianceConfig): HealthCheckResult[] {
  const notes: HealthCheckResult[] = [
    config.gwlbCidrs.length > 0
      ? { name: "geneve-sources", ok: true, detail: `only from ${config.gwlbCidrs.join(", ")}` }
      : {
          name: "geneve-sources",
          ok: true,
          detail:
            "ANY source accepted (no --gwlb-cidr / gwlbCidrs): any host that reaches UDP port " +
            `${config.listen.port} can inject traffic; give the GWLB subnets' CIDRs`,
        },
  ];
  if (config.externalForwarding) {
    notes.push({
      name: "forwarding",
      ok: true,
      detail:
        "external (--external-forwarding / externalForwarding): gwi-X -> gwo-X is set up outside the daemon; only the health canary verifies it",
    });
  }
  return notes;
}

/** The health verdict's settings from the resolved config. */
export function evaluatorSettings(
  config: ApplianceConfig,
): Pick<HealthEvaluatorOptions, "windowMs" | "minPackets" | "canaryFailures" | "graceMs"> {
  return {
    windowMs: config.health.windowSeconds * 1000,
    minPackets: config.health.minPackets,
    canaryFailures: config.health.canary.failures,
    graceMs: config.health.graceSeconds * 1000,
  };
}

export function createControlPlane(
  config: ApplianceConfig,
  logger: Logger,
  deps: ControlPlaneDeps = {},
): ControlPlane {
  const hooks = new HookRunner({
    ...(config.hooks.create ? { create: config.hooks.create } : {}),
    ...(config.hooks.destroy ? { destroy: config.hooks.destroy } : {}),
    timeoutMs: config.hooks.timeoutSeconds * 1000,
    logger: logger.child({ component: "hooks" }),
    ...(deps.exec ? { exec: deps.exec } : {}),
  });
  const rpFilter = config.rpFilter.manage
    ? new RpFilterKeeper({
        intervalMs: config.rpFilter.intervalSeconds * 1000,
        global: config.rpFilter.global,
        logger: logger.child({ component: "rp_filter" }),
        ...(deps.sysctlFs ? { fs: deps.sysctlFs } : {}),
      })
    : undefined;
  const suricata = createSuricataManager(config, logger);
  const rules =
    deps.rules ??
    (config.rulesFile
      ? createRulesListener({
          file: config.rulesFile,
          logger: logger.child({ component: "rules" }),
          checkIntervalMs: config.health.verifyIntervalSeconds * 1000,
          ...(suricata ? { onLoaded: (loaded) => void suricata.update(loaded) } : {}),
        })
      : undefined);
  const listeners: EndpointListener[] = [
    ...(rpFilter ? [rpFilter] : []),
    hooks,
    ...(rules ? [rules] : []),
  ];

  let health: HealthServer | undefined;
  let metrics: ApplianceMetrics | undefined;
  let alerts: AlertService | undefined;
  let stopped: Promise<void> | undefined;
  const roundTrips: ((ms: number) => void)[] = [];

  const plane: ControlPlane = {
    listeners,
    hooks,
    rpFilter,
    get health() {
      return health;
    },
    get metrics() {
      return metrics;
    },
    get alerts() {
      return alerts;
    },
    onCanaryRoundTrip(ms) {
      for (const l of roundTrips) l(ms);
    },
    async start(datapath, options = {}) {
      if (rpFilter) await rpFilter.start();
      alerts = startAlerts(config, logger, options.flows);
      const notes = exposureNotes(config);
      for (const n of notes) {
        if (n.name === "geneve-sources" && config.gwlbCidrs.length === 0)
          logger.warn({ geneveSources: "any" }, `GENEVE sources: ${n.detail}`);
        else logger.info({}, `${n.name}: ${n.detail}`);
      }
      if (
        config.threads.udp !== undefined ||
        config.threads.tun !== undefined ||
        config.threads.udpAffinity ||
        config.threads.tunAffinity
      ) {
        logger.info(
          { threads: config.threads },
          "thread options accepted for compatibility; the data path runs on one thread with batched syscalls",
        );
      }
      if (config.health.port === undefined) return;
      const checks: ExtraHealthCheck[] = notes.map((n) => () => n);
      if (rpFilter) {
        checks.push(() => {
          const p = [...rpFilter.problems];
          return p.length === 0
            ? { name: "rp_filter", ok: true }
            : { name: "rp_filter", ok: false, detail: p.map(([k, v]) => `${k}: ${v}`).join("; ") };
        });
      }
      if (config.hooks.create) checks.push(() => hooks.health());
      if (rules?.health) checks.push(() => rules.health?.() ?? []);
      if (suricata) checks.push(() => suricata.health());
      const evaluator = new HealthEvaluator(evaluatorSettings(config));
      let lastHealthy = true;
      let failing = new Set<string>();
      const stages = {
        failing: {} as Record<string, number>,
        failures: {} as Record<string, number>,
      };
      /** Counts conditions failing now by stage, and those that turned failed since the last look. */
      const track = (found: readonly HealthCheckResult[]) => {
        const now = new Set<string>();
        const count: Record<string, number> = {};
        for (const c of found.filter((x) => !x.ok)) {
          const key = `${c.name}/${c.endpoint ?? ""}`;
          now.add(key);
          count[c.name] = (count[c.name] ?? 0) + 1;
          if (!failing.has(key)) stages.failures[c.name] = (stages.failures[c.name] ?? 0) + 1;
        }
        failing = now;
        stages.failing = count;
      };
      metrics = createMetrics({
        datapath,
        hooks,
        ...(rpFilter ? { rpFilter } : {}),
        healthy: () => lastHealthy,
        stages: { failing: () => stages.failing, failures: stages.failures },
        canaryRoundTrips: (l) => roundTrips.push(l),
        ...(options.dropReasons ? { dropReasons: options.dropReasons } : {}),
      });
      registerAlertMetrics(metrics.registry, alerts);
      if (suricata) registerSuricataMetrics(metrics.registry, suricata);
      const server = await startHealthServer({
        port: config.health.port,
        address: config.health.address,
        datapath,
        checks,
        metrics,
        format: config.health.format,
        detailed: config.health.detailed,
        evaluator,
        // Sampling happens below, with logging of health transitions.
        sampleIntervalMs: 0,
      });
      const first = server.report();
      lastHealthy = first.healthy;
      track(first.checks);
      const timer = setInterval(() => {
        try {
          const r = server.report();
          track(r.checks);
          if (r.healthy !== lastHealthy) {
            if (r.healthy) logger.info({ state: r.state }, "health: healthy again");
            else logger.warn({ reasons: r.reasons }, "health: unhealthy");
          }
          lastHealthy = r.healthy;
        } catch (err) {
          logger.error({ err: String(err) }, "health evaluation failed");
        }
      }, 1000);
      timer.unref();
      health = {
        port: server.port,
        address: server.address,
        report: server.report,
        close: async () => {
          clearInterval(timer);
          await server.close();
        },
      };
      logger.info(
        { port: health.port, address: health.address },
        "health and metrics server listening",
      );
    },
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        await health?.close();
        await rpFilter?.close();
        await hooks.close();
        await rules?.close?.();
        await suricata?.close();
        alerts?.close();
      })();
      return stopped;
    },
  };
  return plane;
}
