/**
 * Root-only: a restart through systemd's file descriptor store, with the test playing systemd
 * (the addon's notifyBind/notifyReceive): the daemon runs with NOTIFY_SOCKET pointed at the
 * test's socket, paced GENEVE traffic crosses it, SIGTERM makes it store its descriptors and
 * exit, traffic goes on while no daemon runs, and a new daemon started with those descriptors
 * as LISTEN_FDS adopts them. In both data paths the interfaces keep their ifindex and the CREATE
 * hook does not run again; the kernel path loses no reply at all (programs swapped inside the
 * same tcx links), the user path loses only what arrived while no daemon read the socket. Then
 * closing the stored descriptors (what `systemctl stop` does) removes the tuns and detaches the
 * programs.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gwlbEmuEndpointId } from "@tollgate/testbed";
import {
  loadNative,
  NATIVE_ADDON_PATH,
  parseFdName,
  tunNames,
  type NamedFd,
  type NativeAddon,
} from "@tollgate/appliance";
import {
  createTestbed,
  DATAPATH_VARIANTS,
  mirredHookLines,
  rootTierUnavailable,
  spawnInNs,
  variantUnavailable,
  waitFor,
  writeHook,
  type DatapathVariant,
  type NsChild,
  type Testbed,
  TOLLGATE_BIN,
} from "./netns";

const PACED = path.join(__dirname, "fixtures", "paced.js");
const ENDPOINTS = 2;
const RATE = 500;
const DURATION_MS = 8000;
/** How long no daemon runs between the first one's exit and the second one's start. */
const DOWN_MS = 1000;

interface Paced {
  sent: number;
  valid: number;
  exact: number;
  lost: number;
  rttMs: { p50?: number; p99?: number };
  answered: number[];
}

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`restart through the fd store (root, ${variant.datapath} path)`, function () {
    this.timeout(60000);
    let native: NativeAddon;
    let bed: Testbed | undefined;
    let dir = "";
    let hookLog = "";
    let hook = "";
    let socketPath = "";
    let socket = -1;
    let daemon: NsChild | undefined;
    let traffic: NsChild | undefined;
    /** Every descriptor received from the daemons (closed in the last test, or in after()). */
    const received: NamedFd[] = [];
    let stored: NamedFd[] = [];
    /** Names the daemons asked the store to forget (FDSTOREREMOVE=1). */
    const removed: string[] = [];
    const ifindexes = (): Map<string, number> => {
      const links = JSON.parse(bed!.exec(bed!.ap, "ip", ["-j", "link"])) as {
        ifname: string;
        ifindex: number;
      }[];
      return new Map(links.map((l) => [l.ifname, l.ifindex]));
    };
    const tuns = ENDPOINTS_IDS().flatMap((id) => Object.values(tunNames(id)));
    let atStart: Map<string, number>;
    let linkIds: Map<string, { id: number; progId: number }>;
    let termAt = 0;
    let readyAt = 0;

    /** Starts `tollgate run` in the appliance namespace as systemd would, with `inherited` fds. */
    const start = (inherited: readonly NamedFd[]): NsChild => {
      const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: socketPath, FDSTORE: "256" };
      delete env.LISTEN_FDS;
      delete env.LISTEN_FDNAMES;
      if (inherited.length > 0) {
        env.LISTEN_FDS = String(inherited.length);
        env.LISTEN_FDNAMES = inherited.map((f) => f.name).join(":");
      }
      return spawnInNs(
        bed!.ap,
        "sh",
        [
          "-c",
          'export LISTEN_PID=$$; exec "$0" "$@"',
          process.execPath,
          TOLLGATE_BIN,
          "-c",
          hook,
          "-r",
          hook,
          "--json",
          "--datapath",
          variant.datapath,
        ],
        { env, fds: inherited.map((f) => f.fd) },
      );
    };
    const listening = (d: NsChild) =>
      waitFor(
        "daemon listening",
        () => (/GENEVE data path listening/.test(d.stdout() + d.stderr()) ? true : undefined),
        15000,
      ).catch((err) => {
        throw new Error(`${String(err)}\n${d.stdout()}${d.stderr()}`);
      });
    /** What the daemon stored: every queued notify message, FDSTORE=1 with its FDNAME. */
    const drain = (): NamedFd[] => {
      const out: NamedFd[] = [];
      for (let m = native.notifyReceive(socket); m !== null; m = native.notifyReceive(socket)) {
        const lines = m.message.split("\n");
        if (lines.includes("FDSTOREREMOVE=1")) {
          removed.push(lines.find((l) => l.startsWith("FDNAME="))!.slice("FDNAME=".length));
          continue;
        }
        assert.ok(lines.includes("FDSTORE=1"), m.message);
        assert.equal(m.truncated, false);
        const name = lines.find((l) => l.startsWith("FDNAME="))!.slice("FDNAME=".length);
        for (const fd of m.fds) {
          out.push({ name, fd });
          received.push({ name, fd });
        }
      }
      return out;
    };
    /**
     * What the daemon stores on SIGTERM. The socket is read all along, as systemd does: a unix
     * datagram queue holds only net.unix.max_dgram_qlen (10) messages, senders wait for room.
     */
    let inbox: NamedFd[] = [];
    let reader: NodeJS.Timeout | undefined;
    const stopStoring = async (d: NsChild): Promise<{ code: number | string; fds: NamedFd[] }> => {
      inbox = [];
      const code = await d.stop();
      inbox.push(...drain());
      return { code, fds: inbox };
    };
    const closeReceived = (): void => {
      for (const f of received.splice(0)) native.closeFd(f.fd);
    };

    before(async function () {
      const why =
        rootTierUnavailable() ??
        (fs.existsSync(NATIVE_ADDON_PATH) ? undefined : `addon not built (${NATIVE_ADDON_PATH})`) ??
        variantUnavailable(variant);
      if (why) {
        console.log(`    skipped: ${why}`);
        this.skip();
      }
      native = loadNative();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgc2-restart-"));
      hookLog = path.join(dir, "hooks.log");
      hook = writeHook(dir, mirredHookLines(hookLog));
      // A path, not an abstract name: abstract unix sockets belong to a network namespace.
      socketPath = path.join(dir, "notify.sock");
      socket = native.notifyBind(socketPath);
      reader = setInterval(() => inbox.push(...drain()), 5);
      bed = createTestbed("r" + variant.suffix, { txChecksum: variant.txChecksum });
      daemon = start([]);
      await listening(daemon);
      traffic = spawnInNs(bed.gw, process.execPath, [
        PACED,
        JSON.stringify({
          target: bed.apAddress,
          endpoints: ENDPOINTS,
          flowsPerSet: 4,
          rate: RATE,
          durationMs: DURATION_MS,
        }),
      ]);
      await waitFor(
        "warm-up",
        () => (traffic!.stdout().includes('"warm"') ? true : undefined),
        30000,
      );
    });

    after(async function () {
      if (reader) clearInterval(reader);
      await traffic?.stop();
      await daemon?.stop();
      if (native) closeReceived();
      if (socket >= 0) native.closeFd(socket);
      bed?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("on SIGTERM stores every descriptor of the data path and leaves the interfaces", async function () {
      atStart = ifindexes();
      for (const t of tuns) assert.ok(atStart.has(t), `${t} exists`);
      await new Promise((r) => setTimeout(r, 1000)); // traffic crossing the first daemon
      termAt = Date.now();
      const first = await stopStoring(daemon!);
      assert.equal(first.code, 0, daemon!.stdout() + daemon!.stderr());
      stored = first.fds;
      const names = stored.map((f) => f.name);
      assert.ok(
        names.every((n) => parseFdName(n) !== undefined),
        names.join(" "),
      );
      assert.equal(new Set(names).size, names.length, "each stored once");
      for (const id of ENDPOINTS_IDS()) {
        const hex = id.toString(16).padStart(17, "0");
        for (const side of ["gwi", "gwo"]) {
          assert.ok(names.includes(`tg-tun-${side}-${hex}`), names.join(" "));
          if (variant.datapath === "kernel") assert.ok(names.includes(`tg-link-${side}-${hex}`));
        }
      }
      assert.ok(names.includes("tg-state"));
      assert.ok(names.includes("tg-geneve-socket"));
      if (variant.datapath === "kernel") {
        for (const m of ["tg_flows", "tg_endpoints", "tg_ifaces", "tg_counters", "tg_config"]) {
          assert.ok(names.includes(`tg-map-${m}`), names.join(" "));
        }
        assert.ok(
          names.some((n) => n.startsWith("tg-uplink-")),
          names.join(" "),
        );
        linkIds = new Map(
          stored
            .filter((f) => /^tg-(link|uplink)-/.test(f.name))
            .map((f) => [f.name, native.bpfLinkIds(f.fd)]),
        );
      }
      // No daemon runs: the interfaces are still there, with their ifindex.
      const now = ifindexes();
      for (const t of tuns) assert.equal(now.get(t), atStart.get(t), t);
      assert.ok(!/^DESTROY/m.test(fs.readFileSync(hookLog, "utf8")), "no DESTROY hook ran");
      assert.ok(!fs.existsSync("/sys/fs/bpf/tollgate/geneve-6081/tg_flows"), "nothing pinned");
    });

    it("a new daemon adopts them: same interfaces, no CREATE hook, traffic kept flowing", async function () {
      const wait = termAt + DOWN_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Everything but what the first daemon closed itself (the state memfd is read and closed).
      daemon = start(stored);
      await listening(daemon);
      readyAt = Date.now();
      const out = daemon.stdout() + daemon.stderr();
      assert.match(out, /restart: taking over the previous daemon's data path/);
      assert.match(out, new RegExp(`"endpoints":${ENDPOINTS}`));
      assert.doesNotMatch(out, /not adopted/);
      const now = ifindexes();
      for (const t of tuns) assert.equal(now.get(t), atStart.get(t), t);

      assert.equal(await traffic!.exited, 0, traffic!.stderr());
      const p = JSON.parse(traffic!.stdout().trim().split("\n").pop()!) as Paced;
      const downMs = readyAt - termAt;
      console.log(
        `      ${variant.datapath}: sent ${p.sent}, answered ${p.valid} (exact ${p.exact}), lost ${p.lost}; ` +
          `no daemon / not yet adopted for ${downMs} ms (SIGTERM to listening); ` +
          `rtt p50 ${p.rttMs.p50?.toFixed(2)} ms, p99 ${p.rttMs.p99?.toFixed(0)} ms`,
      );
      assert.ok(p.sent > 0);
      assert.equal(p.exact, p.valid, "every answer byte-exact");
      if (variant.datapath === "kernel") {
        assert.equal(p.lost, 0, "kernel path: no reply lost across the restart");
        for (const [name, ids] of linkIds) {
          const f = stored.find((s) => s.name === name)!;
          const nowIds = native.bpfLinkIds(f.fd);
          assert.equal(nowIds.id, ids.id, `${name}: same link`);
          assert.notEqual(nowIds.progId, ids.progId, `${name}: new program swapped in`);
        }
      } else {
        // The stored socket queued what arrived meanwhile: answered late, not lost. What can
        // be lost: replies already waiting in gwo-X at SIGTERM (their flow records died with
        // the first daemon): at most a batch, well under 1%.
        assert.ok(p.lost <= p.sent / 100, `lost ${p.lost} of ${p.sent}`);
        const inGap = p.answered.filter((t) => t > termAt && t < readyAt).length;
        assert.ok(inGap > 0, "packets sent while no daemon ran were answered");
      }
      const hooks = fs.readFileSync(hookLog, "utf8").trim().split("\n");
      assert.equal(hooks.filter((l) => l.startsWith("CREATE")).length, ENDPOINTS, hooks.join("\n"));
    });

    it("closing the stored descriptors (systemctl stop) removes the tuns and detaches the programs", async function () {
      const second = await stopStoring(daemon!);
      assert.equal(second.code, 0, daemon!.stdout() + daemon!.stderr());
      const again = second.fds;
      // The second daemon made the store forget what it had adopted, before storing anew.
      assert.deepEqual(
        [...new Set(stored.map((f) => f.name))].filter((n) => !removed.includes(n)),
        [],
        "every adopted name removed from the store",
      );
      assert.ok(again.length >= stored.length - 1, "the second daemon stored them again");
      closeReceived();
      await waitFor(
        "tuns removed",
        () => (tuns.every((t) => !ifindexes().has(t)) ? true : undefined),
        5000,
      );
      if (variant.datapath === "kernel") {
        await waitFor(
          "tcx programs detached",
          () =>
            /tg_(de|en)cap/.test(bed!.exec(bed!.ap, "bpftool", ["net", "show"])) ? undefined : true,
          5000,
        );
      }
      assert.ok(!/^DESTROY/m.test(fs.readFileSync(hookLog, "utf8")), "stop runs no DESTROY hook");
    });
  });
}

function ENDPOINTS_IDS(): bigint[] {
  return Array.from({ length: ENDPOINTS }, (_, e) => gwlbEmuEndpointId(e));
}
