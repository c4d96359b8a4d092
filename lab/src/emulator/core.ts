import { decodeGeneve, encodeGeneve, GENEVE_PORT, parsePacket } from "@tollgate/appliance";
import type { Balancer, Rebalance } from "./balancer";
import { flowKey, type FlowTuple, type HashMode } from "./hash";
import type { FlowEntry } from "./flow-table";

/** A target of the emulated GWLB's target group. */
export interface TargetSpec {
  /** Short name, e.g. "app1". */
  readonly name: string;
  /** IPv4 address GENEVE is sent to (UDP 6081). */
  readonly address: string;
}

export interface EmulatorCoreOptions {
  readonly endpointId: bigint;
  readonly attachmentId: bigint;
  readonly targets: readonly TargetSpec[];
  readonly hashMode: HashMode;
  readonly balancer: Balancer;
  readonly now: () => number;
}

/** Why the emulator dropped something; every drop is counted by reason. */
export type EmulatorDropReason =
  | `INNER_${string}`
  | `GENEVE_${string}`
  | "NO_TARGETS"
  | "UNKNOWN_TARGET"
  | "WRONG_ENDPOINT"
  | "WRONG_ATTACHMENT"
  | "UNKNOWN_COOKIE"
  | "NOT_ROUTABLE";

export interface TargetCounters {
  sentPackets: number;
  sentBytes: number;
  returnedPackets: number;
  returnedBytes: number;
}

export interface EmulatorCounters {
  /** Packets read from the endpoint (tun): client and internet side. */
  endpointRx: number;
  /** GENEVE datagrams sent to targets. */
  encapsulated: number;
  /** GENEVE datagrams received from targets. */
  geneveRx: number;
  /** Inner packets written back to the endpoint after decapsulation. */
  decapsulated: number;
  /** Returned packets whose inner 5-tuple is not the cookie's flow (forwarded, but counted). */
  returnedOtherTuple: number;
  /** Returned packets from a target other than the flow's current one (after a rebalance). */
  returnedByPreviousTarget: number;
  flowsCreated: number;
  drops: Record<string, number>;
  targets: Record<string, TargetCounters>;
}

export type EndpointResult =
  | {
      readonly ok: true;
      readonly target: TargetSpec;
      readonly port: number;
      readonly datagram: Buffer;
      readonly flow: FlowEntry;
      readonly created: boolean;
    }
  | { readonly ok: false; readonly reason: EmulatorDropReason };

export type TargetResult =
  | { readonly ok: true; readonly inner: Buffer; readonly flow: FlowEntry }
  | { readonly ok: false; readonly reason: EmulatorDropReason };

/** False for link-local or multicast traffic, which no router forwards to a GWLB endpoint. */
export function routable(t: FlowTuple): boolean {
  if (t.family === 6) {
    const lc = (a: string) => a.toLowerCase();
    const linkLocal = (a: string) => /^fe[89ab]/.test(lc(a));
    return !linkLocal(t.src) && !linkLocal(t.dst) && !lc(t.dst).startsWith("ff") && t.src !== "::";
  }
  const first = Number(t.dst.split(".")[0]);
  return !(
    first >= 224 ||
    t.src.startsWith("169.254.") ||
    t.dst.startsWith("169.254.") ||
    t.src === "0.0.0.0"
  );
}

/** Converts a parsed inner packet into the balancer's tuple. */
export function tupleOf(buf: Buffer): FlowTuple | string {
  const r = parsePacket(buf);
  if (!r.ok) return r.error;
  const p = r.packet;
  return {
    family: p.family,
    protocol: p.proto,
    src: p.src,
    dst: p.dst,
    ...(p.srcPort !== undefined && p.dstPort !== undefined
      ? { srcPort: p.srcPort, dstPort: p.dstPort }
      : {}),
  };
}

/**
 * The emulated GWLB's packet logic, without I/O: what arrives at the endpoint is encapsulated
 * towards a target; what a target returns is validated and decapsulated.
 */
export class EmulatorCore {
  readonly counters: EmulatorCounters;
  private readonly byAddress = new Map<string, TargetSpec>();
  private readonly byName = new Map<string, TargetSpec>();

  constructor(private readonly options: EmulatorCoreOptions) {
    this.counters = {
      endpointRx: 0,
      encapsulated: 0,
      geneveRx: 0,
      decapsulated: 0,
      returnedOtherTuple: 0,
      returnedByPreviousTarget: 0,
      flowsCreated: 0,
      drops: {},
      targets: {},
    };
    for (const t of options.targets) {
      this.byAddress.set(t.address, t);
      this.byName.set(t.name, t);
      this.counters.targets[t.name] = {
        sentPackets: 0,
        sentBytes: 0,
        returnedPackets: 0,
        returnedBytes: 0,
      };
    }
  }

  get balancer(): Balancer {
    return this.options.balancer;
  }

  private drop(reason: EmulatorDropReason): { ok: false; reason: EmulatorDropReason } {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    return { ok: false, reason };
  }

  /** A packet the endpoint received (from the client or from the internet side). */
  fromEndpoint(packet: Buffer): EndpointResult {
    this.counters.endpointRx++;
    const tuple = tupleOf(packet);
    if (typeof tuple === "string") return this.drop(`INNER_${tuple}`);
    // A GWLB endpoint only carries routed traffic: not the link-local and multicast chatter
    // (IPv6 neighbour discovery, MLD) of the endpoint's own interface.
    if (!routable(tuple)) return this.drop("NOT_ROUTABLE");
    const routed = this.options.balancer.route(tuple, packet.length, this.options.now());
    if (!routed.ok) return this.drop(routed.reason);
    const target = this.byName.get(routed.flow.target);
    if (!target) return this.drop("UNKNOWN_TARGET");
    if (routed.created) this.counters.flowsCreated++;
    const datagram = encodeGeneve(
      {
        endpointId: this.options.endpointId,
        attachmentId: this.options.attachmentId,
        flowCookie: routed.flow.cookie,
      },
      packet,
    );
    this.counters.encapsulated++;
    const tc = this.counters.targets[target.name]!;
    tc.sentPackets++;
    tc.sentBytes += datagram.length;
    return {
      ok: true,
      target,
      port: GENEVE_PORT,
      datagram,
      flow: routed.flow,
      created: routed.created,
    };
  }

  /** A UDP datagram received on 6081 from `fromAddress`. */
  fromTarget(datagram: Buffer, fromAddress: string): TargetResult {
    this.counters.geneveRx++;
    const target = this.byAddress.get(fromAddress);
    if (!target) return this.drop("UNKNOWN_TARGET");
    const d = decodeGeneve(datagram);
    if (!d.ok) return this.drop(`GENEVE_${d.error}`);
    if (d.header.endpointId !== this.options.endpointId) return this.drop("WRONG_ENDPOINT");
    if (d.header.attachmentId !== this.options.attachmentId) return this.drop("WRONG_ATTACHMENT");
    const flow = this.options.balancer.flows.byCookie(d.header.flowCookie);
    if (!flow) return this.drop("UNKNOWN_COOKIE");
    const inner = Buffer.from(datagram.subarray(d.innerOffset, d.innerOffset + d.innerLength));
    const tuple = tupleOf(inner);
    if (typeof tuple === "string") return this.drop(`INNER_${tuple}`);
    if (flowKey(tuple, this.options.hashMode) !== flow.key) this.counters.returnedOtherTuple++;
    if (target.name !== flow.target) this.counters.returnedByPreviousTarget++;
    flow.returned.packets++;
    flow.returned.bytes += inner.length;
    flow.lastSeen = this.options.now();
    const tc = this.counters.targets[target.name]!;
    tc.returnedPackets++;
    tc.returnedBytes += datagram.length;
    this.counters.decapsulated++;
    return { ok: true, inner, flow };
  }

  /** Applies a health transition of a target (by name). */
  setTargetState(name: string, state: "initial" | "healthy" | "unhealthy"): Rebalance | undefined {
    return this.options.balancer.setState(name, state);
  }
}
