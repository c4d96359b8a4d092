/**
 * ICMP/ICMPv6 errors read from a tun (a `reject` rule's port unreachable, PMTUD's frag-needed /
 * packet too big, time exceeded, parameter problem) are sent back with the flow of the packet
 * they quote; what cannot be matched is counted, never thrown.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  createPacketScratch,
  Datapath,
  decodeGeneve,
  icmpErrorQuoteOffset,
  locatePacket,
  tunNames,
} from "@tollgate/appliance";
import {
  buildIcmpEchoPacket,
  buildTcpPacket,
  type EmulatedFlow,
  generateFlows,
  GwlbPeer,
} from "@tollgate/testbed";
import { FakePort } from "./fake-port";
import { icmpError } from "./fixtures/packets";
import { datapathOptions } from "../helpers/settings";

const GWLB = 0x0a000001;
const ME = 0x0a000002;

function setup() {
  const port = new FakePort();
  port.mirror = false;
  const dp = new Datapath(port, datapathOptions({ clock: () => 1000 }));
  dp.start(0);
  return {
    port,
    dp,
    send(flow: EmulatedFlow): Buffer {
      const d = GwlbPeer.encapsulate(flow, flow.inner);
      port.queue(d, GWLB, 40000, ME);
      port.pump();
      return d;
    },
    /** Injects on gwo and returns the reply sent for it (undefined when none). */
    back(flow: EmulatedFlow, packet: Buffer) {
      const before = port.sent.length;
      port.inject(tunNames(flow.endpointId).gwo, packet);
      return port.sent.length > before ? port.sent.at(-1)! : undefined;
    },
  };
}

function headerOf(datagram: Buffer): Buffer {
  const d = decodeGeneve(datagram);
  assert.ok(d.ok);
  return datagram.subarray(0, d.headerLength);
}

function assertReplyFor(reply: { payload: Buffer } | undefined, datagram: Buffer, inner: Buffer) {
  assert.ok(reply, "a reply was sent");
  const h = headerOf(datagram);
  assert.deepEqual(reply.payload.subarray(0, h.length), h, "the quoted flow's GENEVE header");
  assert.deepEqual(reply.payload.subarray(h.length), inner, "the ICMP error unchanged");
}

describe("data path: ICMP errors matched by their quoted packet (in-memory port)", () => {
  it("returns an IPv4 port unreachable (reject rule) with the UDP flow's header", () => {
    const t = setup();
    const [a, b] = generateFlows({ flows: 2 });
    t.send(a!);
    const db = t.send(b!);
    // The appliance answers b's datagram (10.100.0.2:1025 -> 10.200.0.1:5001) with a reject.
    const err = icmpError("10.200.0.1", "10.100.0.2", 3, 3, b!.inner, 28);
    assertReplyFor(t.back(b!, err), db, err);
    assert.equal(t.dp.counters.icmpErrorsMatched, 1);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 0);
  });

  it("matches frag-needed and time exceeded from a third address (a router) quoting TCP", () => {
    const t = setup();
    const flows = generateFlows({ flows: 3, proto: "tcp" });
    const sent = flows.map((f) => t.send(f));
    const fragNeeded = icmpError("192.0.2.254", "10.100.0.3", 3, 4, flows[2]!.inner, 548, 1400);
    assertReplyFor(t.back(flows[2]!, fragNeeded), sent[2]!, fragNeeded);
    const ttl = icmpError("192.0.2.254", "10.100.0.2", 11, 0, flows[1]!.inner, 28);
    assertReplyFor(t.back(flows[1]!, ttl), sent[1]!, ttl);
    const param = icmpError("192.0.2.254", "10.100.0.1", 12, 0, flows[0]!.inner, 28, 0x08000000);
    assertReplyFor(t.back(flows[0]!, param), sent[0]!, param);
    assert.equal(t.dp.counters.icmpErrorsMatched, 3);
  });

  it("matches an error quoting the reply direction (the error goes towards the server)", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    const d = t.send(f!);
    // A UDP reply of the flow, quoted by an unreachable sent towards 10.200.0.1.
    const udpReply = Buffer.from(f!.inner);
    udpReply.set(f!.inner.subarray(16, 20), 12);
    udpReply.set(f!.inner.subarray(12, 16), 16);
    udpReply.writeUInt16BE(5001, 20);
    udpReply.writeUInt16BE(1024, 22);
    const err = icmpError("10.100.0.1", "10.200.0.1", 3, 3, udpReply, 28);
    assertReplyFor(t.back(f!, err), d, err);
  });

  it("returns ICMPv6 packet too big and port unreachable with the flow's header", () => {
    const t = setup();
    const flows = generateFlows({ flows: 2, family: 6, proto: "tcp" });
    const sent = flows.map((f) => t.send(f));
    const ptb = icmpError("fd00:ffff::1", "fd00:100::2", 2, 0, flows[1]!.inner, 1232, 1280);
    assertReplyFor(t.back(flows[1]!, ptb), sent[1]!, ptb);
    const unreach = icmpError("fd00:200::1", "fd00:100::1", 1, 4, flows[0]!.inner, 200);
    assertReplyFor(t.back(flows[0]!, unreach), sent[0]!, unreach);
    const hop = icmpError("fd00:ffff::1", "fd00:100::1", 3, 0, flows[0]!.inner, 48);
    assertReplyFor(t.back(flows[0]!, hop), sent[0]!, hop);
    assert.equal(t.dp.counters.icmpErrorsMatched, 3);
  });

  it("matches an error quoting an ICMP echo by addresses", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1, proto: "icmp" });
    const d = t.send(f!);
    const err = icmpError("192.0.2.254", "10.100.0.1", 11, 0, f!.inner, 28);
    assertReplyFor(t.back(f!, err), d, err);
  });

  it("counts errors quoting unknown flows, other endpoints' flows or garbage", () => {
    const t = setup();
    const [a, b] = generateFlows({ flows: 2, endpoints: 2 });
    t.send(a!);
    t.send(b!);
    const other = buildTcpPacket({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2 });
    assert.equal(t.back(a!, icmpError("10.200.0.1", "192.0.2.1", 3, 3, other, 28)), undefined);
    // b's flow lives on the other endpoint: not a match on a's interfaces.
    assert.equal(t.back(a!, icmpError("10.200.0.1", "10.100.0.2", 3, 3, b!.inner, 28)), undefined);
    assert.equal(t.back(a!, icmpError("10.200.0.1", "10.100.0.1", 3, 3, a!.inner, 6)), undefined);
    assert.equal(t.dp.counters.drops.ICMP_ERROR_UNKNOWN_FLOW, 3);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 0);
    // Informational ICMP of no flow is an ordinary unknown flow.
    const echo = buildIcmpEchoPacket({
      src: "192.0.2.1",
      dst: "192.0.2.2",
      identifier: 1,
      sequence: 1,
    });
    assert.equal(t.back(a!, echo), undefined);
    assert.equal(t.dp.counters.drops.UNKNOWN_FLOW, 1);
  });

  it("never throws on arbitrary quoted bytes; every error is sent or counted", () => {
    const t = setup();
    const [f] = generateFlows({ flows: 1 });
    t.send(f!);
    fc.assert(
      fc.property(
        fc.constantFrom(3, 11, 12),
        fc.uint8Array({ maxLength: 120 }),
        fc.boolean(),
        (type, junk, v4prefix) => {
          const quoted = Buffer.from(junk);
          if (v4prefix && quoted.length > 0) quoted[0] = 0x45;
          const err = icmpError("10.200.0.1", "10.100.0.1", type, 0, quoted);
          const before = t.dp.counters.drops.ICMP_ERROR_UNKNOWN_FLOW + t.port.sent.length;
          t.back(f!, err);
          assert.equal(
            t.dp.counters.drops.ICMP_ERROR_UNKNOWN_FLOW + t.port.sent.length,
            before + 1,
          );
          assert.equal(t.dp.counters.internalErrors, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("locates the quote of error types only, and parses truncated quotes with truncated=true", () => {
    const [f] = generateFlows({ flows: 1 });
    const s = createPacketScratch();
    const err = icmpError("10.200.0.1", "10.100.0.1", 3, 3, f!.inner, 28);
    assert.equal(locatePacket(err, 0, err.length, s), undefined);
    assert.equal(icmpErrorQuoteOffset(err, s), 28);
    const q = createPacketScratch();
    assert.equal(locatePacket(err, 28, err.length - 28, q), "BAD_LENGTH");
    assert.equal(locatePacket(err, 28, err.length - 28, q, true), undefined);
    assert.deepEqual(
      [q.proto, q.hasPorts, q.srcPort, q.dstPort, q.end],
      [17, true, 1024, 5001, 56],
    );
    assert.equal(locatePacket(err, 28, 12, q, true), "TOO_SHORT");
    const echo = buildIcmpEchoPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      identifier: 1,
      sequence: 1,
    });
    assert.equal(locatePacket(echo, 0, echo.length, s), undefined);
    assert.equal(icmpErrorQuoteOffset(echo, s), -1);
    const v6 = icmpError("fd00::1", "fd00::2", 2, 0, Buffer.alloc(0));
    assert.equal(locatePacket(v6, 0, v6.length, s), undefined);
    assert.equal(icmpErrorQuoteOffset(v6, s), 48);
    const info6 = icmpError("fd00::1", "fd00::2", 128, 0, Buffer.alloc(0));
    assert.equal(locatePacket(info6, 0, info6.length, s), undefined);
    assert.equal(icmpErrorQuoteOffset(info6, s), -1);
  });
});
