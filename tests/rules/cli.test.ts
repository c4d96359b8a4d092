/** `tollgate rules check|plan` wiring on a commander program (no root: check only, and plan with a fake kernel is covered by engine.test). */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { registerRulesCommands } from "@tollgate/appliance";
import { tollgate } from "./cli-run";

const run = tollgate;

describe("tollgate rules CLI", () => {
  const examples = path.resolve(__dirname, "../../../examples/rules");

  it("check accepts the lab example and prints the compiled documents", async () => {
    const r = await run(
      "rules",
      "check",
      path.join(examples, "lab.yaml"),
      "--endpoint",
      "vpce-01ab2c3d4e5f60718",
      "--print",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /# iptables-restore --noflush\n\*raw/);
    assert.match(r.out, /-A TOLLGATE-gwi-\S+ -p tcp -m multiport --dports 23,8081/);
    assert.match(r.out, /ip -4 rule add pref 10001 iif gwi-/);
    assert.match(r.out, /lab\.yaml: OK\n/);
  });

  it("check refuses an invalid file with line-precise errors and exit code 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-cli-"));
    try {
      const f = path.join(dir, "bad.yaml");
      fs.writeFileSync(
        f,
        "version: 1\nrules:\n  - action: drop\n    proto: tcp\n    ports: 70000\n",
      );
      const r = await run("rules", "check", f);
      assert.equal(r.code, 1);
      assert.equal(
        r.err.trim(),
        `${f}:5:12: rules[0].ports: "70000" is not a port. Fix: write a port 1-65535 or a range "8000-8100" or @name of a port set.\n${f}: 1 problem(s)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("registers plan, apply, show and remove", () => {
    const program = new Command();
    registerRulesCommands(program);
    const rules = program.commands.find((c) => c.name() === "rules")!;
    assert.deepEqual(rules.commands.map((c) => c.name()).sort(), [
      "apply",
      "check",
      "plan",
      "remove",
      "show",
    ]);
  });
});
