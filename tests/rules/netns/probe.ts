/**
 * Traffic helper run inside test namespaces (`ip netns exec NS node probe.js ...`):
 *   serve-tcp PORT TAG      reply "TAG <peer address>" to every connection
 *   serve-http PORT TAG     HTTP 200 with body "TAG <peer address>"
 *   serve-udp PORT          UDP echo
 *   tcp HOST PORT MS [LPORT] connect (from local port LPORT), print {"ok":true,"data":...} or {"ok":false,"error":CODE}
 *   http HOST PORT MS       GET / , print status, body and the Via header
 *   udp HOST PORT MS        send "ping", wait for the echo
 * Servers print "ready" once listening.
 */
import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";

const [cmd, a1, a2, a3, a4] = process.argv.slice(2);

function done(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

function peer(addr: string | undefined): string {
  return (addr ?? "?").replace(/^::ffff:/, "");
}

switch (cmd) {
  case "serve-tcp": {
    const srv = net.createServer((s) => {
      s.on("error", () => undefined);
      s.end(`${a2} ${peer(s.remoteAddress)}`);
    });
    srv.listen(Number(a1), "::", () => process.stdout.write("ready\n"));
    break;
  }
  case "serve-http": {
    const srv = http.createServer((req, res) => {
      res.end(`${a2} ${peer(req.socket.remoteAddress)}`);
    });
    srv.listen(Number(a1), "::", () => process.stdout.write("ready\n"));
    break;
  }
  case "serve-udp": {
    const sock = dgram.createSocket({ type: "udp6", ipv6Only: false });
    sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(Number(a1), "::", () => process.stdout.write("ready\n"));
    break;
  }
  case "tcp": {
    const timer = setTimeout(() => done({ ok: false, error: "TIMEOUT" }), Number(a3));
    const s = net.connect({ host: a1, port: Number(a2), ...(a4 ? { localPort: Number(a4) } : {}) });
    let data = "";
    s.on("data", (d) => (data += d.toString()));
    s.on("end", () => {
      clearTimeout(timer);
      done({ ok: true, data });
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done({ ok: false, error: e.code ?? e.message });
    });
    break;
  }
  case "http": {
    const host = a1!.includes(":") ? `[${a1!}]` : a1!;
    const req = http.get(
      { host: a1, port: Number(a2), path: "/", headers: { host }, timeout: Number(a3) },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d.toString()));
        res.on("end", () =>
          done({ ok: true, status: res.statusCode, body, via: res.headers.via ?? null }),
        );
      },
    );
    req.on("timeout", () => {
      req.destroy();
      done({ ok: false, error: "TIMEOUT" });
    });
    req.on("error", (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    break;
  }
  case "udp": {
    const sock = dgram.createSocket(a1!.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => done({ ok: false, error: "TIMEOUT" }), Number(a3));
    sock.on("message", (msg) => {
      clearTimeout(timer);
      done({ ok: true, data: msg.toString() });
    });
    sock.send("ping", Number(a2), a1);
    break;
  }
  default:
    process.stderr.write(`unknown command ${String(cmd)}\n`);
    process.exit(2);
}
