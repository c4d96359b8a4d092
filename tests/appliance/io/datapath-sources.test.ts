/**
 * GENEVE source filtering over the in-memory port: with `geneveSources`, datagrams from any other
 * address are counted as SOURCE_NOT_ALLOWED and never reach a tun or create an endpoint; allowed
 * ones are forwarded and answered byte for byte. Without it every source is accepted.
 */
import { strict as assert } from "node:assert";
import { Datapath } from "@tollgate/appliance";
import { generateFlows, GwlbPeer } from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { datapathOptions } from "../helpers/settings";

const GWLB = 0x0a000105; // 10.0.1.5, inside 10.0.1.0/28
const ROGUE = 0x0a000205; // 10.0.2.5, same VPC, not the GWLB
const EDGE = 0x0a000110; // 10.0.1.16, first address past the /28
const ME = 0x0a000002;

function setup(geneveSources?: readonly string[]) {
  const port = new FakePort();
  const dp = new Datapath(
    port,
    datapathOptions({
      holdTimeoutMs: 0,
      ...(geneveSources ? { geneveSources } : {}),
    }),
  );
  dp.start(0);
  return { port, dp };
}

describe("data path: GENEVE only from the GWLB's CIDRs", () => {
  it("drops and counts other sources, forwards the GWLB's", () => {
    const t = setup(["10.0.1.0/28"]);
    const flows = generateFlows({ flows: 4, endpoints: 2 });
    const datagrams = flows.map((f) => GwlbPeer.encapsulate(f, f.inner));
    for (const d of datagrams) t.port.queue(d, ROGUE, 40000, ME);
    for (const d of datagrams) t.port.queue(d, EDGE, 40000, ME);
    t.port.pump();
    const c = t.dp.counters;
    assert.equal(c.drops.SOURCE_NOT_ALLOWED, 8);
    assert.equal(c.rxDatagrams, 8, "received and counted");
    assert.equal(c.tunTxPackets, 0, "nothing forwarded");
    assert.equal(t.port.tuns.size, 0, "no endpoint created for a rogue source");
    assert.equal(t.port.sent.length, 0, "nothing sent back");
    assert.equal(t.dp.flows.size, 0, "no flow remembered");

    for (const d of datagrams) t.port.queue(d, GWLB, 40000, ME);
    t.port.pump();
    assert.equal(c.drops.SOURCE_NOT_ALLOWED, 8);
    assert.equal(c.tunTxPackets, 4);
    assert.deepEqual(
      t.port.sent.map((r) => r.payload.toString("hex")).sort(),
      datagrams.map((d) => d.toString("hex")).sort(),
      "replies byte for byte",
    );
    assert.ok(t.port.sent.every((r) => r.daddr === GWLB));
  });

  it("checks the source before anything else (a truncated rogue datagram is a source drop)", () => {
    const t = setup(["10.0.1.0/28"]);
    const [f] = generateFlows({ flows: 1 });
    t.port.queue(GwlbPeer.encapsulate(f!, f!.inner), ROGUE, 40000, ME, true);
    t.port.queue(Buffer.from("junk"), ROGUE, 40000, ME);
    t.port.pump();
    assert.equal(t.dp.counters.drops.SOURCE_NOT_ALLOWED, 2);
    assert.equal(t.dp.counters.drops.TRUNCATED, 0);
    assert.equal(t.dp.counters.drops.TOO_SHORT, 0);
  });

  it("accepts any source without a list (empty or absent)", () => {
    for (const sources of [undefined, []]) {
      const t = setup(sources);
      const [f] = generateFlows({ flows: 1 });
      t.port.queue(GwlbPeer.encapsulate(f!, f!.inner), ROGUE, 40000, ME);
      t.port.pump();
      assert.equal(t.dp.counters.drops.SOURCE_NOT_ALLOWED, 0);
      assert.equal(t.port.sent.length, 1);
    }
  });

  it("refuses an invalid list at construction", () => {
    assert.throws(
      () => new Datapath(new FakePort(), datapathOptions({ geneveSources: ["10.0.1.0/40"] })),
      RangeError,
    );
  });
});
