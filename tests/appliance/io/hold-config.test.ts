/** The hold queue's knobs: defaults, file, command line, validation, --help. */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { buildProgram, DEFAULT_CONFIG, resolveConfig } from "@tollgate/appliance";
import { problems } from "../helpers/config-problems";
import { testDaemonSettings } from "../helpers/settings";

describe("hold queue configuration", () => {
  it("defaults to 3 s, 256 packets, 1 MiB, and the data path gets them", () => {
    const c = resolveConfig([]);
    assert.deepEqual(c.hold, DEFAULT_CONFIG.hold);
    assert.deepEqual(c.hold, { timeoutSeconds: 3, maxPackets: 256, maxBytes: 1 << 20 });
    const d = testDaemonSettings().datapath;
    assert.deepEqual([d.holdTimeoutMs, d.holdMaxPackets, d.holdMaxBytes], [3000, 256, 1 << 20]);
  });

  it("merges defaults < file < command line, 0 disables holding", () => {
    const file = "hold:\n  timeout: 0.5\n  maxPackets: 10\n  maxBytes: 20000\n";
    const c = resolveConfig(["--config", "t.yaml", "--hold-packets", "32"], file);
    assert.deepEqual(c.hold, { timeoutSeconds: 0.5, maxPackets: 32, maxBytes: 20000 });
    assert.equal(resolveConfig(["--hold-timeout", "0"]).hold.timeoutSeconds, 0);
  });

  it("rejects bad values with the flag or file position", () => {
    const p = problems(() =>
      resolveConfig(["--hold-timeout", "-1", "--hold-packets", "0", "--hold-bytes", "1.5"]),
    );
    for (const flag of ["--hold-timeout", "--hold-packets", "--hold-bytes"]) {
      assert.ok(
        p.some((x) => x.startsWith(`tollgate: ${flag}:`) || x.includes(flag)),
        `${flag}: ${p.join("; ")}`,
      );
    }
    const f = problems(() => resolveConfig(["--config", "t.yaml"], "hold:\n  colour: red\n"));
    assert.ok(
      f.some((x) => /^t\.yaml:2:\d+: hold\.colour: /.test(x)),
      f.join("; "),
    );
  });

  it("documents the options in --help and the example file", () => {
    const program = buildProgram();
    let help = "";
    program.configureOutput({ writeOut: (s) => (help += s) });
    program.exitOverride();
    assert.throws(() => program.parse(["node", "tollgate", "--help"]));
    for (const flag of ["--hold-timeout", "--hold-packets", "--hold-bytes"]) {
      assert.ok(help.includes(flag), `--help lacks ${flag}`);
    }
    const example = readFileSync(
      path.join(__dirname, "../../../../appliance/systemd/tollgate.example.yaml"),
      "utf8",
    );
    assert.deepEqual(resolveConfig(["--config", "x"], example).hold, DEFAULT_CONFIG.hold);
  });
});
