import { strict as assert } from "node:assert";
import * as dgram from "node:dgram";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { httpProbe, plainAddress, tcpProbe, udpProbe, udpStreamProbe } from "@tollgate/lab";

/** A port nothing listens on (bound then closed). */
async function closedTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("lab client probes (loopback)", () => {
  it("HTTP: status, body and the local port", async () => {
    const s = http.createServer((_req, res) => res.end("hello"));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const r = await httpProbe(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`, 1000);
    s.close();
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(r.body, "hello");
    assert.ok(r.localPort! > 0);
  });

  it("TCP: connected with the echoed payload, refused on a closed port, timeout on silence", async () => {
    const echo = net.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    const ok = await tcpProbe("127.0.0.1", (echo.address() as AddressInfo).port, 1000, "ping");
    echo.close();
    assert.equal(ok.outcome, "connected");
    assert.equal(ok.reply, "ping");
    assert.equal((await tcpProbe("127.0.0.1", await closedTcpPort(), 1000)).outcome, "refused");
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const t = await tcpProbe("127.0.0.1", (silent.address() as AddressInfo).port, 150, "x");
    silent.close();
    assert.equal(t.outcome, "timeout");
  });

  it("UDP: resends until a reply, and reports a port unreachable as ECONNREFUSED", async () => {
    const sock = dgram.createSocket("udp4");
    let seen = 0;
    sock.on("message", (m, rinfo) => {
      if (++seen >= 2) sock.send(m, rinfo.port, rinfo.address); // ignore the first datagram
    });
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const r = await udpProbe("127.0.0.1", sock.address().port, "hi", 900, undefined, 3);
    assert.equal(r.ok, true);
    assert.equal(r.reply, "hi");
    assert.equal(r.attempts, 2);
    sock.close();
    const closed = dgram.createSocket("udp4");
    await new Promise<void>((r2) => closed.bind(0, "127.0.0.1", () => r2()));
    const port = closed.address().port;
    closed.close();
    const refused = await udpProbe("127.0.0.1", port, "hi", 600);
    assert.equal(refused.ok, false);
    assert.equal(refused.error, "ECONNREFUSED");
  });

  it("UDP stream: counts what each flow sent and got back", async () => {
    const echo = dgram.createSocket("udp4");
    echo.on("message", (m, rinfo) => echo.send(m, rinfo.port, rinfo.address));
    await new Promise<void>((r) => echo.bind(0, "127.0.0.1", () => r()));
    const r = await udpStreamProbe("127.0.0.1", echo.address().port, [0, 0], 20, 300);
    echo.close();
    assert.equal(r.flows.length, 2);
    for (const f of r.flows) {
      assert.ok(f.sent >= 10, `sent ${f.sent}`);
      assert.equal(f.received, f.sent);
      assert.ok(f.receivedAtEnd > 0);
    }
  });

  it("shows IPv4 peers of a dual-stack socket plainly", () => {
    assert.equal(plainAddress("::ffff:10.10.1.10"), "10.10.1.10");
    assert.equal(plainAddress("fd00:10:1::10"), "fd00:10:1::10");
    assert.equal(plainAddress(undefined), undefined);
  });
});
