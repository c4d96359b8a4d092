/**
 * Root-only: the real `tollgate` command in a network namespace with the default rules file
 * (examples/rules/default.yaml: mode inspect, allow all) and `--gwlb-cidr` limited to the GWLB
 * side's address. GENEVE from the GWLB crosses the kernel (gwi-X -> policy routing -> gwo-X) and
 * comes back with every inner packet intact (TTL/hop limit decremented by the forwarding hop);
 * the same traffic from another address of the GWLB-side subnet is dropped, counted as
 * SOURCE_NOT_ALLOWED and never answered.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { NATIVE_ADDON_PATH, stateFileForNetns } from "@tollgate/appliance";
import {
  createTestbed,
  DATAPATH_VARIANTS,
  skipUnlessRunnable,
  type DatapathVariant,
  spawnInNs,
  waitFor,
  type NsChild,
  type Testbed,
  TOLLGATE_BIN,
  EMULATE,
} from "./netns";

const ROOT = path.resolve(__dirname, "../../../..");
const DEFAULT_RULES = path.join(ROOT, "examples/rules/default.yaml");
const HEALTH_PORT = 18090;
const ROGUE = "10.77.0.9";

interface Summary {
  sent: number;
  valid: number;
  received: number;
  exact: number;
  ttlDecremented: number;
  problems: Record<string, number>;
}

/** GET http://<appliance>:HEALTH_PORT<urlPath> from inside the GWLB-side namespace. */
function get(bed: Testbed, urlPath: string): { status: number; body: string } {
  const script = `require("http").get({ host: ${JSON.stringify(bed.apAddress)}, port: ${HEALTH_PORT}, path: ${JSON.stringify(urlPath)}, timeout: 3000 }, (res) => { let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => process.stdout.write(JSON.stringify({ status: res.statusCode, body: b }))); }).on("error", (e) => { console.error(e.message); process.exit(1); });`;
  return JSON.parse(bed.exec(bed.gw, process.execPath, ["-e", script])) as {
    status: number;
    body: string;
  };
}

/**
 * Waits (bounded) until the daemon's health JSON lists `n` endpoints whose listeners (rules
 * apply included) have finished: traffic can come back before that (held packets are released
 * by the hold timeout), so iptables is only inspected afterwards.
 */
async function endpointsSetUp(bed: Testbed, n: number): Promise<void> {
  await waitFor(
    `${n} endpoints with their rules applied`,
    () => {
      const { endpoints } = JSON.parse(get(bed, "/?format=json").body) as {
        endpoints: { gwi: string; setupDone?: boolean }[];
      };
      return endpoints.length === n && endpoints.every((e) => e.setupDone) ? true : undefined;
    },
    20000,
  );
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m").exec(text);
  assert.ok(m, `metric ${name} missing`);
  return Number(m[1]);
}

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`default rules file and GENEVE source filter with the real daemon (root, ${variant.datapath} path)`, function () {
    this.timeout(60000);
    let bed: Testbed | undefined;
    let daemon: NsChild | undefined;
    let stateFile = "";

    before(async function () {
      skipUnlessRunnable(this, NATIVE_ADDON_PATH, variant);
      bed = createTestbed("r" + variant.suffix, { txChecksum: variant.txChecksum });
      stateFile = stateFileForNetns(bed.ap);
      bed.exec(bed.gw, "ip", ["addr", "add", `${ROGUE}/24`, "dev", "gw0"]);
      const d = spawnInNs(bed.ap, process.execPath, [
        TOLLGATE_BIN,
        "-p",
        String(HEALTH_PORT),
        "--health-address",
        "0.0.0.0",
        "--rules",
        DEFAULT_RULES,
        "--gwlb-cidr",
        `${bed.gwAddress}/32`,
        "--datapath",
        variant.datapath,
      ]);
      daemon = d;
      await waitFor(
        "daemon health server",
        () => (d.stdout().includes("health and metrics server listening") ? true : undefined),
        15000,
      ).catch((err) => {
        throw new Error(`${String(err)}\ndaemon output:\n${d.stdout()}\n${d.stderr()}`);
      });
    });

    after(async () => {
      await daemon?.stop();
      bed?.destroy();
      for (const f of [stateFile, `${stateFile}.lock`]) if (f) fs.rmSync(f, { force: true });
    });

    async function emulate(extra: Record<string, unknown>): Promise<Summary> {
      const emu = spawnInNs(bed!.gw, process.execPath, [
        EMULATE,
        JSON.stringify({
          target: bed!.apAddress,
          endpoints: 2,
          flowsPerSet: 4,
          rounds: 2,
          rate: 1000,
          ...extra,
        }),
      ]);
      const code = await emu.exited;
      assert.equal(code, 0, `emulator failed: ${emu.stderr()}`);
      return JSON.parse(emu.stdout().trim().split("\n").pop()!) as Summary;
    }

    it("passes the GWLB's traffic (TCP/UDP/ICMP, IPv4/IPv6) through the kernel, inner packets intact", async () => {
      const s = await emulate({ bindAddress: bed!.gwAddress });
      const expected = 6 * 4 * 2;
      assert.equal(s.sent, expected);
      assert.deepEqual(
        Object.entries(s.problems).filter(([, n]) => n > 0),
        [],
        `reply problems; daemon log:\n${daemon!.stdout()}`,
      );
      assert.equal(s.valid, expected, `valid replies; daemon log:\n${daemon!.stdout()}`);
      assert.equal(
        s.exact + s.ttlDecremented,
        expected,
        "every inner packet returned unchanged but for TTL",
      );
      await endpointsSetUp(bed!, 2);
      const save = bed!.exec(bed!.ap, "iptables", ["-nvxL", "FORWARD"]);
      assert.match(save, /TOLLGATE-FORWARD/);
      const chain = bed!.exec(bed!.ap, "iptables-save", ["-c", "-t", "filter"]);
      // The rule is there for every endpoint; its packet counter is not asserted: counters restart
      // whenever the rules are re-applied (each new endpoint), so a late apply would zero them. The
      // daemon's metrics (next case) are the count that holds.
      const rulesPresent = chain.match(
        /^\[\d+:\d+\] -A TOLLGATE-gwi-\S+ -m comment --comment "tollgate default allow all" -j ACCEPT$/gm,
      );
      assert.equal(rulesPresent?.length, 2, `one default rule per endpoint:\n${chain}`);
    });

    it("reports the forwarded traffic and the allowed sources in health and metrics", async () => {
      const h = get(bed!, "/?format=text");
      assert.equal(h.status, 200, h.body);
      assert.match(
        h.body,
        new RegExp(`^check geneve-sources: ok \\(only from ${bed!.gwAddress}/32\\)$`, "m"),
      );
      const m = get(bed!, "/metrics").body;
      assert.ok(metric(m, "tollgate_tun_tx_packets_total") >= 48, "inner packets written to gwi-");
      assert.ok(metric(m, "tollgate_geneve_tx_datagrams_total") >= 48, "replies sent");
      assert.equal(metric(m, 'tollgate_drops_total{reason="SOURCE_NOT_ALLOWED"}'), 0);
    });

    it("drops, counts and never answers GENEVE from another address of the subnet", async () => {
      const before = get(bed!, "/metrics").body;
      const tunBefore = metric(before, "tollgate_tun_tx_packets_total");
      // Nothing comes back: each warm-up round waits briefly.
      const s = await emulate({
        bindAddress: ROGUE,
        warmupRounds: 2,
        warmupDrainMs: 250,
        rounds: 1,
      });
      assert.equal(s.received, 0, "no reply to a source outside --gwlb-cidr");
      const after = get(bed!, "/metrics").body;
      const dropped = metric(after, 'tollgate_drops_total{reason="SOURCE_NOT_ALLOWED"}');
      assert.equal(dropped, s.sent + 2 * 6 * 4, "every rogue datagram (warm-up included) counted");
      assert.equal(metric(after, "tollgate_tun_tx_packets_total"), tunBefore, "nothing forwarded");
      const h = get(bed!, "/");
      assert.equal(h.status, 200, "rogue traffic does not make the appliance unhealthy");
    });
  });
}
