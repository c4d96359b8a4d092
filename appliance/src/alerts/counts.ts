/**
 * Alert counts with bounded label sets, for Prometheus (metrics.ts).
 *
 * Bounds: the first {@link MAX_SIGNATURE_LABELS} distinct signature ids seen get their own
 * `signature_id` label, later ones count under `other`; likewise the first
 * {@link MAX_ENDPOINT_LABELS} endpoints (`unknown` when the endpoint could not be resolved).
 * Actions are Suricata's two (`allowed`, `blocked`) plus `other`. So at most 101 x 3 signature
 * series and 65 x 3 endpoint series. A label, once given, is kept until the daemon restarts:
 * moving a signature to `other` later (a "top-N by count") would make `other` jump by counts
 * that happened long before, and rate() would show alerts that did not happen then.
 * `tollgate alerts` shows every signature.
 */
import type { AlertAction } from "./eve";

export const MAX_SIGNATURE_LABELS = 100;
export const MAX_ENDPOINT_LABELS = 64;
export const OTHER_LABEL = "other";
export const UNKNOWN_ENDPOINT = "unknown";

/** Gives the first `max` distinct values their own label, `other` to the rest. */
export class BoundedLabels {
  private readonly kept = new Set<string>();
  constructor(private readonly max: number) {}

  label(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.max) return OTHER_LABEL;
    this.kept.add(value);
    return value;
  }
}

/** Counts by a label pair `(label, action)`. */
export class PairCounts {
  private readonly counts = new Map<string, { label: string; action: AlertAction; n: number }>();

  add(label: string, action: AlertAction): void {
    const key = `${label}\u0000${action}`;
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { label, action, n: 1 });
  }

  entries(): Iterable<{ label: string; action: AlertAction; n: number }> {
    return this.counts.values();
  }
}

export type LineKind = "alert" | "event" | "bad";

export class AlertCounts {
  readonly lines: Record<LineKind, number> = { alert: 0, event: 0, bad: 0 };
  readonly bySignature = new PairCounts();
  readonly byEndpoint = new PairCounts();
  /** Alert log lines that could not be written. */
  alertLogErrors = 0;
  private readonly signatures = new BoundedLabels(MAX_SIGNATURE_LABELS);
  private readonly endpoints = new BoundedLabels(MAX_ENDPOINT_LABELS);

  alert(signatureId: number, action: AlertAction, endpoint: string | undefined): void {
    this.bySignature.add(this.signatures.label(String(signatureId)), action);
    this.byEndpoint.add(this.endpoints.label(endpoint ?? UNKNOWN_ENDPOINT), action);
  }
}
