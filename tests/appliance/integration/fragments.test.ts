/**
 * Root-only: a process in the appliance namespace answers the inner UDP datagram with 3000
 * bytes; gwo-X has MTU 1400, so the kernel sends the reply as fragments, of which only the first
 * carries ports. Every fragment must go back to the GWLB with the flow's GENEVE header.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  type DaemonStatus,
  decodeGeneve,
  NATIVE_ADDON_PATH,
  parsePacket,
} from "@tollgate/appliance";
import {
  DATAPATH_VARIANTS,
  skipUnlessRunnable,
  spawnInNs,
  startDaemonBed,
  waitFor,
  type DaemonBed,
  type DatapathVariant,
  type NsChild,
  type Testbed,
} from "./netns";

const FIXTURES = path.join(__dirname, "fixtures");

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`appliance returns every fragment of a reply with its flow's header (root, ${variant.datapath} path)`, function () {
    this.timeout(60000);
    let tb: DaemonBed | undefined;
    let bed: Testbed | undefined;
    let echo: NsChild | undefined;
    const status = (): DaemonStatus => tb!.status();

    before(async function () {
      skipUnlessRunnable(this, NATIVE_ADDON_PATH, variant);
      tb = await startDaemonBed({
        tag: "h",
        variant,
        hookLines: () => [
          '[ "$1" = CREATE ] || exit 0',
          "set -e",
          "ip addr add 10.200.0.1/32 dev lo",
          'ip link set "$3" mtu 1400',
          'ip route add 10.100.0.0/16 dev "$3"',
          'for i in all default "$2" "$3"; do echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done',
        ],
        beforeDaemon: async (b) => {
          echo = spawnInNs(b.ap, process.execPath, [
            path.join(FIXTURES, "udp-big-echo.js"),
            JSON.stringify({ size: 3000 }),
          ]);
          await waitFor("echo server", () =>
            echo!.stdout().includes("listening") ? true : undefined,
          );
        },
      });
      bed = tb.bed;
    });

    after(async function () {
      if (tb) await tb.destroy([echo]);
      else await echo?.stop(); // the bed failed to start and has cleaned up after itself
    });

    it("sends the first and the later fragments back with the UDP flow's GENEVE header", async function () {
      const probe = spawnInNs(bed!.gw, process.execPath, [
        path.join(FIXTURES, "icmp-probe.js"),
        JSON.stringify({ local: bed!.gwAddress, target: bed!.apAddress }),
      ]);
      assert.equal(await probe.exited, 0, probe.stderr());
      const out = JSON.parse(probe.stdout().trim().split("\n").pop()!) as {
        sent: string;
        received: string[];
      };
      const sent = Buffer.from(out.sent, "hex");
      const d = decodeGeneve(sent);
      assert.ok(d.ok);
      const header = sent.subarray(0, d.headerLength);
      const s = status();
      assert.ok(
        out.received.length >= 3,
        `replies ${out.received.length}; ${JSON.stringify(s.counters)}`,
      );
      let later = 0;
      let bytes = 0;
      for (const hex of out.received) {
        const r = Buffer.from(hex, "hex");
        assert.deepEqual(r.subarray(0, header.length), header, "the flow's GENEVE header");
        const p = parsePacket(r.subarray(header.length));
        assert.ok(p.ok);
        assert.ok(p.packet.fragment, "a fragment");
        assert.deepEqual([p.packet.src, p.packet.dst], ["10.200.0.1", "10.100.0.1"]);
        if (p.packet.l4Offset === undefined) later++;
        bytes += p.packet.length - 20;
      }
      assert.ok(later >= 2, `later fragments: ${later}`);
      assert.equal(bytes % (3000 + 8), 0, "whole datagrams (UDP header + 3000 bytes each)");
      assert.ok(s.counters.fragmentsMatched >= 2);
      assert.equal(s.counters.drops.FRAGMENT_UNKNOWN_FLOW, 0);
    });
  });
}
