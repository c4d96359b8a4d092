/**
 * The Suricata runtime with fakes at every seam: the supervisor restarts with backoff and counts
 * crashes, the unix socket client speaks Suricata's protocol, and the manager refuses what
 * `suricata -T` refuses, reloads when only rules change and restarts when the configuration does.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Registry } from "prom-client";
import {
  boundQueues,
  type ChildLike,
  type CommandResult,
  Supervisor,
  suricataCommand,
  SuricataManager,
  suricataHealth,
  registerSuricataMetrics,
  type ProcessTable,
  type SuricataManagerOptions,
  type SuricataRuntimeStatus,
} from "@tollgate/appliance";
import { rules } from "../rules/load";
import { waitUntil } from "../wait";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A child process that exits when told to (or killed). */
class FakeChild extends EventEmitter implements ChildLike {
  static next = 100;
  readonly pid = FakeChild.next++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  exit(code: number | null, signal: string | null = null) {
    this.emit("exit", code, signal);
  }
  kill(signal?: NodeJS.Signals) {
    setImmediate(() => this.exit(null, signal ?? "SIGTERM"));
    return true;
  }
}

describe("suricata supervisor", () => {
  it("restarts a crashed child with doubling backoff, counts it, stops cleanly", async () => {
    const children: FakeChild[] = [];
    const sup = new Supervisor({
      logger: quiet,
      backoffMs: 20,
      maxBackoffMs: 40,
      spawn: () => {
        const c = new FakeChild();
        children.push(c);
        return c;
      },
    });
    await sup.start(["suricata", "-q", "0"]);
    assert.equal(sup.status().running, true);
    children[0]!.exit(1);
    assert.equal(sup.status().running, false);
    assert.equal(sup.status().lastExit, "exit 1");
    assert.ok(sup.status().restartInMs! <= 20);
    await waitUntil("first restart", () => children.length === 2, 2000);
    children[1]!.exit(1);
    assert.ok(sup.status().restartInMs! > 20, "second failure waits longer");
    await waitUntil("second restart", () => children.length === 3, 2000);
    assert.equal(sup.status().crashes, 2);
    assert.equal(sup.status().starts, 3);
    await sup.stop();
    assert.equal(sup.status().running, false);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(children.length, 3, "no restart after stop()");
  });
});

describe("suricata unix socket client", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-sock-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A server speaking Suricata's protocol: version handshake, then one answer per command. */
  function fakeSuricata(socket: string, answer: (cmd: { command: string }) => object) {
    const seen: object[] = [];
    const server = net.createServer((s) => {
      let buf = "";
      s.on("data", (d) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as { version?: string; command?: string };
          buf = buf.slice(nl + 1);
          seen.push(msg);
          const reply = msg.version ? { return: "OK" } : answer(msg as { command: string });
          s.write(`${JSON.stringify(reply)}\n`);
        }
      });
    });
    server.listen(socket);
    return { server, seen };
  }

  it("negotiates version 0.2, sends the command and returns the answer", async () => {
    const socket = path.join(dir, "s");
    const { server, seen } = fakeSuricata(socket, () => ({ return: "OK", message: "done" }));
    try {
      const a = await suricataCommand(socket, "reload-rules", { timeoutMs: 2000 });
      assert.deepEqual(a, { return: "OK", message: "done" });
      assert.deepEqual(seen, [{ version: "0.2" }, { command: "reload-rules" }]);
    } finally {
      server.close();
    }
  });

  it("rejects when nothing listens, naming the socket", async () => {
    await assert.rejects(
      suricataCommand(path.join(dir, "none"), "uptime"),
      /suricata socket .*none/,
    );
  });
});

describe("suricata manager", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-mgr-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const YAML = (sig: string, failure = "closed") =>
    `version: 1\ndefaults: { protected: [10.0.0.0/16] }\nsuricata:\n  mode: ips\n  failure: ${failure}\n  signatures: ['${sig}']\n`;
  const SIG = (sid: number) => `alert ip any any -> any any (msg:"t"; sid:${sid}; rev:1;)`;

  function setup(
    testResult: CommandResult,
    child = () => new FakeChild(),
    extra: Partial<SuricataManagerOptions> = {},
  ) {
    const ran: string[][] = [];
    const sockets: string[] = [];
    const spawned: string[][] = [];
    const sup = new Supervisor({
      logger: quiet,
      spawn: (argv) => {
        spawned.push([...argv]);
        return child();
      },
    });
    const m = new SuricataManager({
      rulesFile: path.join(dir, "rules.yaml"),
      logDir: path.join(dir, "log"),
      runDir: path.join(dir, "run"),
      command: ["suricata"],
      runner: { run: async (argv) => (ran.push([...argv]), testResult) },
      logger: quiet,
      supervisor: sup,
      socketCommand: async (_s, cmd) => (sockets.push(cmd), { return: "OK", message: "done" }),
      readQueues: async () => "    0  12345     0 2 65531     0     0        0  1\n",
      ...extra,
    });
    return { m, ran, sockets, spawned };
  }

  it("starts once, reloads when only the rules change, restarts when the configuration does", async () => {
    const { m, ran, sockets, spawned } = setup({ code: 0, stdout: "", stderr: "" });
    await m.update(rules(YAML(SIG(1))));
    assert.equal(ran[0]!.slice(0, 2).join(" "), "suricata -T");
    assert.deepEqual(spawned[0]!.slice(-2), ["-q", "0"]);
    assert.match(fs.readFileSync(path.join(dir, "run", "tollgate.rules"), "utf8"), /sid:1;/);
    await m.update(rules(YAML(SIG(2))));
    assert.deepEqual(sockets, ["reload-rules"]);
    assert.equal(spawned.length, 1);
    await m.update(rules(YAML(SIG(2), "open")));
    assert.equal(spawned.length, 2, "nfq.fail-open changed: restart");
    await m.poll();
    assert.deepEqual(m.status().reloads, { ok: 1, failed: 0, refused: 0 });
    assert.deepEqual(m.health(), [
      {
        name: "suricata",
        ok: true,
        detail: `ips: Suricata (pid ${m.status().process.pid}) inspects NFQUEUE 0`,
      },
    ]);
    await m.close();
  });

  it("refuses what suricata -T refuses: nothing written, counted, said in health", async () => {
    const { m, spawned } = setup({
      code: 1,
      stdout: "",
      stderr: "E: detect-parse: unknown rule keyword 'nonsense'.\n",
    });
    await m.update(rules(YAML(SIG(1))));
    assert.equal(spawned.length, 0);
    assert.equal(fs.existsSync(path.join(dir, "run", "tollgate.rules")), false);
    assert.equal(m.status().reloads.refused, 1);
    await m.close();
  });

  it("fails health while fail-closed Suricata is off its queue", async () => {
    const { m } = setup({ code: 0, stdout: "", stderr: "" });
    await m.update(rules(YAML(SIG(1))));
    const [h] = m.health();
    assert.equal(h?.ok, false);
    assert.match(
      h!.detail!,
      /ips: Suricata is not on NFQUEUE 0: starting .* dropped \(failure: closed\)/,
    );
    await m.close();
  });

  it("names no pid while a Suricata it did not start holds the queue", async () => {
    const { m } = setup({ code: 0, stdout: "", stderr: "" }, () =>
      Object.assign(new FakeChild(), { pid: undefined }),
    );
    await m.update(rules(YAML(SIG(1))));
    await m.poll();
    assert.deepEqual(m.health(), [
      { name: "suricata", ok: true, detail: "ips: Suricata inspects NFQUEUE 0" },
    ]);
    await m.close();
  });

  it("builds stage suricata once: every state, each with the refused change noted", () => {
    const section = (yaml: string) => rules(yaml).file.suricata!;
    const ids = section(YAML(SIG(1)).replace("mode: ips\n  failure: closed", "mode: ids"));
    const status = (up: boolean, running: boolean): SuricataRuntimeStatus => ({
      enabled: true,
      mode: undefined,
      up,
      failOpen: false,
      reloads: { ok: 0, failed: 0, refused: 0 },
      leftoversStopped: 0,
      process: {
        running,
        pid: running ? 7 : undefined,
        starts: 1,
        crashes: 2,
        lastExit: "exit 1",
        restartInMs: running ? undefined : 4000,
      },
    });
    const down = "down (exit 1, restart in 4 s, 2 restarts)";
    const cases: [string, ReturnType<typeof section>, SuricataRuntimeStatus, object][] = [
      [
        "ips up",
        section(YAML(SIG(1))),
        status(true, true),
        { ok: true, detail: "ips: Suricata (pid 7) inspects NFQUEUE 0" },
      ],
      [
        "ids up",
        ids,
        status(true, true),
        { ok: true, detail: "ids: Suricata (pid 7) inspects tgids1" },
      ],
      [
        "ids down",
        ids,
        status(false, false),
        {
          ok: true,
          detail: `ids: Suricata is not on tgids1: ${down}: traffic passes, nothing is inspected`,
        },
      ],
      [
        "ips open, down",
        section(YAML(SIG(1), "open")),
        status(false, false),
        {
          ok: true,
          detail: `FAIL-OPEN active: ips: Suricata is not on NFQUEUE 0: ${down}: inspected traffic passes uninspected`,
        },
      ],
      [
        "ips closed, down",
        section(YAML(SIG(1))),
        status(false, false),
        {
          ok: false,
          detail: `ips: Suricata is not on NFQUEUE 0: ${down}: inspected traffic is dropped (failure: closed)`,
        },
      ],
      [
        "ips closed, starting",
        section(YAML(SIG(1))),
        status(false, true),
        {
          ok: false,
          pending: true,
          detail:
            "ips: Suricata is not on NFQUEUE 0: starting (loading rules): inspected traffic is dropped (failure: closed)",
        },
      ],
    ];
    for (const [what, s, st, expected] of cases) {
      const refused = suricataHealth(s, st, "bad rule");
      const { detail, ...rest } = expected as { detail: string };
      assert.deepEqual(
        refused,
        { name: "suricata", ...rest, detail: `${detail} (last change refused: bad rule)` },
        what,
      );
      assert.deepEqual(suricataHealth(s, st, undefined), { name: "suricata", ...expected }, what);
    }
  });

  /** A process table holding pid 4242 running `argv` until a signal it obeys (SIGKILL always). */
  function processTable(argv: string[], obeys: NodeJS.Signals | undefined, events: string[]) {
    let alive = true;
    const processes: ProcessTable = {
      commandLine: async (pid) => (pid === 4242 && alive ? argv : undefined),
      kill: (pid, signal) => {
        if (pid !== 4242 || !alive) return false;
        events.push(signal);
        alive = signal !== obeys && signal !== "SIGKILL";
        return true;
      },
    };
    return processes;
  }

  it("stops a Suricata a killed daemon left running before starting its own, logged and counted", async () => {
    const cases: [NodeJS.Signals | undefined, string[]][] = [
      ["SIGTERM", ["SIGTERM", "spawn"]],
      [undefined, ["SIGTERM", "SIGKILL", "spawn"]],
    ];
    for (const [obeys, expected] of cases) {
      const run = path.join(dir, "run");
      fs.mkdirSync(run, { recursive: true });
      fs.writeFileSync(path.join(run, "suricata.pid"), "4242\n");
      const events: string[] = [];
      const warned: object[] = [];
      const ours = ["suricata", "-c", path.join(run, "suricata.yaml"), "-q", "0"];
      const { m, spawned } = setup(
        { code: 0, stdout: "", stderr: "" },
        () => (events.push("spawn"), new FakeChild()),
        {
          processes: processTable(ours, obeys, events),
          leftoverStopTimeoutMs: 200,
          logger: { ...quiet, warn: (o: object) => warned.push(o) },
        },
      );
      await m.update(rules(YAML(SIG(1))));
      assert.deepEqual(events, expected);
      assert.equal(m.status().leftoversStopped, 1);
      const registry = new Registry();
      registerSuricataMetrics(registry, m);
      assert.match(await registry.metrics(), /^tollgate_suricata_leftovers_stopped_total 1$/m);
      assert.deepEqual(warned, [
        { pid: 4242, outcome: expected.length === 2 ? "stopped" : "killed" },
      ]);
      assert.equal(fs.existsSync(path.join(run, "suricata.pid")), false, "pidfile removed");
      const argv = spawned[0]!;
      assert.equal(argv[argv.indexOf("--pidfile") + 1], path.join(run, "suricata.pid"));
      await m.close();
    }
  });

  it("leaves a process the pidfile names alone unless it runs this configuration", async () => {
    const run = path.join(dir, "run");
    fs.mkdirSync(run, { recursive: true });
    fs.writeFileSync(path.join(run, "suricata.pid"), "4242\n");
    const events: string[] = [];
    const other = ["suricata", "-c", "/etc/suricata/suricata.yaml"];
    const { m, spawned } = setup({ code: 0, stdout: "", stderr: "" }, () => new FakeChild(), {
      processes: processTable(other, "SIGTERM", events),
    });
    await m.update(rules(YAML(SIG(1))));
    assert.deepEqual(events, []);
    assert.equal(m.status().leftoversStopped, 0);
    assert.equal(fs.existsSync(path.join(run, "suricata.pid")), false, "stale pidfile removed");
    assert.equal(spawned.length, 1);
    await m.close();
  });

  it("reads bound queues from /proc/net/netfilter/nfnetlink_queue", () => {
    assert.deepEqual(
      [...boundQueues("    0  1 0 2 65531 0 0 0 1\n    7  2 0 2 65531 0 0 0 1\n")],
      [0, 7],
    );
  });
});
