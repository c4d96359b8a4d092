import { strict as assert } from "node:assert";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommandSyntaxError,
  endpointInfo,
  execFileRunner,
  type ExecFn,
  type ExecResult,
  HookRunner,
  splitCommand,
} from "@tollgate/appliance";
import { settlesWithin, waitFor } from "../../wait";
import { hookRunnerOptions } from "../helpers/settings";

const EP = endpointInfo(0x2b8ee1d4db0c51c4n);

function fakeExec(result: Partial<ExecResult> = {}, delayMs = 0) {
  const calls: {
    file: string;
    args: readonly string[];
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
  }[] = [];
  const exec: ExecFn = async (file, args, o) => {
    calls.push({ file, args, env: o.env, timeoutMs: o.timeoutMs });
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { code: 0, signal: null, stdout: "", stderr: "", timedOut: false, ...result };
  };
  return { exec, calls };
}

/** True while `pid` is a live process (a zombie waiting for its parent counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function memLogger() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const mk = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj, ...(msg ? { msg } : {}) });
  return { lines, logger: { info: mk("info"), warn: mk("warn"), error: mk("error") } };
}

describe("hook command splitting", () => {
  it("splits like a shell tokenizer without a shell", () => {
    assert.deepEqual(splitCommand("/usr/local/bin/hook.sh"), ["/usr/local/bin/hook.sh"]);
    assert.deepEqual(splitCommand("  /bin/x  -a   b "), ["/bin/x", "-a", "b"]);
    assert.deepEqual(splitCommand(`/bin/x 'a b' "c d" e\\ f`), ["/bin/x", "a b", "c d", "e f"]);
    assert.deepEqual(splitCommand(`/bin/x "a \\"q\\" \\\\ \\$HOME" 'it''s'`), [
      "/bin/x",
      'a "q" \\ $HOME',
      "its",
    ]);
    assert.deepEqual(splitCommand(`/bin/x '' ""`), ["/bin/x", "", ""]);
    assert.deepEqual(splitCommand("/bin/x $HOME * ; | >"), ["/bin/x", "$HOME", "*", ";", "|", ">"]);
    assert.deepEqual(splitCommand("/bin/sh -c 'echo $1 >> /tmp/log' hook"), [
      "/bin/sh",
      "-c",
      "echo $1 >> /tmp/log",
      "hook",
    ]);
    assert.deepEqual(splitCommand(""), []);
  });

  it("rejects unterminated quotes and a trailing backslash", () => {
    assert.throws(() => splitCommand("/bin/x 'a"), CommandSyntaxError);
    assert.throws(() => splitCommand('/bin/x "a'), CommandSyntaxError);
    assert.throws(() => splitCommand("/bin/x \\"), CommandSyntaxError);
  });
});

describe("HookRunner", () => {
  it("calls the hooks like the reference: CMD CREATE|DESTROY gwi-X gwo-X <hex17>", async () => {
    const { exec, calls } = fakeExec();
    const h = new HookRunner(
      hookRunnerOptions({
        create: "/etc/hook.sh --mode 'two words'",
        destroy: ["/etc/del.sh"],
        exec,
        timeoutMs: 1234,
      }),
    );
    await h.created(EP);
    await h.destroyed(EP);
    assert.deepEqual(
      calls.map((c) => [c.file, ...c.args]),
      [
        ["/etc/hook.sh", "--mode", "two words", "CREATE", EP.gwi, EP.gwo, "02b8ee1d4db0c51c4"],
        ["/etc/del.sh", "DESTROY", EP.gwi, EP.gwo, "02b8ee1d4db0c51c4"],
      ],
    );
    assert.equal(calls[0]!.timeoutMs, 1234);
    assert.equal(calls[0]!.env.TOLLGATE_ENDPOINT_ID, "02b8ee1d4db0c51c4");
    assert.equal(h.stats.CREATE.ok, 1);
    assert.equal(h.stats.DESTROY.ok, 1);
  });

  it("does nothing without hooks configured", async () => {
    const { exec, calls } = fakeExec();
    const h = new HookRunner(hookRunnerOptions({ exec }));
    await h.created(EP);
    await h.destroyed(EP);
    assert.equal(calls.length, 0);
  });

  it("logs and counts failures, timeouts and spawn errors without throwing", async () => {
    for (const [result, outcome] of [
      [{ code: 3, stderr: "boom" }, "failed"],
      [{ code: null, signal: "SIGTERM", timedOut: true }, "timeout"],
      [{ code: null, spawnError: "ENOENT" }, "error"],
    ] as const) {
      const { exec } = fakeExec(result);
      const { lines, logger } = memLogger();
      const h = new HookRunner(hookRunnerOptions({ create: "/x", exec, logger }));
      const runs: string[] = [];
      h.onRun((r) => runs.push(r.outcome));
      await h.created(EP);
      assert.equal(h.stats.CREATE[outcome], 1, outcome);
      assert.deepEqual(runs, [outcome]);
      assert.equal(lines[0]!.level, "error");
      assert.equal((lines[0]!.obj as { outcome: string }).outcome, outcome);
    }
  });

  it("reports each live endpoint's CREATE outcome as the hook health stage", async () => {
    for (const [result, detail] of [
      [
        { code: 3, stderr: "first\nRTNETLINK answers: File exists\n" },
        /^CREATE hook failed \(exit 3\): RTNETLINK answers: File exists$/,
      ],
      [{ code: null, signal: "SIGTERM", timedOut: true }, /^CREATE hook killed after 30000 ms$/],
      [{ code: null, spawnError: "ENOENT" }, /^CREATE hook could not run: ENOENT$/],
    ] as const) {
      const h = new HookRunner(hookRunnerOptions({ create: "/x", exec: fakeExec(result).exec }));
      await h.created(EP);
      const [r] = h.health();
      assert.equal(r?.name, "hook");
      assert.equal(r?.endpoint, EP.idHex17);
      assert.equal(r?.ok, false);
      assert.match(r?.detail ?? "", detail);
    }
    const h = new HookRunner(
      hookRunnerOptions({ create: "/x", destroy: "/x", exec: fakeExec().exec }),
    );
    await h.created(EP);
    assert.deepEqual(h.health(), [{ name: "hook", endpoint: EP.idHex17, ok: true }]);
    await h.destroyed(EP);
    assert.deepEqual(h.health(), []);
  });

  it("survives an exec function that rejects", async () => {
    const h = new HookRunner(
      hookRunnerOptions({ create: "/x", exec: () => Promise.reject(new Error("bad")) }),
    );
    await h.created(EP);
    assert.equal(h.stats.CREATE.error, 1);
  });

  it("runs DESTROY after the endpoint's CREATE finished, other endpoints concurrently", async () => {
    const order: string[] = [];
    const exec: ExecFn = async (_f, args) => {
      order.push(`start ${args[0]} ${args[3]}`);
      await new Promise((r) => setTimeout(r, args[0] === "CREATE" ? 30 : 1));
      order.push(`end ${args[0]} ${args[3]}`);
      return { code: 0, signal: null, stdout: "", stderr: "", timedOut: false };
    };
    const h = new HookRunner(hookRunnerOptions({ create: "/c", destroy: "/d", exec }));
    const other = endpointInfo(5n);
    const p = [h.created(EP), h.destroyed(EP), h.created(other)];
    await Promise.all(p);
    await h.close();
    const a = EP.idHex17;
    assert.ok(order.indexOf(`end CREATE ${a}`) < order.indexOf(`start DESTROY ${a}`));
    assert.ok(
      order.indexOf(`start CREATE ${other.idHex17}`) < order.indexOf(`end CREATE ${a}`),
      "concurrent",
    );
  });

  it("rejects a bad command string at construction", () => {
    assert.throws(() => new HookRunner(hookRunnerOptions({ create: "'oops" })), CommandSyntaxError);
  });

  describe("with real processes (execFile, no shell)", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "tgc1-hooks-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("passes arguments verbatim (no shell expansion) and reports exit codes", async () => {
      const script = join(dir, "hook.sh");
      const out = join(dir, "out");
      writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\nexit 0\n`);
      chmodSync(script, 0o755);
      const h = new HookRunner(hookRunnerOptions({ create: `${script} '$HOME' '*'` }));
      await h.created(EP);
      assert.equal(h.stats.CREATE.ok, 1);
      assert.deepEqual(readFileSync(out, "utf8").trim().split("\n"), [
        "$HOME",
        "*",
        "CREATE",
        EP.gwi,
        EP.gwo,
        EP.idHex17,
      ]);
    });

    it("does not kill a chatty hook", async () => {
      const r = await execFileRunner("/bin/sh", ["-c", "head -c 1000000 /dev/zero | tr '\\0' x"], {
        timeoutMs: 5000,
        env: process.env,
      });
      assert.equal(r.code, 0);
      assert.equal(r.stdout.length, 64 * 1024, "the tail is kept");
      assert.ok(/^x+$/.test(r.stdout));
    });

    it("kills a timed-out hook's children too", async () => {
      const pidFile = join(dir, "grandchild.pid");
      const run = execFileRunner("/bin/sh", ["-c", `sleep 20 & echo $! > '${pidFile}'; wait`], {
        timeoutMs: 100,
        env: process.env,
      });
      // The grandchild sleeps 20 s with the hook's output open: the run must not wait for it.
      const r = await settlesWithin(
        "the timed-out hook (its grandchild holds the output)",
        run,
        5000,
      );
      assert.equal(r.timedOut, true);
      const pid = Number(readFileSync(pidFile, "utf8"));
      assert.ok(pid > 0, "the hook wrote its grandchild's pid");
      await waitFor("the grandchild to be killed", () => (running(pid) ? undefined : true), 3000);
    });

    it("kills a hook that outlives its timeout", async () => {
      const r = await execFileRunner("/bin/sleep", ["5"], { timeoutMs: 100, env: process.env });
      assert.equal(r.timedOut, true);
      assert.equal(r.signal, "SIGTERM");
    });

    it("reports a missing program as a spawn error and a non-zero exit as failure", async () => {
      const missing = await execFileRunner(join(dir, "nope"), [], {
        timeoutMs: 1000,
        env: process.env,
      });
      assert.equal(missing.spawnError, "ENOENT");
      const f = await execFileRunner("/bin/sh", ["-c", "echo err >&2; exit 7"], {
        timeoutMs: 1000,
        env: process.env,
      });
      assert.equal(f.code, 7);
      assert.equal(f.stderr.trim(), "err");
      assert.equal(f.spawnError, undefined);
    });
  });
});
