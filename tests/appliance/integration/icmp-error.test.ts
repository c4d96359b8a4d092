/**
 * Root-only: the appliance's own kernel answers an inner UDP datagram with an ICMP port
 * unreachable (nothing listens on the inner destination, which is local to the appliance
 * namespace); the error leaves through gwo-X, its own addresses are no flow, and the daemon must
 * send it back to the GWLB with the GENEVE header of the flow it quotes.
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
  type DaemonBed,
  type DatapathVariant,
  type Testbed,
} from "./netns";

const FIXTURES = path.join(__dirname, "fixtures");

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`appliance returns ICMP errors by the flow they quote (root, ${variant.datapath} path)`, function () {
    this.timeout(60000);
    let tb: DaemonBed | undefined;
    let bed: Testbed | undefined;
    const status = (): DaemonStatus => tb!.status();

    before(async function () {
      skipUnlessRunnable(this, NATIVE_ADDON_PATH, variant);
      // The inner destination is local here (nothing listens on its port), the inner source is
      // routed out of gwo-X, and reverse-path filtering is off.
      tb = await startDaemonBed({
        tag: "f",
        variant,
        hookLines: () => [
          '[ "$1" = CREATE ] || exit 0',
          "set -e",
          "ip addr add 10.200.0.1/32 dev lo",
          'ip route add 10.100.0.0/16 dev "$3"',
          'for i in all default "$2" "$3"; do echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done',
        ],
      });
      bed = tb.bed;
    });

    after(async function () {
      await tb?.destroy();
    });

    it("sends the kernel's port unreachable back with the UDP flow's GENEVE header", async function () {
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
      const original = sent.subarray(d.headerLength);
      const s = status();
      assert.ok(out.received.length >= 1, `no reply; counters ${JSON.stringify(s.counters)}`);
      const reply = Buffer.from(out.received[0]!, "hex");
      assert.deepEqual(reply.subarray(0, header.length), header, "the flow's GENEVE header");
      const inner = reply.subarray(header.length);
      const p = parsePacket(inner);
      assert.ok(p.ok);
      assert.deepEqual(
        [p.packet.proto, p.packet.src, p.packet.dst],
        [1, "10.200.0.1", "10.100.0.1"],
      );
      const l4 = p.packet.l4Offset!;
      assert.deepEqual([inner[l4], inner[l4 + 1]], [3, 3], "ICMP port unreachable");
      assert.deepEqual(
        inner.subarray(l4 + 8, l4 + 8 + 28),
        original.subarray(0, 28),
        "quotes the original datagram",
      );
      assert.ok(s.counters.icmpErrorsMatched >= 1);
      assert.equal(s.counters.drops.ICMP_ERROR_UNKNOWN_FLOW, 0);
    });
  });
}
