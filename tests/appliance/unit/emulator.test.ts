import { strict as assert } from "node:assert";
import { buildUdpPacket, decodeGeneve, parsePacket } from "@tollgate/appliance";
import {
  decrementTtl,
  generateFlows,
  gwlbEmuFlowCookie,
  GwlbPeer,
  malformedDatagrams,
  MemoryTransport,
  memoryTransportPair,
  type RemoteInfo,
  runEmulation,
  stampSequence,
  verifyChecksums,
} from "@tollgate/testbed";

const GWLB = { address: "10.250.0.1", port: 6081 };
const APPL = { address: "10.250.0.2", port: 6081 };

/** A fake appliance: replies with what `reply` returns for each datagram, from `port`. */
function fakeAppliance(
  appl: MemoryTransport,
  gwlb: MemoryTransport,
  reply: (d: Buffer, from: RemoteInfo) => Buffer | undefined,
  fromPort?: (from: RemoteInfo) => number,
): void {
  appl.onMessage((d, from) => {
    const out = reply(d, from);
    if (out)
      setImmediate(() =>
        gwlb.deliver(out, { address: APPL.address, port: fromPort ? fromPort(from) : from.port }),
      );
  });
}

function setup(opts: { expectEcho?: boolean } = {}) {
  const [gw, appl] = memoryTransportPair(GWLB, APPL);
  const peer = new GwlbPeer({ transport: gw, target: APPL.address, ...opts });
  return { gw, appl, peer };
}

describe("GWLB emulator peer", () => {
  it("generates gwlb-emu's ids, cookies and inner packets", () => {
    const flows = generateFlows({ flows: 4, endpoints: 2, size: 128 });
    assert.equal(flows[0]!.endpointId, 0x2b8ee1d4db0c5100n);
    assert.equal(flows[1]!.endpointId, 0x2b8ee1d4db0c5101n);
    assert.equal(flows[3]!.attachmentId, 0x0a77ac4e00000000n + 0x10001n);
    // gwlb-emu: mix32(0x9e3779b9 ^ i) | 1, computed by its C code for i = 0.
    assert.equal(gwlbEmuFlowCookie(0) & 1, 1);
    assert.notEqual(gwlbEmuFlowCookie(0), gwlbEmuFlowCookie(1));
    for (const f of flows) {
      assert.equal(f.inner.length, 128);
      assert.ok(verifyChecksums(f.inner));
    }
    const p = parsePacket(flows[2]!.inner);
    assert.ok(p.ok);
    assert.equal(p.packet.src, "10.100.0.3");
    assert.equal(p.packet.dst, "10.200.0.1");
    assert.equal(p.packet.srcPort, 1026);
    const v6 = generateFlows({ flows: 2, family: 6, proto: "tcp" });
    const q = parsePacket(v6[1]!.inner);
    assert.ok(q.ok);
    assert.equal(q.packet.src, "fd00:100::2");
    assert.equal(q.packet.dstPort, 80);
    const s = stampSequence(v6[1]!, 77);
    assert.ok(verifyChecksums(s));
    assert.notDeepEqual(s, v6[1]!.inner);
    assert.throws(() => generateFlows({ flows: 1, endpoints: 2 }), RangeError);
  });

  it("accepts byte-exact echoes and TTL-decremented forwards", async () => {
    const { gw, appl, peer } = setup();
    let n = 0;
    fakeAppliance(appl, gw, (d) => {
      const r = decodeGeneve(d);
      assert.ok(r.ok);
      // every other packet: kernel-forwarded (TTL - 1)
      return n++ % 2 === 0
        ? d
        : Buffer.concat([d.subarray(0, r.innerOffset), decrementTtl(d.subarray(r.innerOffset))]);
    });
    const flows = generateFlows({ flows: 8, endpoints: 2, proto: "tcp" });
    const summary = await runEmulation({ peer, flows, count: 40, rate: 0, drainMs: 500 });
    assert.equal(summary.sent, 40);
    assert.equal(summary.valid, 40);
    assert.equal(summary.lost, 0);
    assert.equal(summary.exact, 20);
    assert.equal(summary.ttlDecremented, 20);
    assert.equal(peer.outstanding, 0);
    assert.ok(summary.rttMs.p50 !== undefined);
  });

  it("does not count warm-up traffic", async () => {
    const { gw, appl, peer } = setup();
    fakeAppliance(appl, gw, (d) => d);
    const flows = generateFlows({ flows: 2 });
    const s = await runEmulation({
      peer,
      flows,
      count: 10,
      rate: 0,
      drainMs: 500,
      warmupSeconds: 0.02,
    });
    assert.equal(s.sent, 10);
    assert.equal(s.valid, 10);
    assert.equal(peer.stats.sent, 30);
  });

  it("counts a late reply to an earlier run's packet as late, never as valid", async () => {
    // A held endpoint answers a warm-up round only after the next run started (released by the
    // appliance's hold timeout or its listeners finishing): those replies belong to the warm-up.
    const { gw, appl, peer } = setup();
    const held: Buffer[] = [];
    let holding = true;
    fakeAppliance(appl, gw, (d) => {
      if (holding) {
        held.push(d);
        return undefined;
      }
      // Released once the next run's first packet arrives, ahead of its reply.
      for (const h of held.splice(0)) gw.deliver(h, APPL);
      return d;
    });
    const flows = generateFlows({ flows: 6, endpoints: 2 });
    const warm = await runEmulation({ peer, flows, rate: 0, drainMs: 20, sequenceStart: 2 ** 41 });
    assert.equal(warm.valid, 0);
    holding = false;
    const s = await runEmulation({ peer, flows, count: 12, rate: 0, drainMs: 500 });
    assert.equal(s.sent, 12);
    assert.equal(s.late, 6, "the warm-up's replies");
    assert.equal(s.valid, 12, "each measured packet answered once");
    assert.equal(s.exact, 12);
    assert.equal(s.received, 18);
    assert.equal(s.lost, 0);
  });

  it("accepts reverse-direction traffic of the same flow when not in echo mode", async () => {
    const { gw, appl, peer } = setup({ expectEcho: false });
    const [flow] = generateFlows({ flows: 1 });
    fakeAppliance(appl, gw, (d) => {
      const r = decodeGeneve(d);
      assert.ok(r.ok);
      const reply = buildUdpPacket({
        src: "10.200.0.1",
        dst: "10.100.0.1",
        srcPort: 5001,
        dstPort: 1024,
        payload: Buffer.from("pong"),
      });
      return Buffer.concat([d.subarray(0, r.innerOffset), reply]);
    });
    await peer.send(flow!, flow!.inner);
    assert.ok(await peer.waitForReplies(1, 500));
    assert.equal(peer.stats.valid, 1);
  });

  it("flags every kind of bad reply", async () => {
    const { gw, appl, peer } = setup();
    const flows = generateFlows({ flows: 2 });
    const problems: string[][] = [];
    peer.on("reply", (r) => problems.push([...r.problems]));
    let mode = "";
    fakeAppliance(
      appl,
      gw,
      (d) => {
        const r = decodeGeneve(d);
        assert.ok(r.ok);
        const b = Buffer.from(d);
        switch (mode) {
          case "cookie":
            b.writeUInt32BE(12345, 36);
            return b;
          case "checksum":
            b.writeUInt16BE(0, 40 + 26); // UDP checksum 0
            return b;
          case "payload":
            b[b.length - 1] = b[b.length - 1]! ^ 0xff;
            return b;
          case "other-flow":
            return Buffer.concat([b.subarray(0, 40), flows[1]!.inner]);
          case "garbage":
            return Buffer.from([1, 2, 3]);
          default:
            return b;
        }
      },
      (from) => (mode === "port" ? 9999 : from.port),
    );
    const expect: [string, string[]][] = [
      ["cookie", ["UNKNOWN_HEADER"]],
      ["checksum", ["INNER_CHECKSUM", "INNER_MISMATCH"]],
      ["payload", ["INNER_CHECKSUM", "INNER_MISMATCH"]],
      ["other-flow", ["FLOW_MISMATCH", "INNER_MISMATCH"]],
      ["garbage", ["NOT_GENEVE"]],
      ["port", ["WRONG_SOURCE_PORT"]],
    ];
    for (const [m] of expect) {
      mode = m;
      await peer.send(flows[0]!, stampSequence(flows[0]!, problems.length + 100));
      assert.ok(await peer.waitForReplies(problems.length + 1, 500), m);
    }
    assert.deepEqual(
      problems,
      expect.map(([, p]) => p),
    );
    assert.equal(peer.stats.valid, 0);
    assert.equal(peer.stats.invalid, expect.length);
  });

  it("flags replies from another address", async () => {
    const { gw, peer } = setup();
    const [flow] = generateFlows({ flows: 1 });
    await peer.send(flow!, flow!.inner);
    const d = GwlbPeer.encapsulate(flow!, flow!.inner);
    gw.deliver(d, { address: "10.9.9.9", port: 6081 });
    assert.equal(peer.stats.problems.WRONG_SOURCE_ADDRESS, 1);
  });

  it("builds malformed datagrams whose reasons the decoder confirms", () => {
    for (const family of [4, 6] as const) {
      const [flow] = generateFlows({ flows: 1, family });
      const list = malformedDatagrams(flow!, flow!.inner);
      assert.ok(list.length >= 11);
      for (const m of list) {
        const r = decodeGeneve(m.bytes);
        assert.ok(!r.ok, m.name);
        assert.equal(r.error, m.reason, m.name);
      }
    }
  });

  it("counts send errors and reports loss when nothing comes back", async () => {
    const { gw, peer } = setup();
    const flows = generateFlows({ flows: 2 });
    const summary = await runEmulation({
      peer,
      flows,
      count: 4,
      rate: 0,
      drainMs: 50,
      malformed: true,
    });
    assert.equal(summary.sent, 4);
    assert.equal(summary.malformedSent, 12);
    assert.equal(summary.lost, 4);
    assert.equal(summary.lossPercent, 100);
    await gw.close();
    await assert.rejects(peer.send(flows[0]!, flows[0]!.inner));
    assert.equal(peer.stats.sendErrors, 1);
  });
});
