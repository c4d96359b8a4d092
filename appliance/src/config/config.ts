/**
 * The appliance's resolved configuration and its defaults. Everything the daemon needs is in one
 * typed, validated {@link ApplianceConfig}; see resolve.ts for how the command line and the YAML
 * file are merged into it.
 */
import { DEFAULT_FLOW_TIMEOUTS, type FlowTimeouts } from "../flow/cache";
import { GENEVE_PORT, GWLB_MTU } from "../protocol";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ApplianceConfig {
  /** Where GENEVE is received. Defaults to 0.0.0.0:6081. */
  readonly listen: { readonly address: string; readonly port: number };
  /** SO_RCVBUF/SO_SNDBUF of the GENEVE sockets. Defaults to 64 MiB. */
  readonly socketBufferBytes: number;
  /** Datagrams per recvmmsg / packets per tun drain. Defaults to 64. */
  readonly batchSize: number;
  /**
   * Receive-side coalescing window in microseconds: a GENEVE datagram arriving within this long
   * of the previous batch waits this long so that more are received with it (fewer wake-ups and
   * syscalls per packet under load; sparse traffic is never delayed). 0 disables. Defaults to 100.
   */
  readonly rxCoalesceUs: number;
  /** MTU of the gwi-/gwo- interfaces. Defaults to 8500 (GWLB's limit). */
  readonly mtu: number;
  /** Most endpoints served at once. Defaults to 4096. */
  readonly maxEndpoints: number;
  /**
   * Remove an endpoint's interfaces (running the DESTROY hook) after this many seconds without a
   * packet (reference `-t`). 0 never removes them. Defaults to 0.
   */
  readonly endpointIdleTimeoutSeconds: number;
  readonly flows: {
    /** Flow table bound; least recently used flows are evicted beyond it. Defaults to 262144. */
    readonly maxEntries: number;
    /** Idle timeouts in seconds. Defaults to TCP 350 (reference `-i`), UDP 120, other 120. */
    readonly timeouts: FlowTimeouts;
  };
  /**
   * A new endpoint's packets are held until its listeners (rp_filter, CREATE hook, rules) have
   * finished, then written to gwi-X in order.
   */
  readonly hold: {
    /** Longest hold in seconds; then the packets are written anyway. 0 = no hold. Defaults to 3. */
    readonly timeoutSeconds: number;
    /** Most packets held per endpoint; newer ones are dropped. Defaults to 256. */
    readonly maxPackets: number;
    /** Most bytes held per endpoint. Defaults to 1048576. */
    readonly maxBytes: number;
  };
  readonly hooks: {
    /** CREATE hook argv (reference `-c`). */
    readonly create?: readonly string[];
    /** DESTROY hook argv (reference `-r`). */
    readonly destroy?: readonly string[];
    /** Seconds before a running hook is killed. Defaults to 30. */
    readonly timeoutSeconds: number;
  };
  readonly health: {
    /** TCP port of the health/metrics HTTP server (reference `-p`); none when undefined. */
    readonly port?: number;
    /** Defaults to "::" (all IPv4 and IPv6 addresses). */
    readonly address: string;
    /** Body format when the request does not ask (reference `-j` = json). Defaults to "text". */
    readonly format: "text" | "json";
    /** false = status code only (reference `-s`). Defaults to true. */
    readonly detailed: boolean;
    /** Traffic window the health verdict looks at, seconds. Defaults to 10. */
    readonly windowSeconds: number;
    /**
     * Seconds a new endpoint gets to set up forwarding (CREATE hook, rules) and pass its first
     * canary before that counts as a failure; meanwhile health says "starting". Defaults to 10.
     */
    readonly graceSeconds: number;
    /**
     * Period of the rule engine's readiness check (tools, rules file, applied state), seconds.
     * Broken tools turn health 503 within this plus the check's run time. Defaults to 5.
     */
    readonly verifyIntervalSeconds: number;
    readonly canary: {
      /** Seconds between two canary probes of an endpoint. Defaults to 1. */
      readonly intervalSeconds: number;
      /**
       * Probes lost in a row that fail an endpoint: a broken path turns health 503 within
       * (failures + 1) x interval. Defaults to 3.
       */
      readonly failures: number;
    };
  };
  readonly rpFilter: {
    /** Disable rp_filter on the tun interfaces and keep it disabled. Defaults to true. */
    readonly manage: boolean;
    /** Also set conf/all and conf/default to 0 (needed: the kernel uses the max). Defaults to true. */
    readonly global: boolean;
    /** Re-check period in seconds; 0 only sets it once per interface. Defaults to 5. */
    readonly intervalSeconds: number;
  };
  /** Rules file applied per endpoint (see `tollgate rules`). */
  readonly rulesFile?: string;
  /**
   * The user says gwi-X -> gwo-X forwarding is wired outside the daemon (no rules file, no CREATE
   * hook needed). Without it, `tollgate run` refuses to start with neither (see
   * forwardingProblems). Defaults to false.
   */
  readonly externalForwarding: boolean;
  /**
   * IPv4 CIDRs GENEVE is accepted from (the GWLB's subnets); datagrams from other sources are
   * dropped (SOURCE_NOT_ALLOWED). Empty: any source, as the reference does (logged as a warning
   * and shown in health details). Defaults to [].
   */
  readonly gwlbCidrs: readonly string[];
  /** Defaults to "info" ("debug" with `-d`). */
  readonly logLevel: LogLevel;
  /**
   * Reference thread options, accepted for command-line compatibility. The data path runs on
   * one thread with batched system calls; these values are validated and logged only.
   */
  readonly threads: {
    readonly udp?: number;
    readonly udpAffinity?: readonly number[];
    readonly tun?: number;
    readonly tunAffinity?: readonly number[];
  };
  /** The configuration file that was read, if any. */
  readonly configFile?: string;
}

export const DEFAULT_CONFIG: ApplianceConfig = {
  listen: { address: "0.0.0.0", port: GENEVE_PORT },
  socketBufferBytes: 64 * 1024 * 1024,
  batchSize: 64,
  rxCoalesceUs: 100,
  mtu: GWLB_MTU,
  maxEndpoints: 4096,
  endpointIdleTimeoutSeconds: 0,
  flows: { maxEntries: 262_144, timeouts: { ...DEFAULT_FLOW_TIMEOUTS } },
  hold: { timeoutSeconds: 3, maxPackets: 256, maxBytes: 1 << 20 },
  hooks: { timeoutSeconds: 30 },
  health: {
    address: "::",
    format: "text",
    detailed: true,
    windowSeconds: 10,
    graceSeconds: 10,
    verifyIntervalSeconds: 5,
    canary: { intervalSeconds: 1, failures: 3 },
  },
  rpFilter: { manage: true, global: true, intervalSeconds: 5 },
  externalForwarding: false,
  gwlbCidrs: [],
  logLevel: "info",
  threads: {},
};
