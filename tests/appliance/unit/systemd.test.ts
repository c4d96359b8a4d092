import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { DEFAULT_CONFIG, resolveConfig, splitCommand } from "@tollgate/appliance";

const dir = path.resolve(__dirname, "../../../../appliance/systemd");

function unitValues(text: string, key: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

describe("systemd unit and example configuration", () => {
  const unit = readFileSync(path.join(dir, "tollgate.service"), "utf8");
  const example = readFileSync(path.join(dir, "tollgate.example.yaml"), "utf8");

  it("keeps only the capabilities the appliance needs", () => {
    const caps = ["CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_PERFMON"];
    assert.deepEqual(unitValues(unit, "CapabilityBoundingSet")[0]!.split(" ").sort(), caps);
    assert.deepEqual(unitValues(unit, "AmbientCapabilities")[0]!.split(" ").sort(), caps);
    assert.deepEqual(unitValues(unit, "Restart"), ["on-failure"]);
    assert.deepEqual(unitValues(unit, "KillSignal"), ["SIGTERM"]);
    assert.deepEqual(unitValues(unit, "DeviceAllow"), ["/dev/net/tun rw"]);
    assert.deepEqual(unitValues(unit, "ProtectKernelTunables"), [], "rp_filter must stay writable");
    assert.deepEqual(unitValues(unit, "MemoryDenyWriteExecute"), [], "V8 needs W+X memory");
  });

  it("starts with arguments the CLI accepts, and the example config is valid", () => {
    const words = splitCommand(unitValues(unit, "ExecStart")[0]!);
    // $TOLLGATE_ARGS (from the optional EnvironmentFile) expands to nothing when unset.
    assert.equal(words.at(-1), "$TOLLGATE_ARGS");
    const argv = words.slice(0, -1);
    assert.equal(argv[1], "run");
    const c = resolveConfig(argv.slice(2), example);
    assert.equal(c.configFile, "/etc/tollgate/tollgate.yaml");
    assert.equal(c.health.port, 8080);
    assert.deepEqual(c.hooks.create, ["/etc/tollgate/hook.sh"]);
    assert.deepEqual(c.flows.timeouts, { tcp: 350, udp: 120, other: 120 });
  });

  it("keeps a file descriptor store for restarts, sized for the default endpoint limit", () => {
    assert.deepEqual(unitValues(unit, "NotifyAccess"), ["main"]);
    // Four per endpoint (two tuns, two tcx links) plus 64 for maps, programs, uplinks, state.
    const size = 4 * DEFAULT_CONFIG.maxEndpoints + 64;
    assert.deepEqual(unitValues(unit, "FileDescriptorStoreMax"), [String(size)]);
    assert.ok(unitValues(unit, "Environment").includes(`FDSTORE=${size}`));
    assert.ok(Number(unitValues(unit, "LimitNOFILE")[0]) > size);
  });
});
