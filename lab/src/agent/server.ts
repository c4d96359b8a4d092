import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";

/** The internet namespace's server: HTTP, TCP and UDP echo, and plain listeners on extra ports. */
/** The server listens on every address of its namespace, IPv4 and IPv6. */
export interface ServerConfig {
  /** Defaults to 80. */
  readonly httpPort: number;
  /** TCP and UDP echo (RFC 862). Defaults to 7. */
  readonly echoPort: number;
  /** TCP ports that accept, answer "open <port>" and close: the blocked-port checks connect here. */
  readonly extraTcpPorts: readonly number[];
  /** UDP ports that answer "open <port>". */
  readonly extraUdpPorts: readonly number[];
  /**
   * HTTPS on 443 with this certificate (PEM files; the lab makes a self-signed one at start when
   * the rules file has a suricata: section): the Suricata steps' TLS server, any SNI accepted.
   * No certificate file, no HTTPS.
   */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export const HTTPS_PORT = 443;

export interface ServiceStats {
  /** Connections (TCP) or datagrams (UDP) or requests (HTTP). */
  count: number;
  /** Distinct peer addresses seen (a lab without NAT sees the client's own address). */
  peers: string[];
}

export type ServerStats = Record<string, ServiceStats>;

export class LabServer {
  readonly stats: ServerStats = {};
  private readonly closers: Array<() => void> = [];

  constructor(private readonly config: ServerConfig) {}

  private hit(service: string, rawPeer: string | undefined): void {
    const peer = plainAddress(rawPeer);
    const s = (this.stats[service] ??= { count: 0, peers: [] });
    s.count++;
    if (peer && !s.peers.includes(peer) && s.peers.length < 20) s.peers.push(peer);
  }

  async start(): Promise<void> {
    const c = this.config;
    const answer = (port: number) => (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.hit(`http/${port}`, req.socket.remoteAddress);
      const peer = plainAddress(req.socket.remoteAddress);
      const shown = peer?.includes(":") ? `[${peer}]` : peer;
      const body = `hello from the tollgate lab internet server (you are ${shown}:${req.socket.remotePort})\n`;
      res.writeHead(200, { "content-type": "text/plain", "x-tollgate-lab": "internet" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    await this.listenTcp(http.createServer(answer(c.httpPort)), c.httpPort);
    if (c.tls && fs.existsSync(c.tls.cert)) {
      const tls = { cert: fs.readFileSync(c.tls.cert), key: fs.readFileSync(c.tls.key) };
      await this.listenTcp(https.createServer(tls, answer(HTTPS_PORT)), HTTPS_PORT);
    }
    const echo = net.createServer((sock) => {
      this.hit(`tcp/${c.echoPort}`, sock.remoteAddress);
      sock.on("error", () => undefined);
      sock.pipe(sock);
    });
    await this.listenTcp(echo, c.echoPort);
    for (const port of c.extraTcpPorts) {
      if (port === c.httpPort || port === c.echoPort || (c.tls && port === HTTPS_PORT)) continue;
      const s = net.createServer((sock) => {
        this.hit(`tcp/${port}`, sock.remoteAddress);
        sock.on("error", () => undefined);
        sock.end(`open ${port}\n`);
      });
      await this.listenTcp(s, port);
    }
    await this.bindUdp(c.echoPort, (msg) => msg);
    for (const port of c.extraUdpPorts) {
      if (port === c.echoPort) continue;
      await this.bindUdp(port, () => Buffer.from(`open ${port}\n`));
    }
  }

  private listenTcp(server: net.Server, port: number): Promise<void> {
    this.closers.push(() => server.close());
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      // "::" is dual-stack: IPv4 clients appear as ::ffff:a.b.c.d (shown plain).
      server.listen(port, "::", () => resolve());
    });
  }

  private async bindUdp(port: number, reply: (msg: Buffer) => Buffer): Promise<void> {
    for (const type of ["udp4", "udp6"] as const) {
      const sock = dgram.createSocket({ type, ipv6Only: type === "udp6" });
      this.closers.push(() => sock.close());
      sock.on("message", (msg, rinfo) => {
        this.hit(`udp/${port}`, rinfo.address);
        sock.send(reply(msg), rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(port, type === "udp4" ? "0.0.0.0" : "::", () => resolve());
      });
    }
  }

  close(): void {
    for (const c of this.closers) c();
  }
}

/** "::ffff:10.10.1.10" -> "10.10.1.10" (IPv4 clients of a dual-stack socket). */
export function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}
