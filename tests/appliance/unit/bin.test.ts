import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "../../../..");

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(root, script), ...args], {
    encoding: "utf8",
    timeout: 20_000,
  });
}

describe("tollgate executables", () => {
  it("tollgate --help documents the daemon options and exits 0", () => {
    const r = run("appliance/bin/tollgate.js", ["--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /-c, --cmdnew <command>/);
    assert.match(r.stdout, /--flow-timeout-tcp <seconds>/);
  });

  it("tollgate rejects a bad configuration with status 2 before touching the system", () => {
    const r = run("appliance/bin/tollgate.js", ["-p", "http", "--mtu", "1"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tollgate: -p\/--port: expected an integer/);
    assert.match(r.stderr, /tollgate: --mtu: expected an integer from 576 to 9001/);
  });

  it("tollgate-emu (testbed) runs the GWLB emulator; tollgate itself has no emu command", () => {
    const r = run("testbed/bin/tollgate-emu.js", ["emu", "--help"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: tollgate-emu emu/);
    assert.match(r.stdout, /--audit-checksums/);
    const app = run("appliance/bin/tollgate.js", ["--help"]);
    assert.doesNotMatch(app.stdout, /\bemu\b/);
  });
});
