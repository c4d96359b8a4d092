/**
 * The canary prober's bookkeeping (no I/O; the data path writes and reads the packets): every
 * interval each endpoint whose forwarding is set up gets one probe (see ../canary.ts for the
 * packet); a probe still outstanding when the next one is due is lost. Health turns an
 * endpoint's run of lost probes into a failure (health/evaluate.ts).
 */
import { randomInt } from "node:crypto";
import { buildCanary, canaryNonce } from "../canary";
import type { PacketScratch } from "../packet/parse";
import type { KernelCanaryProbe } from "./kernel";

/** One endpoint's canary record. */
export class CanaryState {
  sent = 0;
  returned = 0;
  lost = 0;
  /** Probes lost since the last one that came back. */
  consecutiveLost = 0;
  /** Sequence number of the probe in flight, or -1. */
  outstanding = -1;
  sentAt = 0;
  lastRttMs: number | undefined = undefined;
  /** Clock value when the last probe came back (0: never). */
  lastReturnAt = 0;
  /** Kernel path: how it carries the probe in flight (KernelPath.canaryProbe). */
  kernel: KernelCanaryProbe | undefined = undefined;
  /** Why the last probe was lost, when the data path knows (cleared by a round trip). */
  problem: string | undefined = undefined;
}

/** What health and metrics read about one endpoint's canary. */
export interface CanaryStatus {
  readonly sent: number;
  readonly returned: number;
  readonly lost: number;
  readonly consecutiveLost: number;
  /** Round trip of the last probe that came back, ms. */
  readonly lastRttMs?: number;
  /** Milliseconds since the last probe came back; undefined if none has. */
  readonly lastReturnAgoMs?: number;
  /** Why the last probe was lost, when known (kernel path: which step would fail real traffic). */
  readonly problem?: string;
}

/** Totals over every endpoint since start (metrics). */
export interface CanaryTotals {
  sent: number;
  returned: number;
  lost: number;
  /** Canary-signature packets read that were not the probe in flight (late, foreign, or from gwi-X). */
  stray: number;
}

export class CanaryProber {
  /** Random per daemon: a canary from an earlier run (or anyone else) never counts. */
  readonly instance: number;
  readonly totals: CanaryTotals = { sent: 0, returned: 0, lost: 0, stray: 0 };
  private seq = 0;

  constructor(
    private readonly onRoundTrip: (ms: number) => void = () => {},
    instance: number = randomInt(0, 2 ** 32 - 1),
  ) {
    this.instance = instance >>> 0;
  }

  /** Closes the probe in flight (lost if still outstanding) and returns the next one's packet. */
  next(state: CanaryState, now: number): Buffer {
    if (state.outstanding >= 0) {
      state.lost++;
      state.consecutiveLost++;
      this.totals.lost++;
    }
    this.seq = (this.seq + 1) >>> 0;
    state.outstanding = this.seq;
    state.sentAt = now;
    state.sent++;
    this.totals.sent++;
    return buildCanary(this.instance, this.seq);
  }

  /**
   * A packet with the canary signature (in `pkt`) was read from an endpoint's tun: a round trip
   * when it is that endpoint's probe in flight and came out of gwo-X.
   */
  received(state: CanaryState, buf: Buffer, pkt: PacketScratch, fromGwo: boolean, now: number) {
    const nonce = canaryNonce(buf, pkt);
    if (
      !fromGwo ||
      nonce === undefined ||
      nonce.instance !== this.instance ||
      nonce.seq !== state.outstanding
    ) {
      this.totals.stray++;
      return;
    }
    state.outstanding = -1;
    state.problem = undefined;
    state.returned++;
    state.consecutiveLost = 0;
    state.lastRttMs = now - state.sentAt;
    state.lastReturnAt = now;
    this.totals.returned++;
    this.onRoundTrip(state.lastRttMs);
  }
}

export function canaryStatus(state: CanaryState, now: number): CanaryStatus {
  return {
    sent: state.sent,
    returned: state.returned,
    lost: state.lost,
    consecutiveLost: state.consecutiveLost,
    ...(state.lastRttMs !== undefined ? { lastRttMs: state.lastRttMs } : {}),
    ...(state.lastReturnAt > 0 ? { lastReturnAgoMs: now - state.lastReturnAt } : {}),
    ...(state.problem !== undefined ? { problem: state.problem } : {}),
  };
}
