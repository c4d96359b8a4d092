/**
 * Prometheus counters of the alert pipeline (service.ts), copied from its counts at scrape time.
 * Label bounds: counts.ts.
 */
import type { Registry } from "prom-client";
import { mirroredCounter } from "../metrics/registry";
import type { AlertCounts, LineKind, PairCounts } from "./counts";
import type { FollowerStats } from "./follower";

export interface AlertMetricsSource {
  readonly counts: AlertCounts;
  readonly follower: { readonly stats: FollowerStats };
}

function pairs(counts: PairCounts, labelName: "signature_id" | "endpoint") {
  return (set: (labels: Record<string, string>, v: number) => void) => {
    for (const c of counts.entries()) set({ [labelName]: c.label, action: c.action }, c.n);
  };
}

export function registerAlertMetrics(registry: Registry, source: AlertMetricsSource): void {
  const { counts, follower } = source;
  const byPair: [string, string, "signature_id" | "endpoint", PairCounts][] = [
    [
      "tollgate_ids_alerts_total",
      "Suricata alerts by signature id (the first 100 distinct ids, then `other`) and action (allowed, blocked, other)",
      "signature_id",
      counts.bySignature,
    ],
    [
      "tollgate_ids_endpoint_alerts_total",
      "Suricata alerts by GWLB endpoint (vpce id; the first 64, then `other`; `unknown` when not resolved) and action",
      "endpoint",
      counts.byEndpoint,
    ],
  ];
  for (const [name, help, label, pairCounts] of byPair)
    mirroredCounter(registry, name, help, [label, "action"], pairs(pairCounts, label));
  mirroredCounter(
    registry,
    "tollgate_ids_eve_lines_total",
    "EVE log lines read, by kind: alert, event (other event types), bad (not an EVE object or an alert missing fields; also lines over 1 MiB)",
    ["kind"] as const,
    (set) => {
      for (const kind of ["alert", "event", "bad"] as const satisfies readonly LineKind[])
        set({ kind }, counts.lines[kind] + (kind === "bad" ? follower.stats.oversized : 0));
    },
  );
  mirroredCounter(
    registry,
    "tollgate_ids_eve_reopens_total",
    "EVE log reopened, by reason: rotated (a new file at the path), truncated (copytruncate)",
    ["reason"] as const,
    (set) => {
      set({ reason: "rotated" }, follower.stats.rotated);
      set({ reason: "truncated" }, follower.stats.truncated);
    },
  );
  mirroredCounter(
    registry,
    "tollgate_ids_alert_log_errors_total",
    "Alert log lines that could not be written, and EVE log read failures",
    ["what"] as const,
    (set) => {
      set({ what: "alert_log_write" }, counts.alertLogErrors);
      set({ what: "eve_read" }, follower.stats.errors);
    },
  );
}
