import * as fs from "node:fs";
import * as http from "node:http";

/**
 * HTTP over a Unix socket between the lab controller (host namespace) and the lab's processes
 * (inside the namespaces): filesystem sockets are not network-namespaced, so the controller
 * reaches every process without a route into the lab.
 */

export type ControlHandler = (body: unknown, query: URLSearchParams) => Promise<unknown> | unknown;

/** A handler result sent as text/plain instead of JSON. */
export class TextReply {
  constructor(
    readonly text: string,
    readonly status = 200,
  ) {}
}

/** Serves `routes` ("GET /status" -> handler) on a Unix socket; replaces a stale socket file. */
export function serveControl(
  socketPath: string,
  routes: Record<string, ControlHandler>,
): Promise<http.Server> {
  try {
    fs.unlinkSync(socketPath);
  } catch {
    // no stale socket
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://lab");
    const handler = routes[`${req.method} ${url.pathname}`];
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!handler) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `no route ${req.method} ${url.pathname}` }));
        return;
      }
      let body: unknown = undefined;
      try {
        if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch (e) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `bad JSON body: ${(e as Error).message}` }));
        return;
      }
      Promise.resolve()
        .then(() => handler(body, url.searchParams))
        .then(
          (result) => {
            if (result instanceof TextReply) {
              res.writeHead(result.status, { "content-type": "text/plain" });
              res.end(result.text);
            } else {
              res.writeHead(200, { "content-type": "application/json" });
              res.end(
                JSON.stringify(result, (_k, v: unknown) =>
                  typeof v === "bigint" ? v.toString() : v,
                ),
              );
            }
          },
          (e: unknown) => {
            res.writeHead(500, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
          },
        );
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      fs.chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}

export interface ControlResponse {
  readonly status: number;
  readonly text: string;
}

/** One request to a control socket. Rejects on connection errors and timeouts. */
export function controlRequest(
  socketPath: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: payload
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`control request ${method} ${path} timed out after ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A JSON control request; throws with the server's error message on a non-2xx status. */
export async function controlJson<T>(
  socketPath: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<T> {
  const r = await controlRequest(socketPath, method, path, body, timeoutMs);
  if (r.status < 200 || r.status > 299) {
    let msg = r.text;
    try {
      msg = (JSON.parse(r.text) as { error?: string }).error ?? r.text;
    } catch {
      // plain text
    }
    throw new Error(`${method} ${path}: ${r.status} ${msg}`);
  }
  return JSON.parse(r.text) as T;
}

/** Polls a control socket until `GET path` answers 2xx or the deadline passes. */
export async function waitForControl(
  socketPath: string,
  path: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const r = await controlRequest(socketPath, "GET", path, undefined, 1000);
      if (r.status >= 200 && r.status < 300) return;
      last = `${r.status} ${r.text}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`${socketPath} did not answer within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
