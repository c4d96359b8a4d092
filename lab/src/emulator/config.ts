import type { FailoverMode } from "./balancer";
import { HASH_MODES, type HashMode } from "./hash";
import { resolveHealthSettings, type HealthCheckSettings } from "./health";

/** Everything the emulator process needs; passed as one JSON argument. Ids are hex strings (JSON has no bigint). */
export interface EmulatorConfig {
  readonly tun: string;
  readonly tunMtu: number;
  /** The load balancer's address on the appliance network (GENEVE source, health-check source). */
  readonly listenAddress: string;
  readonly endpointIdHex: string;
  readonly attachmentIdHex: string;
  readonly targets: ReadonlyArray<{
    readonly name: string;
    readonly address: string;
    readonly healthPort: number;
  }>;
  readonly hashMode: HashMode;
  readonly failover: FailoverMode;
  readonly health: HealthCheckSettings;
  readonly controlSocket: string;
  /** Idle timeouts (GWLB: TCP 350 s, others 120 s). */
  readonly tcpIdleMs: number;
  readonly otherIdleMs: number;
}

/** Parses and validates the emulator's JSON argument; throws with the offending field. */
export function parseEmulatorConfig(text: string): EmulatorConfig {
  let c: EmulatorConfig;
  try {
    c = JSON.parse(text) as EmulatorConfig;
  } catch (e) {
    throw new Error(`emulator config is not JSON: ${(e as Error).message}`);
  }
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`emulator config: invalid ${what}`);
  };
  need(typeof c.tun === "string" && c.tun.length > 0 && c.tun.length <= 15, "tun");
  need(Number.isInteger(c.tunMtu) && c.tunMtu >= 576, "tunMtu");
  need(typeof c.listenAddress === "string", "listenAddress");
  need(/^[0-9a-f]{1,16}$/i.test(c.endpointIdHex), "endpointIdHex");
  need(/^[0-9a-f]{1,16}$/i.test(c.attachmentIdHex), "attachmentIdHex");
  need(Array.isArray(c.targets) && c.targets.length > 0, "targets");
  need(HASH_MODES.includes(c.hashMode), "hashMode");
  need(c.failover === "rebalance" || c.failover === "no_rebalance", "failover");
  need(typeof c.controlSocket === "string", "controlSocket");
  need(c.tcpIdleMs > 0 && c.otherIdleMs > 0, "idle timeouts");
  return { ...c, health: resolveHealthSettings(c.health) };
}

export interface EmulatorEvent {
  /** Milliseconds since the emulator started. */
  readonly t: number;
  readonly text: string;
}

/** What `GET /status` on the emulator's control socket returns. */
export interface EmulatorStatus {
  readonly uptimeMs: number;
  readonly endpointIdHex: string;
  readonly attachmentIdHex: string;
  readonly hashMode: HashMode;
  readonly failover: FailoverMode;
  readonly tun: {
    readonly name: string;
    readonly rx: number;
    readonly tx: number;
    readonly txErrors: number;
  };
  readonly targets: ReadonlyArray<{
    readonly name: string;
    readonly address: string;
    readonly state: string;
    readonly detail: string;
    readonly checks: number;
    readonly sentPackets: number;
    readonly returnedPackets: number;
    readonly flows: number;
  }>;
  readonly counters: {
    readonly endpointRx: number;
    readonly encapsulated: number;
    readonly geneveRx: number;
    readonly decapsulated: number;
    readonly returnedOtherTuple: number;
    readonly returnedByPreviousTarget: number;
    readonly flowsCreated: number;
    readonly flowsMoved: number;
    readonly flowsExpired: number;
    readonly drops: Record<string, number>;
  };
  readonly flowCount: number;
  readonly events: readonly EmulatorEvent[];
}

/** One flow as `GET /flows` returns it. */
export interface FlowView {
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Hex, 8 digits. */
  readonly cookie: string;
  readonly target: string;
  readonly targets: readonly string[];
  readonly forward: { readonly packets: number; readonly bytes: number };
  readonly reverse: { readonly packets: number; readonly bytes: number };
  readonly returned: { readonly packets: number; readonly bytes: number };
  readonly ageMs: number;
  readonly idleMs: number;
}
