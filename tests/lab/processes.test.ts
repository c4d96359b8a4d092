import { strict as assert } from "node:assert";
import {
  DEFAULT_HEALTH,
  emulatorConfig,
  execArgv,
  parseEmulatorConfig,
  planTopology,
  processSpecs,
} from "@tollgate/lab";

const paths = { node: "/usr/bin/node", labDist: "/l/dist", applianceBin: "/a/bin/tollgate.js" };
const run = {
  rulesFile: "/r/lab.yaml",
  hashMode: "5-tuple" as const,
  failover: "rebalance" as const,
  health: DEFAULT_HEALTH,
  extraTcpPorts: [23],
  extraUdpPorts: [],
};

describe("lab processes", () => {
  it("starts server, client, emulator, then the appliances, each in its namespace", () => {
    const t = planTopology({ prefix: "tgl7", stateDir: "/s" });
    const specs = processSpecs(t, run, paths);
    assert.deepEqual(
      specs.map((s) => [s.name, s.ns, s.logFile]),
      [
        ["server", "tgl7-inet", "/s/server.log"],
        ["client", "tgl7-client", "/s/client.log"],
        ["emulator", "tgl7-gwlb", "/s/emulator.log"],
        ["app1", "tgl7-app1", "/s/app1.log"],
        ["app2", "tgl7-app2", "/s/app2.log"],
      ],
    );
    assert.deepEqual(specs[3]!.argv, [
      "/usr/bin/node",
      "/a/bin/tollgate.js",
      "-p",
      "8080",
      "--rules",
      "/s/rules/rules.yaml",
      "--config",
      "/s/app1.yaml",
    ]);
    assert.deepEqual(execArgv(specs[3]!).slice(0, 4), ["ip", "netns", "exec", "tgl7-app1"]);
    const server = JSON.parse(specs[0]!.argv[3]!) as { extraTcpPorts: number[] };
    assert.deepEqual(server.extraTcpPorts, [23]);
  });

  it("runs the reflector instead of tollgate when asked", () => {
    const t = planTopology({ prefix: "tgl7", stateDir: "/s" });
    const specs = processSpecs(t, { ...run, appliance: "reflector" }, paths);
    assert.deepEqual(specs[4]!.argv, ["/usr/bin/node", "/l/dist/agent/reflector.js", "8080"]);
  });

  it("passes the emulator a config it accepts, ids in hex", () => {
    const t = planTopology({ prefix: "tgl7", stateDir: "/s" });
    const c = parseEmulatorConfig(JSON.stringify(emulatorConfig(t, run)));
    assert.equal(c.endpointIdHex, "1ab2c3d4e5f60718");
    assert.equal(c.controlSocket, "/s/emulator.sock");
    assert.deepEqual(
      c.targets.map((x) => x.address),
      ["10.10.100.11", "10.10.100.12"],
    );
    assert.throws(() => parseEmulatorConfig("{"), /not JSON/);
    assert.throws(
      () => parseEmulatorConfig(JSON.stringify({ ...emulatorConfig(t, run), hashMode: "4-tuple" })),
      /hashMode/,
    );
  });
});
