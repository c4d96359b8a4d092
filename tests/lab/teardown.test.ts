import { strict as assert } from "node:assert";
import {
  labNamespacePattern,
  listLabNamespaces,
  type ProcessControl,
  teardownLab,
  teardownOrder,
} from "@tollgate/lab";
import { RecordingRunner, type Argv } from "./recording-runner";

/** A fake system: namespaces with processes; `ip netns del` removes a namespace. */
function fakeSystem(spaces: Record<string, number[]>, stubborn: number[] = []) {
  const live = new Set(Object.values(spaces).flat());
  const signals: Array<[number, string]> = [];
  const runner = new RecordingRunner((argv: Argv) => {
    const cmd = argv.join(" ");
    if (cmd === "ip netns list")
      return {
        stdout:
          Object.keys(spaces)
            .map((n, i) => `${n} (id: ${i})`)
            .join("\n") + "\n",
      };
    if (argv[2] === "pids") return { stdout: (spaces[argv[3]!] ?? []).join("\n") + "\n" };
    if (argv[2] === "del") {
      if (!(argv[3]! in spaces)) return { code: 1, stderr: "Cannot remove namespace file" };
      delete spaces[argv[3]!];
      return {};
    }
    return {};
  });
  const pc: ProcessControl = {
    kill(pid, sig) {
      signals.push([pid, sig]);
      if (!live.has(pid)) return false;
      if (sig === "SIGKILL" || !stubborn.includes(pid)) live.delete(pid);
      return true;
    },
    alive: (pid) => live.has(pid),
    sleep: async () => undefined,
  };
  return { runner, pc, signals, live };
}

describe("lab teardown", () => {
  it("matches only the lab's own namespaces, never a longer prefix", () => {
    const re = labNamespacePattern("tg-lab");
    assert.ok(
      re.test("tg-lab-client") &&
        re.test("tg-lab-app2") &&
        re.test("tg-lab-gwlb") &&
        re.test("tg-lab-inet"),
    );
    assert.ok(!re.test("tg-lab2-client"));
    assert.ok(!re.test("tg-lab-clientx"));
    assert.ok(!re.test("xtg-lab-client"));
    assert.ok(!labNamespacePattern("t.g").test("tag-client"));
  });

  it("lists namespaces from ip netns list output", async () => {
    const { runner } = fakeSystem({
      "tgl1-client": [],
      "tgl1-gwlb": [],
      "other-ns": [],
      "tgl10-client": [],
    });
    assert.deepEqual(await listLabNamespaces(runner, "tgl1"), ["tgl1-client", "tgl1-gwlb"]);
  });

  it("orders appliances first, then the emulator, then client and internet", () => {
    assert.deepEqual(teardownOrder(["p-inet", "p-client", "p-gwlb", "p-app2", "p-app1"]), [
      "p-app1",
      "p-app2",
      "p-gwlb",
      "p-client",
      "p-inet",
    ]);
  });

  it("stops processes (TERM, then KILL for stragglers) before deleting namespaces, and verifies", async () => {
    const { runner, pc, signals, live } = fakeSystem(
      {
        "p-client": [101],
        "p-gwlb": [102],
        "p-inet": [103],
        "p-app1": [104],
        "p-app2": [105],
        "q-gwlb": [999],
      },
      [102],
    );
    const report = await teardownLab(runner, pc, "p");
    assert.deepEqual(report.namespaces, ["p-app1", "p-app2", "p-gwlb", "p-client", "p-inet"]);
    assert.deepEqual(report.terminated, [104, 105, 102, 101, 103]);
    assert.deepEqual(report.killed, [102]);
    assert.deepEqual(report.leftovers, []);
    assert.deepEqual(report.errors, []);
    assert.ok(!signals.some(([pid]) => pid === 999), "touched another lab's process");
    assert.ok(live.has(999));
    const cmds = runner.calls.map((a) => a.join(" "));
    const firstDel = cmds.findIndex((c) => c.startsWith("ip netns del"));
    const lastPids = cmds.map((c) => c.startsWith("ip netns pids")).lastIndexOf(true);
    assert.ok(lastPids < firstDel, "processes are looked up before namespaces go");
    assert.deepEqual(
      cmds.filter((c) => c.startsWith("ip netns del")),
      [
        "ip netns del p-app1",
        "ip netns del p-app2",
        "ip netns del p-gwlb",
        "ip netns del p-client",
        "ip netns del p-inet",
      ],
    );
    assert.equal(cmds.at(-1), "ip netns list", "ends by checking nothing is left");
  });

  it("keeps going when a step fails and reports leftovers", async () => {
    const { pc } = fakeSystem({});
    const runner = new RecordingRunner((argv) => {
      if (argv.join(" ") === "ip netns list") return { stdout: "p-gwlb\n" };
      if (argv[2] === "del") return { code: 1, stderr: "Device or resource busy" };
      return {};
    });
    const r = await teardownLab(runner, pc, "p");
    assert.deepEqual(r.leftovers, ["p-gwlb"]);
    assert.match(r.errors[0]!, /Device or resource busy/);
  });

  it("does nothing when no lab exists", async () => {
    const { runner, pc } = fakeSystem({ unrelated: [5] });
    const r = await teardownLab(runner, pc, "p");
    assert.deepEqual(r.namespaces, []);
    assert.ok(!runner.calls.some((a) => a[2] === "del"));
  });
});
