/**
 * Suricata EVE JSON lines (Suricata 6 and 7), decoded into what Tollgate shows and counts. Pure,
 * never throws: an alert line that is not a JSON object with the fields an alert needs, or a line
 * without an event type, is `bad`, with the reason, and the caller counts it. Other event types
 * are recognised by their `"event_type":"..."` text and not parsed further.
 *
 * The same codec reads the daemon's alert log (alert.ts): its lines are EVE alert lines with one
 * field added, `gwlb_endpoint` ({@link ENDPOINT_FIELD}), the GWLB endpoint the traffic came
 * through.
 */
import { z } from "zod";

/** Field the daemon adds to each alert line of its alert log: the GWLB endpoint (`vpce-...`). */
export const ENDPOINT_FIELD = "gwlb_endpoint";

/** Suricata's `alert.action`: `allowed` (IDS, or IPS without drop), `blocked` (IPS drop/reject). */
export const ALERT_ACTIONS = ["allowed", "blocked"] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number] | "other";

/** One alert, as `tollgate alerts` prints it and the metrics count it. */
export interface Alert {
  /** EVE `timestamp`, as Suricata wrote it (e.g. `2026-12-03T12:00:00.123456+0000`). */
  readonly time: string;
  readonly action: AlertAction;
  readonly signatureId: number;
  readonly gid: number;
  readonly rev: number;
  readonly signature: string;
  readonly category?: string;
  readonly severity?: number;
  /** `TCP`, `UDP`, `ICMP`, ... as Suricata names it. */
  readonly proto: string;
  readonly src: string;
  readonly srcPort?: number;
  readonly dest: string;
  readonly destPort?: number;
  /** Capture interface (`in_iface`): `gwi-X`/`gwo-X` in af-packet mode, the queue in NFQ mode. */
  readonly inIface?: string;
  readonly appProto?: string;
  /** GWLB endpoint (`vpce-<17 hex digits>`), when resolved (see endpoint.ts). */
  readonly endpoint?: string;
}

export type EveLine =
  | { readonly kind: "alert"; readonly alert: Alert; readonly raw: Record<string, unknown> }
  | { readonly kind: "event"; readonly eventType: string }
  | { readonly kind: "bad"; readonly reason: string };

const port = z.number().int().min(0).max(65535).optional();
const eventSchema = z.object({ event_type: z.string() });
const alertSchema = z.object({
  timestamp: z.string(),
  src_ip: z.string(),
  src_port: port,
  dest_ip: z.string(),
  dest_port: port,
  proto: z.union([z.string(), z.number().transform(String)]),
  in_iface: z.string().optional(),
  app_proto: z.string().optional(),
  [ENDPOINT_FIELD]: z.string().optional(),
  alert: z.object({
    action: z.string(),
    gid: z.number().int(),
    signature_id: z.number().int(),
    rev: z.number().int(),
    signature: z.string(),
    category: z.string().optional(),
    severity: z.number().int().optional(),
  }),
});

function action(text: string): AlertAction {
  return (ALERT_ACTIONS as readonly string[]).includes(text) ? (text as AlertAction) : "other";
}

function parseObject(line: string): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : "not a JSON object";
  } catch {
    return "not JSON";
  }
}

function problem(error: z.ZodError): string {
  const i = error.issues[0];
  return i ? `${i.path.join(".") || "line"}: ${i.message}` : "invalid";
}

/**
 * `"event_type":"X"` as Suricata writes it (no spaces): most lines are flow, stats, http or tls
 * events, counted as events without parsing them (the follower runs on the daemon's thread).
 */
const EVENT_TYPE = /^\{.*?"event_type":"([a-z_0-9]+)"/;

/** Decodes one EVE line (without its newline). Never throws. */
export function decodeEveLine(line: string): EveLine {
  const type = line.endsWith("}") ? EVENT_TYPE.exec(line)?.[1] : undefined;
  if (type !== undefined && type !== "alert") return { kind: "event", eventType: type };
  const raw = parseObject(line);
  if (typeof raw === "string") return { kind: "bad", reason: raw };
  const event = eventSchema.safeParse(raw);
  if (!event.success) return { kind: "bad", reason: "no event_type" };
  if (event.data.event_type !== "alert") return { kind: "event", eventType: event.data.event_type };
  const a = alertSchema.safeParse(raw);
  if (!a.success) return { kind: "bad", reason: problem(a.error) };
  const d = a.data;
  const endpoint = d[ENDPOINT_FIELD];
  const alert: Alert = {
    time: d.timestamp,
    action: action(d.alert.action),
    signatureId: d.alert.signature_id,
    gid: d.alert.gid,
    rev: d.alert.rev,
    signature: d.alert.signature,
    ...(d.alert.category !== undefined ? { category: d.alert.category } : {}),
    ...(d.alert.severity !== undefined ? { severity: d.alert.severity } : {}),
    proto: d.proto,
    src: d.src_ip,
    ...(d.src_port !== undefined ? { srcPort: d.src_port } : {}),
    dest: d.dest_ip,
    ...(d.dest_port !== undefined ? { destPort: d.dest_port } : {}),
    ...(d.in_iface !== undefined ? { inIface: d.in_iface } : {}),
    ...(d.app_proto !== undefined ? { appProto: d.app_proto } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
  return { kind: "alert", alert, raw };
}

/** The alert log's line for an EVE alert: the EVE object with the endpoint added. */
export function alertLogLine(raw: Record<string, unknown>, endpoint: string | undefined): string {
  return JSON.stringify(endpoint === undefined ? raw : { ...raw, [ENDPOINT_FIELD]: endpoint });
}
