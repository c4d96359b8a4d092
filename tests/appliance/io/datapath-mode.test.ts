/**
 * `--datapath auto|kernel|user`: which data path the daemon runs, and what it says. The kernel
 * path is a seam here (openKernel); the root tiers load the real one. Root: the real addon opens
 * the GENEVE sockets (127.0.0.1, an ephemeral port; no traffic).
 */
import { strict as assert } from "node:assert";
import {
  type DaemonOptions,
  type KernelPath,
  NATIVE_ADDON_PATH,
  startDatapathDaemon,
} from "@tollgate/appliance";
import { captureLogger } from "../helpers/logger";
import { testDaemonSettings } from "../helpers/settings";
import { skipUnlessRunnable, DATAPATH_VARIANTS } from "../integration/netns";

const fakeKernel = (): KernelPath & { closed: boolean } => ({
  closed: false,
  attachEndpoint() {},
  activateEndpoint() {},
  removeEndpoint() {},
  lookupFlow: () => undefined,
  canaryProbe: () => ({ via: "lost", reason: "fake kernel" }),
  sync() {},
  describe: () => ({
    uplinks: ["eth0"],
    detached: [],
    puntedForward: 0,
    puntedReturn: 0,
    flowCapacity: 1,
    canaryDecapsulated: 0,
    canaryEncapsulated: 0,
  }),
  close() {
    this.closed = true;
  },
  handoverFds: () => [],
});

const unsupported = (): KernelPath => {
  throw new Error("kernel 6.1 has no tcx (needs 6.6)");
};

function start(mode: string, openKernel: DaemonOptions["openKernel"]) {
  const { logger, lines } = captureLogger();
  const settings = {
    ...testDaemonSettings(["--datapath", mode]),
    listenAddress: "127.0.0.1",
    port: 0,
  };
  let opened = 0;
  const daemon = startDatapathDaemon({
    ...settings,
    logger,
    handleSignals: false,
    openKernel: (o, n) => {
      opened++;
      return openKernel!(o, n);
    },
  });
  return { daemon, lines, opened: () => opened };
}

describe("--datapath: which data path runs (root)", function () {
  before(function () {
    skipUnlessRunnable(this, NATIVE_ADDON_PATH, DATAPATH_VARIANTS[0]!);
  });

  it("auto runs the kernel path where it loads, and closes it at stop", async () => {
    const k = fakeKernel();
    const t = start("auto", () => k);
    assert.equal(t.daemon.status().datapath, "kernel");
    assert.deepEqual(t.daemon.status().kernel?.uplinks, ["eth0"]);
    await t.daemon.stop();
    assert.ok(k.closed, "the programs are detached at stop");
  });

  it("auto falls back to the user path and logs why", async () => {
    const t = start("auto", unsupported);
    assert.equal(t.daemon.status().datapath, "user");
    const warn = t.lines.find((l) => l.includes("using the user-space path"));
    assert.ok(warn?.includes("kernel 6.1 has no tcx (needs 6.6)"), t.lines.join(""));
    await t.daemon.stop();
  });

  it("kernel refuses to start where the kernel path cannot load, naming the reason", () => {
    assert.throws(
      () => start("kernel", unsupported),
      /--datapath kernel: kernel 6.1 has no tcx \(needs 6\.6\)/,
    );
  });

  it("user never loads the kernel path", async () => {
    const t = start("user", fakeKernel);
    assert.equal(t.opened(), 0);
    assert.equal(t.daemon.status().datapath, "user");
    await t.daemon.stop();
  });
});
