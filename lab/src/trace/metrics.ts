/** Minimal Prometheus text-format reading for the trace: totals per metric name. Pure. */

export interface MetricSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses exposition-format text; ignores comments and malformed lines. */
export function parsePrometheus(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[4]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const lm of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[lm[1]!] = lm[2]!;
    }
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of every sample of a metric name (across labels). */
export function total(samples: readonly MetricSample[], name: string): number | undefined {
  const hits = samples.filter((s) => s.name === name);
  return hits.length === 0 ? undefined : hits.reduce((n, s) => n + s.value, 0);
}

/** Packet counts, drops, flows, endpoints, hooks; not bytes, memory or runtime internals. */
const INTERESTING = /(packets|datagrams|drops|dropped|flow|endpoints|errors|hook)/;
const SKIP = /(_bucket|_sum|_count|_created)$|(^|_)(process|nodejs)_|memory|heap|_bytes/;

const ORDER = [/datagrams|packets/, /drop/, /endpoint/, /hook/, /flow/, /./];

/** "tollgate_geneve_rx_datagrams_total" -> "geneve_rx_datagrams". */
function shortName(name: string): string {
  return name.replace(/^tollgate_/, "").replace(/_total$/, "");
}

/**
 * One entry per interesting metric family (packets, drops with their non-zero reasons,
 * endpoints, hooks, flows), in that order: what the trace shows for each appliance.
 */
export function summarizeMetrics(samples: readonly MetricSample[], max = 20): string[] {
  const rank = (n: string) => ORDER.findIndex((re) => re.test(n));
  const names = [...new Set(samples.map((s) => s.name))]
    .filter((n) => INTERESTING.test(n) && !SKIP.test(n))
    .sort((a, b) => rank(a) - rank(b));
  const lines: string[] = [];
  for (const name of names.slice(0, max)) {
    const hits = samples.filter((s) => s.name === name);
    const sum = hits.reduce((n, s) => n + s.value, 0);
    const reasons = hits
      .filter((s) => s.value > 0 && Object.keys(s.labels).length > 0)
      .map((s) => `${Object.values(s.labels).join("/")}=${s.value}`);
    const detail =
      /drop/.test(name) && reasons.length > 0 && reasons.length <= 8
        ? ` (${reasons.join(", ")})`
        : "";
    lines.push(`${shortName(name)} ${sum}${detail}`);
  }
  return lines;
}
