import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NATIVE_ADDON_PATH } from "@tollgate/appliance";
import {
  DEFAULT_HEALTH,
  DEFAULT_RULES_FILE,
  defaultPaths,
  gatherFacts,
  type LabSessionResult,
  preflightProblems,
  runLabSession,
} from "@tollgate/lab";
import { settlesWithin } from "../wait";

/**
 * End-to-end tier: the lab's scripted demo in network namespaces made by the test (root only).
 * Prefix tgl<pid>: nothing collides with another run; traffic stays inside these namespaces.
 */

function leftoverNamespaces(prefix: string): string[] {
  return execFileSync("ip", ["netns", "list"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));
}

/** Namespaces and host interfaces named after the prefix (the lab never creates host interfaces). */
function hostLeftovers(prefix: string): string[] {
  const links = execFileSync("ip", ["-o", "link", "show"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  })
    .split("\n")
    .filter((l) => l.includes(prefix));
  return [...leftoverNamespaces(prefix), ...links];
}

function cleanup(prefix: string): void {
  for (const n of leftoverNamespaces(prefix))
    execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
}

/** Why the lab cannot run here, or undefined. */
function cannotRun(needAppliance: boolean): string | undefined {
  const { problems } = preflightProblems(
    gatherFacts(NATIVE_ADDON_PATH, defaultPaths().applianceBin, needAppliance),
  );
  return problems.length > 0 ? problems.join("; ") : undefined;
}

function byId(r: LabSessionResult, id: string) {
  const s = r.demo?.steps.find((x) => x.id === id);
  assert.ok(s, `step ${id} ran (steps: ${r.demo?.steps.map((x) => x.id).join(", ")})`);
  return s;
}

function expectPass(r: LabSessionResult, id: string) {
  const s = byId(r, id);
  assert.equal(s.status, "pass", `${s.title}: ${s.detail}`);
  return s;
}

async function session(
  prefix: string,
  rulesFile: string,
  appliance: "tollgate" | "reflector",
  expectError = false,
  modes: { hashMode: "5-tuple" | "3-tuple" | "2-tuple"; failover: "rebalance" | "no_rebalance" } = {
    hashMode: "5-tuple",
    failover: "rebalance",
  },
): Promise<LabSessionResult> {
  const lines: string[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  try {
    const r = await runLabSession({
      prefix,
      stateDir,
      rulesFile,
      ...modes,
      health: DEFAULT_HEALTH,
      appliance,
      log: (l) => lines.push(l),
      print: (l) => lines.push(l),
      handleSignals: false,
    });
    const unexpected = expectError ? !r.error : !r.demo?.passed || r.error;
    if (process.env["TOLLGATE_LAB_VERBOSE"] || unexpected) console.log(lines.join("\n"));
    return r;
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

describe("lab end to end (root, network namespaces)", function () {
  this.timeout(90_000);

  it("emulator, topology and failover with a GENEVE reflector as the appliance", async function () {
    const why = cannotRun(false);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    const prefix = `tgl${process.pid}r`;
    const rules = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tgl-rules-")), "allow.yaml");
    fs.writeFileSync(rules, "version: 1\ndefaults: { mode: inspect, policy: allow }\n");
    try {
      // A bounded wait, not a timing assertion: the whole session (up, demo, down) must finish.
      const r = await settlesWithin("the lab session", session(prefix, rules, "reflector"), 60_000);
      assert.equal(r.error, undefined);
      for (const id of ["http", "udp-echo", "tcp-echo", "failover", "after-failover"])
        expectPass(r, id);
      assert.ok(["pass", "skip"].includes(byId(r, "ping").status));
      assert.equal(byId(r, "blocked").status, "skip", "an allow-all file blocks nothing");
      assert.ok(r.report.some((l) => l.startsWith("Follow the packet: HTTP GET (tcp 10.10.1.10:")));
      assert.ok(r.report.some((l) => /^timing: up .* s \(target < 30 s\)$/.test(l)));
      assert.deepEqual(r.teardown?.leftovers, []);
      assert.deepEqual(hostLeftovers(prefix), []);
    } finally {
      fs.rmSync(path.dirname(rules), { recursive: true, force: true });
      cleanup(prefix);
    }
  });

  it("the scripted demo with the real tollgate daemon and the lab rules file", async function () {
    const why = cannotRun(true);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    const prefix = `tgl${process.pid}t`;
    try {
      const r = await session(prefix, DEFAULT_RULES_FILE, "tollgate");
      assert.equal(r.error, undefined);
      expectPass(r, "http");
      expectPass(r, "http6");
      expectPass(r, "udp-echo");
      const blocked = r.demo!.steps.filter((s) => s.id.startsWith("blocked-"));
      assert.ok(blocked.length >= 1, "the lab rules block at least one port");
      for (const s of blocked) expectPass(r, s.id);
      assert.equal(
        byId(r, "tcp-echo").status,
        "pass",
        "TCP echo is not in the lab rules: the default policy drops it",
      );
      assert.ok(["pass", "skip"].includes(byId(r, "ping").status));
      expectPass(r, "failover");
      expectPass(r, "after-failover");
      assert.ok(r.demo!.passed);
      assert.deepEqual(r.teardown?.leftovers, []);
      assert.deepEqual(hostLeftovers(prefix), []);
    } finally {
      cleanup(prefix);
    }
  });

  it("tears everything down on Ctrl-C (SIGINT) in the middle of the demo", async function () {
    const why = cannotRun(false);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    const prefix = `tgl${process.pid}i`;
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    const bin = path.resolve(__dirname, "..", "..", "..", "lab", "bin", "tollgate-lab.js");
    try {
      const child = spawn(
        process.execPath,
        [bin, "demo", "--appliance", "reflector", "--prefix", prefix, "--state-dir", stateDir],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the demo did not start:\n${out}`)),
          30_000,
        );
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("▶ ")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      });
      assert.ok(leftoverNamespaces(prefix).length === 5, "the lab was up when interrupted");
      child.kill("SIGINT");
      assert.equal(await exited, 130, out);
      assert.match(out, /SIGINT: tearing the lab down/);
      assert.deepEqual(hostLeftovers(prefix), []);
      assert.ok(
        !fs.existsSync(stateDir) || fs.readdirSync(stateDir).length === 0,
        "state directory removed",
      );
    } finally {
      cleanup(prefix);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("lab up leaves a running lab; a demo with the same prefix refuses and leaves it alone; lab down removes it", async function () {
    const why = cannotRun(false);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    const prefix = `tgl${process.pid}u`;
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    const bin = path.resolve(__dirname, "..", "..", "..", "lab", "bin", "tollgate-lab.js");
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [bin, ...args, "--prefix", prefix, "--state-dir", stateDir], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    try {
      assert.match(cli("up", "--appliance", "reflector"), new RegExp(`lab ${prefix} is up`));
      assert.equal(leftoverNamespaces(prefix).length, 5);
      const status = JSON.parse(cli("status", "--json")) as {
        emulator?: { targets: Array<{ state: string }> };
      };
      assert.deepEqual(
        status.emulator?.targets.map((t) => t.state),
        ["healthy", "healthy"],
      );
      const r = await session(prefix, DEFAULT_RULES_FILE, "reflector", true);
      assert.match(r.error ?? "", /exists already/);
      assert.equal(r.teardown, undefined);
      assert.equal(leftoverNamespaces(prefix).length, 5, "the running lab was left alone");
      cli("down");
      assert.deepEqual(hostLeftovers(prefix), []);
    } finally {
      cleanup(prefix);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("2-tuple hashing with no_rebalance: a failed target keeps its flows, as on AWS", async function () {
    const why = cannotRun(false);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
    const prefix = `tgl${process.pid}n`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgl-rules-"));
    const rules = path.join(dir, "allow.yaml");
    fs.writeFileSync(rules, "version: 1\ndefaults: { mode: inspect, policy: allow }\n");
    try {
      const r = await session(prefix, rules, "reflector", false, {
        hashMode: "2-tuple",
        failover: "no_rebalance",
      });
      assert.equal(r.error, undefined);
      const failover = expectPass(r, "failover");
      assert.match(failover.detail, /no_rebalance: its 8 flow\(s\) stayed on it and went dark/);
      const after = expectPass(r, "after-failover");
      assert.match(after.detail, /pinned to dead app\d \(no_rebalance\)/);
      assert.deepEqual(hostLeftovers(prefix), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      cleanup(prefix);
    }
  });
});
