/**
 * SIGTERM during start-up: the daemon's signal handler is installed before the control plane has
 * started (rp_filter keeper, health server). Shutdown then waits for the start to settle and
 * closes what it opened, so the health server does not keep listening (and the process alive).
 * Root: the real addon opens the GENEVE sockets (127.0.0.1, an ephemeral port; no traffic).
 */
import { strict as assert } from "node:assert";
import {
  type ApplianceConfig,
  DEFAULT_CONFIG,
  NATIVE_ADDON_PATH,
  startDaemon,
  type SysctlFs,
} from "@tollgate/appliance";
import { fetchText } from "../helpers/http";
import { captureLogger } from "../helpers/logger";
import { datapathTierUnavailable } from "../integration/netns";
import { settlesWithin, waitFor } from "../../wait";

describe("daemon start-up interrupted by SIGTERM (root)", function () {
  before(function () {
    const why = datapathTierUnavailable(NATIVE_ADDON_PATH);
    if (why) {
      console.log(`    skipped: ${why}`);
      this.skip();
    }
  });

  it("waits for the control plane's start, then closes the health server and stops", async () => {
    // rp_filter's first read blocks until the test lets it go: start-up is mid-way.
    let reads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sysctlFs: SysctlFs = {
      read: async () => {
        reads++;
        await gate;
        return "0";
      },
      write: async () => {},
    };
    const { logger, lines: logs } = captureLogger();
    const config: ApplianceConfig = {
      ...DEFAULT_CONFIG,
      listen: { address: "127.0.0.1", port: 0 },
      health: { ...DEFAULT_CONFIG.health, port: 0, address: "127.0.0.1" },
      rpFilter: { manage: true, global: true, intervalSeconds: 0 },
    };
    const before = new Set(process.listeners("SIGTERM"));
    const starting = startDaemon(config, { logger, controlPlane: { sysctlFs } });
    const added = process.listeners("SIGTERM").filter((l) => !before.has(l));
    assert.equal(added.length, 1, "the daemon handles SIGTERM from the start");
    await waitFor("rp_filter read during start-up", () => (reads > 0 ? true : undefined), 5000);
    // The signal, delivered to the daemon's handler only (not to the test runner's).
    (added[0] as (s: NodeJS.Signals) => void)("SIGTERM");
    release();
    const daemon = await settlesWithin("start-up", starting, 5000);
    await settlesWithin("shutdown", daemon.stopped, 5000);
    const line = logs.find((l) => l.includes("health and metrics server listening"));
    assert.ok(line, `the health server was started:\n${logs.join("")}`);
    const port = (JSON.parse(line) as { port: number }).port;
    await assert.rejects(fetchText(port, "/"), /ECONNREFUSED/, "health server closed");
    assert.equal(daemon.sockets.isOpen, false, "GENEVE sockets closed");
    assert.equal(
      process.listeners("SIGTERM").filter((l) => !before.has(l)).length,
      0,
      "signal handlers removed",
    );
  });
});
