import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Server } from "node:http";
import {
  controlJson,
  controlRequest,
  serveControl,
  TextReply,
  waitForControl,
} from "@tollgate/lab";

describe("lab control socket", () => {
  let dir: string;
  let sock: string;
  let server: Server;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgl-ctl-"));
    sock = path.join(dir, "c.sock");
    fs.writeFileSync(sock, "stale");
    server = await serveControl(sock, {
      "GET /status": () => ({ ok: true, big: 1n << 40n }),
      "POST /echo": (body, q) => ({ body, q: q.get("x") }),
      "GET /text": () => new TextReply("plain\n"),
      "GET /boom": () => {
        throw new Error("exploded");
      },
    });
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("replaces a stale socket file and is private to root", () => {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
  });

  it("answers JSON (bigint as text), text, bodies and query strings", async () => {
    assert.deepEqual(await controlJson(sock, "GET", "/status"), { ok: true, big: "1099511627776" });
    assert.deepEqual(await controlJson(sock, "POST", "/echo?x=1", { a: [1] }), {
      body: { a: [1] },
      q: "1",
    });
    assert.deepEqual(await controlRequest(sock, "GET", "/text"), { status: 200, text: "plain\n" });
  });

  it("reports unknown routes and handler errors with the message", async () => {
    await assert.rejects(controlJson(sock, "GET", "/nope"), /404 no route GET \/nope/);
    await assert.rejects(controlJson(sock, "GET", "/boom"), /500 exploded/);
  });

  it("waits for a socket to answer, with a deadline", async () => {
    await waitForControl(sock, "/status", 1000);
    await assert.rejects(
      waitForControl(path.join(dir, "missing.sock"), "/status", 150),
      /did not answer within 150 ms/,
    );
  });
});
