/**
 * Health and metrics HTTP server (the `-p PORT` of the reference tunnel handler).
 *
 * - `GET /` (any path but /metrics): 200 when the data path works, 503 with the reasons
 *   otherwise. Body: text, or JSON with `?format=json`, `Accept: application/json` or the `-j`
 *   default; no body with `-s` (status code only), like the reference.
 * - `GET /metrics`: Prometheus text exposition.
 * - HEAD is answered like GET without a body; other methods get 405.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { HealthEvaluator, type HealthReport } from "./evaluate";
import type { DatapathStatusProvider, ExtraHealthCheck } from "./status";
import type { ApplianceMetrics } from "../metrics/registry";

export interface HealthServerOptions {
  readonly port: number;
  /** Address to listen on (`health.address`; "::" = IPv4 and IPv6). */
  readonly address: string;
  readonly datapath: DatapathStatusProvider;
  readonly checks?: readonly ExtraHealthCheck[];
  readonly metrics?: ApplianceMetrics;
  /** Default body format when the request does not ask (`health.format`). */
  readonly format: "text" | "json";
  /** false: status code only, empty body (`health.detailed`, reference `-s`). */
  readonly detailed: boolean;
  readonly evaluator: HealthEvaluator;
  /** How often a status sample is taken between requests, ms. Defaults to 1000; 0 disables. */
  readonly sampleIntervalMs?: number;
}

export interface HealthServer {
  readonly port: number;
  readonly address: string;
  /** Evaluates health now (also what /metrics' tollgate_healthy reads). */
  report(): HealthReport;
  close(): Promise<void>;
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

/** JSON body of a health report. */
export function healthJson(r: HealthReport): string {
  const s = r.status;
  return JSON.stringify(
    {
      healthy: r.healthy,
      state: r.state,
      reasons: r.reasons,
      pending: r.pending,
      window: r.window,
      checks: r.checks,
      datapath: {
        path: s.datapath,
        kernel: s.kernel,
        running: s.running,
        socketBound: s.socketBound,
        listen: s.listen,
        flows: s.flows,
        flowCapacity: s.flowCapacity,
        idleMs: s.idleMs === undefined ? null : Math.round(s.idleMs),
        counters: s.counters,
        flowCache: s.flowCache,
      },
      endpoints: s.endpoints,
    },
    replacer,
  );
}

/** A flow table's fill and evictions (total, and in the window), for the text body. */
function fillText(
  present: number,
  capacity: number | undefined,
  total: number,
  recent: number,
  seconds: number,
): string {
  const fill = capacity === undefined ? `${present}` : `${present} of ${capacity}`;
  if (total === 0) return fill;
  const last =
    recent > 0
      ? `${recent} evicted in the last ${seconds.toFixed(0)} s (table full: replies of evicted flows are dropped until their next packet; raise flows.maxEntries), `
      : "";
  return `${fill}; ${last}${total} evicted in total`;
}

/** The daemon's flow table, for the text body. */
function flowsText(r: HealthReport): string {
  const s = r.status;
  return fillText(
    s.flows,
    s.flowCapacity,
    s.flowCache?.evicted ?? 0,
    r.window.evicted,
    r.window.seconds,
  );
}

/** The kernel path's flow map (tg_flows), for the text body; undefined on the user path. */
function kernelFlowsText(r: HealthReport): string | undefined {
  const k = r.status.kernel;
  const f = k?.flows;
  if (k === undefined || f === undefined) return undefined;
  const what = `kernel flows (tg_flows, map id ${f.mapId}): `;
  if (f.present === undefined || f.evicted === undefined) {
    return `${what}${f.created} created; not counted (${f.countError ?? "no count"})`;
  }
  return `${what}${fillText(f.present, k.flowCapacity, f.evicted, r.window.kernelEvicted ?? 0, r.window.seconds)}`;
}

/** Text body of a health report. */
export function healthText(r: HealthReport): string {
  const s = r.status;
  const kernelFlows = kernelFlowsText(r);
  const lines = [
    `${r.healthy ? "HEALTHY" : "UNHEALTHY"} (${r.state})`,
    ...r.reasons.map((x) => `  reason: ${x}`),
    ...r.pending.map((x) => `  pending: ${x}`),
    `GENEVE socket: ${s.socketBound ? "bound" : "NOT bound"}${s.listen ? ` on ${s.listen.address}:${s.listen.port}` : ""}; data path ${s.running ? "running" : "NOT running"}${s.datapath ? ` (${s.datapath} path)` : ""}`,
    `last ${r.window.seconds.toFixed(0)} s: received ${r.window.received}, forwarded ${r.window.forwarded}, returned ${r.window.returned}, replied ${r.window.replied}, dropped ${r.window.dropped}`,
    `idle: ${s.idleMs === undefined ? "no traffic yet" : `${(s.idleMs / 1000).toFixed(1)} s`}; flows${s.kernel ? " (daemon's table)" : ""}: ${flowsText(r)}`,
    ...(kernelFlows !== undefined ? [kernelFlows] : []),
    `totals: rx ${s.counters.rxDatagrams} datagrams / ${s.counters.rxBytes} B, to tun ${s.counters.tunTxPackets}, from tun ${s.counters.tunRxPackets}, tx ${s.counters.txDatagrams} datagrams / ${s.counters.txBytes} B`,
  ];
  const drops = Object.entries(s.counters.drops).filter(([, v]) => v > 0);
  if (drops.length > 0) lines.push(`drops: ${drops.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  for (const c of r.checks) {
    const state = c.pending ? "pending" : c.ok ? "ok" : "FAILED";
    const who = c.endpoint ? ` vpce-${c.endpoint}` : "";
    lines.push(`check ${c.name}${who}: ${state}${c.detail ? ` (${c.detail})` : ""}`);
  }
  lines.push(`endpoints: ${s.endpoints.length}`);
  for (const e of s.endpoints) {
    const c = e.canary;
    const canary = c
      ? `; canary sent ${c.sent}, returned ${c.returned}, lost ${c.lost}${c.lastRttMs !== undefined ? `, last round trip ${c.lastRttMs.toFixed(2)} ms` : ""}`
      : "";
    lines.push(`  ${e.id} ${e.gwi} ${e.gwo} ${e.up ? "up" : "DOWN"}${canary}`);
  }
  return lines.join("\n") + "\n";
}

function wantsJson(req: http.IncomingMessage, url: URL, fallback: "text" | "json"): boolean {
  const f = url.searchParams.get("format");
  if (f === "json") return true;
  if (f === "text") return false;
  const accept = req.headers.accept ?? "";
  if (accept.includes("application/json")) return true;
  if (accept.includes("text/plain")) return false;
  return fallback === "json";
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { evaluator, detailed, format } = options;
  const checks = options.checks ?? [];
  const report = (): HealthReport =>
    evaluator.evaluate(
      options.datapath.status(),
      checks.flatMap((c) => c()),
    );

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Length": 0 });
      res.end();
      return;
    }
    if (url.pathname === "/metrics") {
      if (!options.metrics) {
        res.writeHead(404, { "Content-Type": "text/plain", "Content-Length": 0 });
        res.end();
        return;
      }
      options.metrics.render().then(
        (body) => {
          res.writeHead(200, {
            "Content-Type": options.metrics!.contentType,
            "Content-Length": Buffer.byteLength(body),
          });
          res.end(head ? undefined : body);
        },
        (err: unknown) => {
          const body = `metrics collection failed: ${String(err)}\n`;
          res.writeHead(500, {
            "Content-Type": "text/plain",
            "Content-Length": Buffer.byteLength(body),
          });
          res.end(head ? undefined : body);
        },
      );
      return;
    }
    let r: HealthReport;
    try {
      r = report();
    } catch (err) {
      const body = `health evaluation failed: ${String(err)}\n`;
      res.writeHead(503, {
        "Content-Type": "text/plain",
        "Content-Length": Buffer.byteLength(body),
        "Cache-Control": "no-cache",
      });
      res.end(head ? undefined : body);
      return;
    }
    const code = r.healthy ? 200 : 503;
    const headers: http.OutgoingHttpHeaders = { "Cache-Control": "max-age=0, no-cache" };
    if (!detailed) {
      res.writeHead(code, { ...headers, "Content-Length": 0 });
      res.end();
      return;
    }
    const json = wantsJson(req, url, format);
    const body = json ? healthJson(r) + "\n" : healthText(r);
    res.writeHead(code, {
      ...headers,
      "Content-Type": json ? "application/json" : "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 10000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {});

  const interval = options.sampleIntervalMs ?? 1000;
  const sampler =
    interval > 0
      ? setInterval(() => {
          try {
            report();
          } catch {
            // surfaced on the next request
          }
        }, interval)
      : undefined;
  sampler?.unref();

  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    address: addr.address,
    report,
    close: () =>
      new Promise<void>((resolve) => {
        if (sampler) clearInterval(sampler);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
