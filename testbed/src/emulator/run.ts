/**
 * Drives a {@link GwlbPeer}: sends `count` packets round-robin over flows at a paced rate, then
 * waits for replies and summarises. Used by `tollgate-emu` and the tests.
 */
import { GwlbPeer, type PeerStats, type ReplyReport } from "./peer";
import { stampSequence, type EmulatedFlow } from "./flows";
import { malformedDatagrams } from "./malformed";

export interface EmulationOptions {
  readonly peer: GwlbPeer;
  readonly flows: readonly EmulatedFlow[];
  /** Packets to send. Defaults to flows.length. */
  readonly count?: number;
  /** Packets per second; 0 sends as fast as the transport accepts. Defaults to 1000. */
  readonly rate?: number;
  /** How long to wait for outstanding replies after the last send, ms. Defaults to 1000. */
  readonly drainMs?: number;
  /** Also send every malformed variant of the first flow once (they must be dropped). */
  readonly malformed?: boolean;
  /** Number of send sockets to spread flows over (flow i uses socket i % senders). Defaults to 1. */
  readonly senders?: number;
  /**
   * Seconds of uncounted traffic at 1000 pps before the measured phase, so the appliance can
   * create its interfaces and run its hooks (gwlb-emu's -w). Defaults to 0.
   */
  readonly warmupSeconds?: number;
  /**
   * Sequence number stamped on the first measured packet (the i-th gets sequenceStart + i).
   * Defaults to 0. Give successive runs on one peer distinct ranges: identical packets would let
   * a late reply to one run match a packet of the next.
   */
  readonly sequenceStart?: number;
  /** Ends the measured phase early (then drains as usual): `count` is the most it sends. */
  readonly signal?: AbortSignal;
}

export interface EmulationSummary {
  readonly sent: number;
  readonly malformedSent: number;
  /** Every reply that arrived during the measured phase (late ones to earlier packets included). */
  readonly received: number;
  /** Valid replies to packets of the measured phase (each sent packet answered at most once). */
  readonly valid: number;
  /** Valid replies that arrived during the measured phase for packets sent before it. */
  readonly late: number;
  readonly invalid: number;
  readonly lost: number;
  readonly lossPercent: number;
  readonly exact: number;
  readonly ttlDecremented: number;
  readonly problems: PeerStats["problems"];
  readonly rttMs: { readonly p50?: number; readonly p99?: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runEmulation(options: EmulationOptions): Promise<EmulationSummary> {
  const { peer, flows } = options;
  const count = options.count ?? flows.length;
  const rate = options.rate ?? 1000;
  const senders = options.senders ?? 1;
  const warmup = options.warmupSeconds ?? 0;
  if (warmup > 0) {
    const n = Math.max(1, Math.round(warmup * 1000));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const flow = flows[i % flows.length]!;
      // Sequence numbers from 2^40 up keep warm-up packets distinct from measured ones.
      await peer.send(flow, stampSequence(flow, 2 ** 40 + i), flow.index % senders).catch(() => {});
      const due = t0 + i + 1 - performance.now();
      if (due >= 1) await sleep(due);
    }
    await sleep(200);
  }
  // Replies count for this phase only when the packet they answer was sent in it: a reply to an
  // earlier packet (warm-up, a previous run) arriving now is `late`, never `valid`.
  const phaseStart = peer.now();
  const mine = { valid: 0, exact: 0, ttlDecremented: 0, late: 0 };
  const rtts: number[] = [];
  let sent = 0;
  let wake: (() => void) | undefined;
  const onReply = (r: ReplyReport) => {
    if (!r.ok || r.sentAt === undefined) return;
    if (r.sentAt < phaseStart) {
      mine.late++;
      return;
    }
    mine.valid++;
    if (r.match === "exact") mine.exact++;
    if (r.match === "ttl-decremented") mine.ttlDecremented++;
    if (r.rttMs !== undefined) rtts.push(r.rttMs);
    if (mine.valid >= sent) wake?.();
  };
  peer.on("reply", onReply);
  const before = { ...peer.stats, problems: { ...peer.stats.problems } };
  let malformedSent = 0;
  if (options.malformed && flows.length > 0) {
    for (const m of malformedDatagrams(flows[0]!, flows[0]!.inner)) {
      await peer.sendRaw(m.bytes);
      malformedSent++;
    }
  }
  const start = performance.now();
  const seq0 = options.sequenceStart ?? 0;
  for (let i = 0; i < count && !options.signal?.aborted; i++) {
    const flow = flows[i % flows.length]!;
    try {
      await peer.send(flow, stampSequence(flow, seq0 + i), flow.index % senders);
      sent++;
    } catch {
      // counted in peer.stats.sendErrors
    }
    if (rate > 0) {
      const due = start + ((i + 1) * 1000) / rate - performance.now();
      if (due >= 1) await sleep(due);
    }
  }
  // Bounded wait for this phase's replies.
  if (mine.valid < sent) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.drainMs ?? 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  peer.off("reply", onReply);
  const s = peer.stats;
  const received = s.received - before.received;
  const valid = mine.valid;
  rtts.sort((a, b) => a - b);
  const problems = { ...s.problems };
  for (const k of Object.keys(problems) as (keyof typeof problems)[])
    problems[k] -= before.problems[k];
  const lost = Math.max(0, sent - valid);
  const p50 = percentile(rtts, 50);
  const p99 = percentile(rtts, 99);
  return {
    sent,
    malformedSent,
    received,
    valid,
    late: mine.late,
    invalid: s.invalid - before.invalid,
    lost,
    lossPercent: sent > 0 ? (100 * lost) / sent : 0,
    exact: mine.exact,
    ttlDecremented: mine.ttlDecremented,
    problems,
    rttMs: { ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) },
  };
}
