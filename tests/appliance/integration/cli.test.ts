/**
 * Root-only: the `tollgate` command as an operator runs it (reference options -c -r -p), in a
 * network namespace: health JSON and Prometheus metrics reflect the traffic, rp_filter is kept at
 * 0 on the tun interfaces even when something resets it, and SIGTERM runs the DESTROY hook and
 * removes the interfaces.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gwlbEmuEndpointId } from "@tollgate/testbed";
import { hex17, NATIVE_ADDON_PATH, tunNames } from "@tollgate/appliance";
import {
  createTestbed,
  getInNs,
  variantUnavailable,
  DATAPATH_VARIANTS,
  type DatapathVariant,
  mirredHookLines,
  writeHook,
  rootTierUnavailable,
  spawnInNs,
  waitFor,
  type NsChild,
  type Testbed,
  TOLLGATE_BIN,
} from "./netns";

const FIXTURES = path.join(__dirname, "fixtures");
const PORT = 18181;

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`tollgate command in network namespaces (root, ${variant.datapath} path)`, function () {
    this.timeout(60000);
    let bed: Testbed | undefined;
    let daemon: NsChild | undefined;
    let dir: string;
    let hookLog: string;

    /** GET from inside the appliance namespace. */
    const get = (urlPath: string): { status: number; body: string } =>
      getInNs(bed!, bed!.ap, PORT, urlPath);

    before(async function () {
      const why =
        rootTierUnavailable() ??
        (fs.existsSync(NATIVE_ADDON_PATH) ? undefined : `addon not built (${NATIVE_ADDON_PATH})`) ??
        variantUnavailable(variant);
      if (why) {
        console.log(`    skipped: ${why}`);
        this.skip();
      }
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgc2-cli-"));
      hookLog = path.join(dir, "hooks.log");
      const hook = writeHook(dir, mirredHookLines(hookLog));
      bed = createTestbed("c" + variant.suffix, { txChecksum: variant.txChecksum });
      daemon = spawnInNs(bed.ap, process.execPath, [
        TOLLGATE_BIN,
        "-c",
        hook,
        "-r",
        hook,
        "-p",
        String(PORT),
        "--json",
        "--rp-filter-interval",
        "1",
        "--datapath",
        variant.datapath,
      ]);
      await waitFor("health server", () => (get("/").status > 0 ? true : undefined), 10000).catch(
        (err) => {
          throw new Error(`${String(err)}\n${daemon?.stderr()}${daemon?.stdout()}`);
        },
      );
    });

    after(async function () {
      await daemon?.stop();
      bed?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("forwards emulator traffic byte for byte and reports it in health and /metrics", async function () {
      const emu = spawnInNs(bed!.gw, process.execPath, [
        path.join(FIXTURES, "emulate.js"),
        JSON.stringify({ target: bed!.apAddress, endpoints: 2, flowsPerSet: 4, rounds: 2 }),
      ]);
      assert.equal(await emu.exited, 0, emu.stderr());
      const s = JSON.parse(emu.stdout().trim().split("\n").pop()!) as {
        sent: number;
        valid: number;
        exact: number;
      };
      assert.ok(s.sent > 0);
      assert.equal(s.valid, s.sent);
      assert.equal(s.exact, s.sent);

      const h = get("/");
      assert.equal(h.status, 200, h.body);
      const body = JSON.parse(h.body) as {
        healthy: boolean;
        endpoints: { gwi: string; up: boolean }[];
        datapath: { counters: { txDatagrams: number } };
      };
      assert.equal(body.healthy, true);
      assert.equal(body.endpoints.length, 2);
      assert.ok(body.endpoints.every((e) => e.up));
      assert.ok(body.datapath.counters.txDatagrams >= s.sent);

      const m = get("/metrics");
      assert.equal(m.status, 200);
      assert.match(m.body, /^tollgate_\w+/m);
      assert.match(m.body, /UNKNOWN_CRITICAL_OPTION/, "every drop reason is exported");
    });

    it("keeps rp_filter at 0 on the tun interfaces, re-asserting it after a reset", async function () {
      const { gwi } = tunNames(gwlbEmuEndpointId(0));
      const file = `/proc/sys/net/ipv4/conf/${gwi}/rp_filter`;
      const read = (): string => bed!.exec(bed!.ap, "cat", [file]).trim();
      assert.equal(read(), "0");
      bed!.exec(bed!.ap, "sh", ["-c", `echo 1 > ${file}`]);
      await waitFor("rp_filter re-asserted", () => (read() === "0" ? true : undefined), 5000);
    });

    it("runs the DESTROY hook and removes the interfaces on SIGTERM", async function () {
      assert.equal(await daemon!.stop(), 0, daemon!.stderr());
      const links = bed!.exec(bed!.ap, "ip", ["-br", "link"]);
      assert.ok(!/gw[io]-/.test(links), links);
      const lines = fs.readFileSync(hookLog, "utf8").trim().split("\n");
      for (const e of [0, 1]) {
        const id = gwlbEmuEndpointId(e);
        const { gwi, gwo } = tunNames(id);
        assert.ok(lines.includes(`CREATE ${gwi} ${gwo} ${hex17(id)}`), lines.join("\n"));
        assert.ok(lines.includes(`DESTROY ${gwi} ${gwo} ${hex17(id)}`), lines.join("\n"));
      }
    });
  });
}
