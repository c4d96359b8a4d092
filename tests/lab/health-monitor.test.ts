import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_HEALTH, HealthMonitor, type HealthTarget, httpHealthProbe } from "@tollgate/lab";

describe("lab GWLB health monitor", () => {
  it("runs checks for every target and reports transitions once", async () => {
    const answers: Record<string, boolean[]> = {
      a: [true, true, false, false],
      b: [false, false, true, true],
    };
    const seen: string[] = [];
    const m = new HealthMonitor(
      [
        { name: "a", address: "x", port: 1 },
        { name: "b", address: "y", port: 1 },
      ],
      DEFAULT_HEALTH,
      async (t) => {
        const ok = answers[t.name]!.shift()!;
        return { ok, detail: ok ? "200" : "ECONNREFUSED" };
      },
      (name, tr, detail) => seen.push(`${name}:${tr.from}->${tr.to}:${detail}`),
    );
    const rounds: string[][] = [];
    for (let i = 0; i < 4; i++) {
      await m.checkAll();
      rounds.push(seen.splice(0).sort());
    }
    assert.deepEqual(rounds, [
      [],
      ["a:initial->healthy:200", "b:initial->unhealthy:ECONNREFUSED"],
      [],
      ["a:healthy->unhealthy:ECONNREFUSED", "b:unhealthy->healthy:200"],
    ]);
    assert.deepEqual(
      m.snapshot().map((s) => [s.name, s.state, s.checks]),
      [
        ["a", "unhealthy", 4],
        ["b", "healthy", 4],
      ],
    );
  });

  it("never runs two checks of one target at once", async () => {
    let running = 0;
    let most = 0;
    const m = new HealthMonitor(
      [{ name: "a", address: "x", port: 1 }],
      DEFAULT_HEALTH,
      async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return { ok: true, detail: "200" };
      },
      () => undefined,
    );
    await Promise.all([m.checkAll(), m.checkAll(), m.checkAll()]);
    assert.equal(most, 1);
    assert.equal(m.snapshot()[0]!.checks, 1);
  });

  describe("HTTP probe", () => {
    let server: http.Server;
    let target: HealthTarget;
    before(async () => {
      server = http.createServer((req, res) => {
        if (req.url === "/slow") return void setTimeout(() => res.end("late"), 300);
        if (req.url === "/down") {
          res.writeHead(503);
          return void res.end("UNHEALTHY: no socket\n");
        }
        if (req.url === "/moved") {
          res.writeHead(302, { location: "/" });
          return void res.end();
        }
        res.end("HEALTHY (forwarding)\n");
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      target = { name: "t", address: "127.0.0.1", port: (server.address() as AddressInfo).port };
    });
    after(() => server.close());

    it("passes on 200-399 with the first line of the body as detail", async () => {
      assert.deepEqual(await httpHealthProbe(target, DEFAULT_HEALTH), {
        ok: true,
        detail: "200 HEALTHY (forwarding)",
      });
      assert.equal((await httpHealthProbe(target, { ...DEFAULT_HEALTH, path: "/moved" })).ok, true);
    });

    it("fails on 5xx, on a status outside the matcher, on timeouts and on refused connections", async () => {
      assert.deepEqual(await httpHealthProbe(target, { ...DEFAULT_HEALTH, path: "/down" }), {
        ok: false,
        detail: "503 UNHEALTHY: no socket",
      });
      assert.equal(
        (await httpHealthProbe(target, { ...DEFAULT_HEALTH, path: "/moved", matcher: "200" })).ok,
        false,
      );
      assert.deepEqual(
        await httpHealthProbe(target, { ...DEFAULT_HEALTH, path: "/slow", timeoutMs: 100 }),
        {
          ok: false,
          detail: "timeout after 100 ms",
        },
      );
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
      const port = (closed.address() as AddressInfo).port;
      closed.close();
      assert.deepEqual(await httpHealthProbe({ ...target, port }, DEFAULT_HEALTH), {
        ok: false,
        detail: "ECONNREFUSED",
      });
    });
  });
});
