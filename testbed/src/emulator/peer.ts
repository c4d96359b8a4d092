/**
 * GWLB-side GENEVE peer: encapsulates inner packets for given flows, sends them to a target
 * appliance on UDP 6081, receives what the appliance sends back to its port 6081 and validates
 * every reply:
 *
 * - it decodes as GENEVE and its header (options included) is byte for byte one this peer sent;
 * - it comes from the target's address and from the source port the header was sent from
 *   (GWLB replies keep the original source port);
 * - the inner packet belongs to the same flow as the packets sent with that header (either
 *   direction) and its checksums are valid;
 * - in echo mode, the inner packet equals one that was sent, or equals it with TTL / hop limit
 *   decremented by one (a kernel-forwarding appliance).
 *
 * I/O is a {@link DatagramTransport}, so this runs against an in-memory fake in unit tests.
 */
import { EventEmitter } from "node:events";
import {
  decodeGeneve,
  encodeGeneve,
  describeFlowKey,
  flowKey,
  GENEVE_PORT,
  type GeneveOption,
} from "@tollgate/appliance";
import { verifyChecksums } from "../packet";
import type { PeerFlow } from "./flows";
import type { DatagramTransport, RemoteInfo } from "./transport";

/** Every problem a reply can have; also the keys of {@link PeerStats.problems}. */
export const REPLY_PROBLEMS = [
  /** Not decodable as GWLB GENEVE (the decoder's reason follows after a colon in `detail`). */
  "NOT_GENEVE",
  /** GENEVE header/options differ from every header this peer sent. */
  "UNKNOWN_HEADER",
  /** Came from another address than the target. */
  "WRONG_SOURCE_ADDRESS",
  /** Came from another source port than the one the header was sent from. */
  "WRONG_SOURCE_PORT",
  /** Inner packet not parseable as IPv4/IPv6. */
  "INNER_UNPARSEABLE",
  /** Inner packet is not part of the flow the GENEVE header belongs to. */
  "FLOW_MISMATCH",
  /** IP header or TCP/UDP/ICMP checksum wrong (or a UDP checksum of 0). */
  "INNER_CHECKSUM",
  /** Echo mode: inner packet is not one that was sent (nor a TTL-decremented copy). */
  "INNER_MISMATCH",
] as const;

export type ReplyProblem = (typeof REPLY_PROBLEMS)[number];

export interface ReplyReport {
  readonly from: RemoteInfo;
  readonly ok: boolean;
  readonly problems: readonly ReplyProblem[];
  /** Decoder drop reason when the reply was NOT_GENEVE. */
  readonly detail?: string;
  readonly endpointId?: bigint;
  readonly flowCookie?: number;
  /** How the inner packet compares to what was sent. */
  readonly match: "exact" | "ttl-decremented" | "none";
  /** Milliseconds since the matched packet was sent (echo matches only). */
  readonly rttMs?: number;
  /** Peer clock ({@link GwlbPeer.now}) when the matched packet was sent (echo matches only). */
  readonly sentAt?: number;
  /** The reply's inner packet (a view into the datagram). */
  readonly inner?: Buffer;
  readonly datagram: Buffer;
}

export interface PeerStats {
  sent: number;
  sendErrors: number;
  received: number;
  valid: number;
  invalid: number;
  exact: number;
  ttlDecremented: number;
  problems: Record<ReplyProblem, number>;
}

export interface GwlbPeerOptions {
  /** Socket bound to UDP 6081 where replies arrive (and the default for sending). */
  readonly transport: DatagramTransport;
  /** Appliance address. */
  readonly target: string;
  /** Defaults to 6081. */
  readonly targetPort?: number;
  /**
   * Extra sockets to send from (ephemeral ports, like gwlb-emu -S); flows are spread over them by
   * `send(..., via)`. Defaults to sending from `transport` (source port 6081).
   */
  readonly sendTransports?: readonly DatagramTransport[];
  /**
   * Require every reply's inner packet to equal one sent (exact or TTL-1). Defaults to true; set
   * false when the appliance originates replies (reverse-direction traffic).
   */
  readonly expectEcho?: boolean;
  /**
   * Check that a reply comes from the source port its header was sent from (GWLB-compatible
   * appliances reply from the original source port). Defaults to true.
   */
  readonly checkSourcePort?: boolean;
  /** Pending (unanswered) packets remembered for echo matching. Defaults to 65536. */
  readonly pendingLimit?: number;
  /** Milliseconds. Defaults to performance.now(). */
  readonly clock?: () => number;
}

interface HeaderRecord {
  readonly flow: PeerFlow;
  readonly ports: Set<number>;
  readonly flowKeys: Set<string>;
}

/** Inner packet with TTL / hop limit and the IPv4 header checksum masked, as a map key. */
function fingerprint(inner: Uint8Array): string {
  const b = Buffer.from(inner);
  if (b.length >= 20 && b[0]! >> 4 === 4) {
    b[8] = 0;
    b[10] = 0;
    b[11] = 0;
  } else if (b.length >= 40 && b[0]! >> 4 === 6) {
    b[7] = 0;
  }
  return b.toString("latin1");
}

function ttlOf(inner: Uint8Array): number {
  return inner[0]! >> 4 === 4 ? inner[8]! : inner[7]!;
}

export class GwlbPeer extends EventEmitter<{ reply: [ReplyReport] }> {
  readonly stats: PeerStats = {
    sent: 0,
    sendErrors: 0,
    received: 0,
    valid: 0,
    invalid: 0,
    exact: 0,
    ttlDecremented: 0,
    problems: Object.fromEntries(REPLY_PROBLEMS.map((p) => [p, 0])) as Record<ReplyProblem, number>,
  };
  private readonly headers = new Map<string, HeaderRecord>();
  private readonly pending = new Map<string, { sentAt: number[]; ttl: number }>();
  private readonly targetPort: number;
  private readonly senders: readonly DatagramTransport[];
  private readonly expectEcho: boolean;
  private readonly pendingLimit: number;
  private readonly clock: () => number;

  constructor(private readonly options: GwlbPeerOptions) {
    super();
    this.targetPort = options.targetPort ?? GENEVE_PORT;
    this.senders = options.sendTransports?.length ? options.sendTransports : [options.transport];
    this.expectEcho = options.expectEcho ?? true;
    this.pendingLimit = options.pendingLimit ?? 65536;
    this.clock = options.clock ?? (() => performance.now());
    options.transport.onMessage((data, from) => this.onReply(data, from));
  }

  /** GENEVE datagram for a flow and inner packet (GWLB's header layout). */
  static encapsulate(
    flow: PeerFlow,
    inner: Uint8Array,
    extraOptions?: readonly GeneveOption[],
  ): Buffer {
    return encodeGeneve(
      {
        endpointId: flow.endpointId,
        attachmentId: flow.attachmentId,
        flowCookie: flow.flowCookie,
        vni: flow.vni ?? 0,
        ...(extraOptions ? { extraOptions } : {}),
      },
      inner,
    );
  }

  /**
   * Encapsulates and sends one inner packet. `via` picks the send socket (index modulo the
   * number of send transports). Resolves when the datagram is handed to the transport; a send
   * error is counted and rethrown.
   */
  async send(
    flow: PeerFlow,
    inner: Uint8Array,
    via = 0,
    extraOptions?: readonly GeneveOption[],
  ): Promise<void> {
    const datagram = GwlbPeer.encapsulate(flow, inner, extraOptions);
    await this.sendRaw(datagram, flow, inner, via);
  }

  /**
   * Sends a prepared datagram (e.g. a malformed one). When `flow`/`inner` are given, replies to it
   * are validated like those to {@link send}.
   */
  async sendRaw(datagram: Uint8Array, flow?: PeerFlow, inner?: Uint8Array, via = 0): Promise<void> {
    const sender = this.senders[Math.abs(via) % this.senders.length]!;
    if (flow && inner) this.remember(datagram, flow, inner, sender.localPort);
    try {
      await sender.send(datagram, this.targetPort, this.options.target);
      this.stats.sent++;
    } catch (err) {
      this.stats.sendErrors++;
      throw err;
    }
  }

  private remember(datagram: Uint8Array, flow: PeerFlow, inner: Uint8Array, port: number): void {
    const headerLength = datagram.length - inner.length;
    const hkey = Buffer.from(datagram.subarray(0, headerLength)).toString("latin1");
    let rec = this.headers.get(hkey);
    if (!rec) {
      rec = { flow, ports: new Set(), flowKeys: new Set() };
      this.headers.set(hkey, rec);
    }
    rec.ports.add(port);
    const key = flowKey(inner);
    if (key !== undefined) rec.flowKeys.add(describeFlowKey(key));
    const fp = fingerprint(inner);
    const p = this.pending.get(fp);
    if (p) p.sentAt.push(this.clock());
    else {
      if (this.pending.size >= this.pendingLimit) {
        const oldest = this.pending.keys().next();
        if (!oldest.done) this.pending.delete(oldest.value);
      }
      this.pending.set(fp, { sentAt: [this.clock()], ttl: ttlOf(inner) });
    }
  }

  private onReply(data: Buffer, from: RemoteInfo): void {
    this.stats.received++;
    const problems: ReplyProblem[] = [];
    let detail: string | undefined;
    let match: ReplyReport["match"] = "none";
    let rttMs: number | undefined;
    let sentAt: number | undefined;
    let inner: Buffer | undefined;
    let endpointId: bigint | undefined;
    let flowCookie: number | undefined;
    if (from.address !== this.options.target) problems.push("WRONG_SOURCE_ADDRESS");
    const d = decodeGeneve(data);
    if (!d.ok) {
      problems.push("NOT_GENEVE");
      detail = d.error;
    } else {
      endpointId = d.header.endpointId;
      flowCookie = d.header.flowCookie;
      inner = data.subarray(d.innerOffset);
      const rec = this.headers.get(data.subarray(0, d.headerLength).toString("latin1"));
      const key = flowKey(inner);
      if (!rec) problems.push("UNKNOWN_HEADER");
      else if (this.options.checkSourcePort !== false && !rec.ports.has(from.port))
        problems.push("WRONG_SOURCE_PORT");
      if (key === undefined) problems.push("INNER_UNPARSEABLE");
      else if (rec && !rec.flowKeys.has(describeFlowKey(key))) problems.push("FLOW_MISMATCH");
      if (key !== undefined && !verifyChecksums(inner)) problems.push("INNER_CHECKSUM");
      const fp = fingerprint(inner);
      const p = this.pending.get(fp);
      if (p) {
        const ttl = ttlOf(inner);
        match = ttl === p.ttl ? "exact" : ttl === ((p.ttl - 1) & 0xff) ? "ttl-decremented" : "none";
        if (match !== "none") {
          sentAt = p.sentAt.shift()!;
          rttMs = this.clock() - sentAt;
          if (p.sentAt.length === 0) this.pending.delete(fp);
        }
      }
      if (this.expectEcho && match === "none") problems.push("INNER_MISMATCH");
    }
    for (const pr of problems) this.stats.problems[pr]++;
    if (problems.length === 0) {
      this.stats.valid++;
      if (match === "exact") this.stats.exact++;
      if (match === "ttl-decremented") this.stats.ttlDecremented++;
    } else {
      this.stats.invalid++;
    }
    this.emit("reply", {
      from,
      ok: problems.length === 0,
      problems,
      match,
      datagram: data,
      ...(detail !== undefined ? { detail } : {}),
      ...(endpointId !== undefined ? { endpointId } : {}),
      ...(flowCookie !== undefined ? { flowCookie } : {}),
      ...(rttMs !== undefined ? { rttMs } : {}),
      ...(sentAt !== undefined ? { sentAt } : {}),
      ...(inner !== undefined ? { inner } : {}),
    });
  }

  /** The peer's clock (milliseconds), the time base of {@link ReplyReport.sentAt}. */
  now(): number {
    return this.clock();
  }

  /**
   * Resolves true once `count` replies in total have been received, false if `timeoutMs` passes
   * first.
   */
  waitForReplies(count: number, timeoutMs: number): Promise<boolean> {
    if (this.stats.received >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onReply = (): void => {
        if (this.stats.received >= count) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.off("reply", onReply);
        resolve(v);
      };
      this.on("reply", onReply);
    });
  }

  /** Packets sent and not (yet) echoed back. */
  get outstanding(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.sentAt.length;
    return n;
  }

  /** Closes every transport this peer uses. */
  async close(): Promise<void> {
    const all = new Set([this.options.transport, ...this.senders]);
    await Promise.all([...all].map((t) => t.close()));
  }
}
