/**
 * Root-only integration tier for the GENEVE data path: a GWLB-side namespace running the
 * project's emulator and an appliance namespace running the daemon with a gwlbtun-style hook that
 * redirects gwi-X to gwo-X (tc u32 + mirred), so every inner packet comes back byte for byte.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateFlows, gwlbEmuEndpointId, malformedDatagrams } from "@tollgate/testbed";
import { type DaemonStatus, hex17, NATIVE_ADDON_PATH, tunNames } from "@tollgate/appliance";
import {
  DATAPATH_VARIANTS,
  skipUnlessRunnable,
  KERNEL_WITH_TX_OFFLOAD,
  spawnInNs,
  startDaemonBed,
  waitFor,
  type DaemonBed,
  type DatapathVariant,
  type NsChild,
  type Testbed,
} from "./netns";

const FIXTURES = path.join(__dirname, "fixtures");
const ENDPOINTS = 3;
const ROUNDS = 3;
const SETS = 6; // udp/tcp/icmp x IPv4/IPv6
const FLOWS_PER_SET = 6;

interface Summary {
  sent: number;
  malformedSent: number;
  received: number;
  valid: number;
  invalid: number;
  exact: number;
  problems: Record<string, number>;
  lost: number;
  warmupSent: number;
}

function udpInCsumErrors(bed: Testbed, ns: string): number {
  const snmp = bed.exec(ns, "cat", ["/proc/net/snmp"]).split("\n");
  const rows = snmp.filter((l) => l.startsWith("Udp:"));
  const names = rows[0]!.split(/\s+/);
  const values = rows[1]!.split(/\s+/);
  return Number(values[names.indexOf("InCsumErrors")]);
}

function linkStats(bed: Testbed, name: string): { mtu: number; up: boolean; rxPackets: number } {
  const j = JSON.parse(bed.exec(bed.ap, "ip", ["-s", "-j", "link", "show", name])) as {
    mtu: number;
    flags: string[];
    stats64: { rx: { packets: number } };
  }[];
  return { mtu: j[0]!.mtu, up: j[0]!.flags.includes("UP"), rxPackets: j[0]!.stats64.rx.packets };
}

for (const variant of [...DATAPATH_VARIANTS, KERNEL_WITH_TX_OFFLOAD]) describeDatapath(variant);

function describeDatapath(variant: DatapathVariant): void {
  describe(`appliance data path in network namespaces (root, ${variant.datapath} path, veth TX checksum offload ${variant.txChecksum ? "on" : "off"})`, function () {
    this.timeout(60000);
    let tb: DaemonBed | undefined;
    let bed: Testbed | undefined;
    let daemon: NsChild | undefined;
    let hookLog = "";
    const status = (): DaemonStatus => tb!.status();

    before(async function () {
      skipUnlessRunnable(this, NATIVE_ADDON_PATH, variant);
      // gwlbtun-style hook: log the call, pass gwi-X straight to gwo-X (tc u32 + mirred).
      tb = await startDaemonBed({
        tag: "d",
        variant,
        hookLines: (dir) => {
          hookLog = path.join(dir, "hooks.log");
          return [
            `echo "$*" >> ${hookLog}`,
            '[ "$1" = CREATE ] || exit 0',
            'tc qdisc add dev "$2" ingress',
            'exec tc filter add dev "$2" parent ffff: protocol all prio 2 u32 match u32 0 0 action mirred egress redirect dev "$3"',
          ];
        },
      });
      bed = tb.bed;
      daemon = tb.daemon;
    });

    after(async function () {
      await tb?.destroy();
    });

    let summary: Summary;

    it("echoes every packet of several endpoints (TCP/UDP/ICMP, IPv4/IPv6) byte for byte", async function () {
      const emu = spawnInNs(bed!.gw, process.execPath, [
        path.join(FIXTURES, "emulate.js"),
        JSON.stringify({
          target: bed!.apAddress,
          endpoints: ENDPOINTS,
          flowsPerSet: FLOWS_PER_SET,
          rounds: ROUNDS,
          rate: 2000,
          malformed: true,
          // A warm-up round waits for its replies as long as the daemon holds packets (15 s).
          warmupDrainMs: 20000,
        }),
      ]);
      const code = await emu.exited;
      assert.equal(code, 0, `emulator failed: ${emu.stderr()}`);
      summary = JSON.parse(emu.stdout().trim().split("\n").pop()!) as Summary;
      const expected = SETS * FLOWS_PER_SET * ROUNDS;
      assert.equal(summary.sent, expected);
      assert.deepEqual(
        Object.entries(summary.problems).filter(([, n]) => n > 0),
        [],
        "reply problems (wrong header, source port, checksum, inner bytes...)",
      );
      assert.equal(
        summary.valid,
        expected,
        `valid replies (lost ${summary.lost}): ${JSON.stringify(status().counters)}`,
      );
      assert.equal(summary.exact, expected, "inner packets returned unchanged");
      assert.equal(udpInCsumErrors(bed!, bed!.gw), 0, "replies with a bad UDP checksum");
      assert.equal(status().datapath, variant.datapath, "the data path asked for runs");
      if (variant.datapath === "kernel") {
        // Every measured round (after the warm-up) crossed the kernel path both ways. The status
        // file is rewritten every 100 ms: wait until it has caught up.
        const sum = (f: (k: { toGwi: number; fromTuns: number }) => number): number =>
          status().endpoints.reduce((n, e) => n + (e.kernelPackets ? f(e.kernelPackets) : 0), 0);
        const caughtUp = (): true | undefined =>
          sum((k) => k.toGwi) >= expected && sum((k) => k.fromTuns) >= expected ? true : undefined;
        await waitFor("kernel path counts", caughtUp).catch(() => undefined);
        const kernelIn = sum((k) => k.toGwi);
        const kernelOut = sum((k) => k.fromTuns);
        assert.ok(kernelIn >= expected, `kernel redirected ${kernelIn} of ${expected} into gwi-`);
        assert.ok(kernelOut >= expected, `kernel encapsulated ${kernelOut} of ${expected} replies`);
      }
    });

    it("names each endpoint's interfaces gwi-/gwo-<base60 id>, MTU 8500, up", function () {
      const s = status();
      const want = Array.from({ length: ENDPOINTS }, (_, e) => tunNames(gwlbEmuEndpointId(e)));
      assert.deepEqual(s.endpoints.map((e) => e.gwi).sort(), want.map((w) => w.gwi).sort());
      for (const w of want) {
        for (const name of [w.gwi, w.gwo]) {
          const l = linkStats(bed!, name);
          assert.equal(l.mtu, 8500, `${name} MTU`);
          assert.ok(l.up, `${name} up`);
        }
      }
      assert.ok(s.endpoints.every((e) => e.up));
    });

    it("held each new endpoint's first packets until its CREATE hook ran: the first round came back whole", function () {
      // Without the hold queue the first packets reached gwi- before the hook had installed the
      // pass-through and were lost, so the warm-up needed a second round.
      assert.equal(summary.warmupSent, SETS * FLOWS_PER_SET, "one warm-up round was enough");
      const s = status();
      assert.equal(s.counters.holdTimeouts, 0, "every hold ended with the hook, not the timeout");
      assert.ok(s.counters.holdQueued > 0, "packets were held");
      assert.equal(s.counters.holdFlushed, s.counters.holdQueued);
      assert.equal(s.counters.drops.HOLD_QUEUE_FULL + s.counters.drops.HOLD_ABANDONED, 0);
    });

    it("wrote each endpoint's inner packets to its gwi- interface", function () {
      const perEndpoint = (summary.warmupSent + summary.sent) / ENDPOINTS;
      const eps = status().endpoints;
      for (let e = 0; e < ENDPOINTS; e++) {
        const { gwi } = tunNames(gwlbEmuEndpointId(e));
        // The tun counts what the daemon wrote; what tg_decap redirected bypasses its driver.
        const kernel = eps.find((x) => x.gwi === gwi)?.kernelPackets?.toGwi ?? 0;
        assert.equal(
          linkStats(bed!, gwi).rxPackets + kernel,
          perEndpoint,
          `${gwi} received packets`,
        );
      }
    });

    it("ran the CREATE hook once per endpoint with gwi, gwo and the 17-digit hex id", function () {
      const lines = fs.readFileSync(hookLog, "utf8").trim().split("\n").sort();
      const want = Array.from({ length: ENDPOINTS }, (_, e) => {
        const id = gwlbEmuEndpointId(e);
        const { gwi, gwo } = tunNames(id);
        return `CREATE ${gwi} ${gwo} ${hex17(id)}`;
      }).sort();
      assert.deepEqual(lines, want);
    });

    it("dropped and counted every malformed datagram by reason, good traffic unaffected", async function () {
      // The status file is rewritten every 100 ms: wait until it has caught up with all traffic.
      const total = summary.warmupSent + summary.sent + summary.malformedSent;
      const s = await waitFor("status with every datagram", () => {
        const st = status();
        return st.counters.rxDatagrams >= total ? st : undefined;
      }).catch(() => status());
      const flow = generateFlows({ flows: 1 })[0]!;
      const expected: Record<string, number> = {};
      for (const m of malformedDatagrams(flow, flow.inner)) {
        expected[m.reason] = (expected[m.reason] ?? 0) + 1;
      }
      assert.equal(
        summary.malformedSent,
        Object.values(expected).reduce((a, b) => a + b, 0),
      );
      for (const [reason, n] of Object.entries(expected)) {
        assert.equal(
          s.counters.drops[reason as keyof typeof s.counters.drops],
          n,
          `drops.${reason}`,
        );
      }
      assert.equal(s.counters.drops.TUN_WRITE_ERROR, 0);
      assert.equal(s.counters.drops.SEND_ERROR, 0);
      assert.equal(
        s.counters.rxDatagrams,
        summary.warmupSent + summary.sent + summary.malformedSent,
      );
      assert.equal(s.counters.tunTxPackets, summary.warmupSent + summary.sent);
    });

    it("drops and counts packets from gwo- that belong to no known flow", async function () {
      const { gwo } = tunNames(gwlbEmuEndpointId(0));
      const before = status().counters.drops.UNKNOWN_FLOW;
      bed!.exec(bed!.ap, "ip", ["route", "add", "192.0.2.0/24", "dev", gwo]);
      bed!.exec(bed!.ap, "bash", ["-c", "echo stray > /dev/udp/192.0.2.9/9"]);
      await waitFor("UNKNOWN_FLOW drop", () =>
        status().counters.drops.UNKNOWN_FLOW > before ? true : undefined,
      );
    });

    it("runs DESTROY hooks and removes every interface on SIGTERM", async function () {
      const code = await daemon!.stop();
      assert.equal(code, 0, `daemon exit: ${daemon!.stderr().slice(-2000)}`);
      const links = bed!.exec(bed!.ap, "ip", ["-br", "link"]);
      assert.ok(!/gw[io]-/.test(links), `interfaces left behind:\n${links}`);
      const destroys = fs
        .readFileSync(hookLog, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("DESTROY"));
      assert.equal(destroys.length, ENDPOINTS);
    });
  });
}
