import { execFile } from "node:child_process";
import * as dgram from "node:dgram";
import * as http from "node:http";
import * as net from "node:net";

/** Probes the client agent runs from inside the client namespace, on the controller's request. */
export type Probe =
  | { readonly kind: "http"; readonly url: string; readonly timeoutMs: number }
  | {
      readonly kind: "tcp";
      readonly host: string;
      readonly port: number;
      readonly timeoutMs: number;
      readonly payload?: string;
    }
  | {
      readonly kind: "udp";
      readonly host: string;
      readonly port: number;
      readonly timeoutMs: number;
      readonly payload: string;
      readonly localPort?: number;
      /** Sends up to this many times (like a DNS client) until a reply comes. Defaults to 3. */
      readonly attempts?: number;
    }
  | { readonly kind: "ping"; readonly host: string; readonly count: number }
  | {
      readonly kind: "udp-stream";
      readonly host: string;
      readonly port: number;
      readonly localPorts: readonly number[];
      readonly intervalMs: number;
      readonly durationMs: number;
    };

export interface HttpResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
  readonly localPort?: number;
  readonly ms: number;
}

/** connected: a reply came back; refused/reset: RST; timeout: nothing came back (dropped). */
export type TcpOutcome = "connected" | "refused" | "reset" | "timeout" | "unreachable" | "error";

export interface TcpResult {
  readonly outcome: TcpOutcome;
  readonly reply?: string;
  readonly error?: string;
  readonly localPort?: number;
  readonly ms: number;
}

export interface UdpResult {
  readonly ok: boolean;
  /** Datagrams sent before the reply (or in total when none came). */
  readonly attempts?: number;
  readonly reply?: string;
  readonly error?: string;
  readonly localPort?: number;
  readonly ms: number;
}

export interface PingResult {
  readonly available: boolean;
  readonly transmitted: number;
  readonly received: number;
  readonly output: string;
}

export interface StreamFlowResult {
  readonly localPort: number;
  readonly sent: number;
  readonly received: number;
  /** Longest time without a reply between two replies (ms): the outage a failover caused. */
  readonly maxGapMs: number;
  /** Replies received in the last quarter of the run (the flow works again at the end). */
  readonly receivedAtEnd: number;
}

export interface StreamResult {
  readonly flows: readonly StreamFlowResult[];
  readonly intervalMs: number;
  readonly durationMs: number;
}

export function httpProbe(url: string, timeoutMs: number): Promise<HttpResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let localPort: number | undefined;
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({
          ok: true,
          status: res.statusCode ?? 0,
          body,
          ms: Date.now() - t0,
          ...(localPort ? { localPort } : {}),
        }),
      );
    });
    req.on("socket", (s) => s.on("connect", () => (localPort = s.localPort)));
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        error: e.code ?? e.message,
        ms: Date.now() - t0,
        ...(localPort ? { localPort } : {}),
      }),
    );
  });
}

export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  payload?: string,
): Promise<TcpResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let done = false;
    let localPort: number | undefined;
    let reply = "";
    const finish = (outcome: TcpOutcome, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Bound at connect() even when no answer came: lets the trace find a dropped flow.
      localPort ??= sock.localPort;
      sock.destroy();
      resolve({
        outcome,
        ms: Date.now() - t0,
        ...(reply ? { reply } : {}),
        ...(error ? { error } : {}),
        ...(localPort ? { localPort } : {}),
      });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    sock.on("connect", () => {
      localPort = sock.localPort;
      if (payload !== undefined) sock.write(payload);
    });
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      reply += d;
      if (payload === undefined || reply.length >= payload.length) finish("connected");
    });
    sock.on("end", () => finish(reply ? "connected" : "reset"));
    sock.on("error", (e: NodeJS.ErrnoException) => {
      const map: Record<string, TcpOutcome> = {
        ECONNREFUSED: "refused",
        ECONNRESET: "reset",
        EHOSTUNREACH: "unreachable",
        ENETUNREACH: "unreachable",
      };
      finish(map[e.code ?? ""] ?? "error", e.code ?? e.message);
    });
  });
}

/**
 * Sends `payload` and waits for a reply, resending every `timeoutMs / attempts` up to `attempts`
 * times from the same socket (same flow), as a UDP client such as a DNS resolver does.
 */
export function udpProbe(
  host: string,
  port: number,
  payload: string,
  timeoutMs: number,
  localPort?: number,
  attempts = 3,
): Promise<UdpResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = dgram.createSocket("udp4");
    let done = false;
    let sent = 0;
    let resend: NodeJS.Timeout | undefined;
    const finish = (r: Omit<UdpResult, "ms" | "localPort" | "attempts">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(resend);
      let lp: number | undefined;
      try {
        lp = sock.address().port;
      } catch {
        lp = undefined;
      }
      sock.close();
      resolve({ ...r, attempts: sent, ms: Date.now() - t0, ...(lp ? { localPort: lp } : {}) });
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `no reply within ${timeoutMs} ms` }),
      timeoutMs,
    );
    sock.on("message", (msg) => finish({ ok: true, reply: msg.toString("utf8") }));
    sock.on("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: e.code ?? e.message }),
    );
    const send = () => {
      if (sent >= Math.max(1, attempts)) return;
      sent++;
      sock.send(payload);
    };
    // A connected socket reports ICMP port unreachable (a reject) as ECONNREFUSED.
    sock.bind(localPort ?? 0, () =>
      sock.connect(port, host, () => {
        send();
        resend = setInterval(send, Math.max(50, Math.floor(timeoutMs / Math.max(1, attempts))));
      }),
    );
  });
}

export function pingProbe(host: string, count: number): Promise<PingResult> {
  return new Promise((resolve) => {
    execFile(
      "ping",
      ["-n", "-c", String(count), "-i", "0.2", "-W", "1", host],
      { timeout: 5000 + count * 1000 },
      (error, stdout, stderr) => {
        const e = error as NodeJS.ErrnoException | null;
        if (e && e.code === "ENOENT") {
          resolve({ available: false, transmitted: 0, received: 0, output: "ping not installed" });
          return;
        }
        const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
        resolve({
          available: true,
          transmitted: m ? Number(m[1]) : 0,
          received: m ? Number(m[2]) : 0,
          output: (stdout + stderr).trim(),
        });
      },
    );
  });
}

/**
 * One UDP flow per local port, each sending a sequence number every `intervalMs` for
 * `durationMs` to an echo server; measures what came back and the longest silence.
 */
export async function udpStreamProbe(
  host: string,
  port: number,
  localPorts: readonly number[],
  intervalMs: number,
  durationMs: number,
): Promise<StreamResult> {
  const t0 = Date.now();
  const flows = await Promise.all(
    localPorts.map(
      (lp) =>
        new Promise<StreamFlowResult>((resolve, reject) => {
          const sock = dgram.createSocket("udp4");
          let sent = 0;
          let received = 0;
          let receivedAtEnd = 0;
          let lastRx = t0;
          let maxGapMs = 0;
          sock.on("message", () => {
            const now = Date.now();
            received++;
            maxGapMs = Math.max(maxGapMs, now - lastRx);
            lastRx = now;
            if (now - t0 >= durationMs * 0.75) receivedAtEnd++;
          });
          sock.once("error", reject);
          sock.bind(lp, () => {
            const timer = setInterval(() => {
              if (Date.now() - t0 >= durationMs) {
                clearInterval(timer);
                setTimeout(() => {
                  maxGapMs = Math.max(maxGapMs, Math.min(Date.now(), t0 + durationMs) - lastRx);
                  sock.close();
                  resolve({ localPort: lp, sent, received, maxGapMs, receivedAtEnd });
                }, 300);
                return;
              }
              sock.send(`seq ${sent++}`, port, host);
            }, intervalMs);
          });
        }),
    ),
  );
  return { flows, intervalMs, durationMs };
}

export function runProbe(p: Probe): Promise<unknown> {
  switch (p.kind) {
    case "http":
      return httpProbe(p.url, p.timeoutMs);
    case "tcp":
      return tcpProbe(p.host, p.port, p.timeoutMs, p.payload);
    case "udp":
      return udpProbe(p.host, p.port, p.payload, p.timeoutMs, p.localPort, p.attempts);
    case "ping":
      return pingProbe(p.host, p.count);
    case "udp-stream":
      return udpStreamProbe(p.host, p.port, p.localPorts, p.intervalMs, p.durationMs);
  }
}
