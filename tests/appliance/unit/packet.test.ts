import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  buildIpPacket,
  buildUdpPacket,
  fillL4Checksum,
  foldChecksum,
  formatAddress,
  ipv4HeaderChecksum,
  onesComplementSum,
  PACKET_PARSE_ERRORS,
  parsePacket,
  udpChecksumIPv4,
} from "@tollgate/appliance";
import {
  buildIcmpEchoPacket,
  buildTcpPacket,
  decrementTtl,
  verifyChecksums,
} from "@tollgate/testbed";

function parsed(buf: Buffer) {
  const r = parsePacket(buf);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.packet;
}

describe("packet checksums", () => {
  it("matches the RFC 1071 example sum", () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (folded), checksum 220d.
    const b = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    assert.equal(foldChecksum(onesComplementSum(b, 0, b.length)), 0x220d);
  });

  it("computes a known IPv4 header checksum", () => {
    // Classic example header (Wikipedia): checksum 0xb861.
    const h = Buffer.from("450000730000400040110000c0a80001c0a800c7", "hex");
    assert.equal(ipv4HeaderChecksum(h), 0xb861);
  });

  it("udpChecksumIPv4 agrees with the generic builder and never returns 0", () => {
    const p = buildUdpPacket({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 1234,
      dstPort: 53,
      payload: Buffer.from("hello"),
    });
    const c = udpChecksumIPv4(p.subarray(12, 16), p.subarray(16, 20), p, 20);
    assert.equal(c, p.readUInt16BE(26));
    assert.ok(verifyChecksums(p));
    p[30] = p[30]! ^ 0xff;
    assert.ok(!verifyChecksums(p));
  });

  it("treats a UDP checksum of 0 as invalid (replies must carry one)", () => {
    const p = buildUdpPacket({ src: "10.0.0.1", dst: "10.0.0.2", srcPort: 1, dstPort: 2 });
    p.writeUInt16BE(0, 26);
    assert.ok(!verifyChecksums(p));
    assert.ok(fillL4Checksum(p));
    assert.ok(verifyChecksums(p));
  });

  it("property: every built packet verifies, and TTL decrement keeps the IPv4 header valid", () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join("."));
    const v6 = fc
      .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
      .map((a) => a.map((x) => x.toString(16)).join(":"));
    fc.assert(
      fc.property(
        fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)),
        fc.constantFrom("udp", "tcp", "icmp"),
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 1, max: 255 }),
        ([src, dst], kind, payload, ttl) => {
          const base = { src, dst, ttl, payload };
          const p =
            kind === "udp"
              ? buildUdpPacket({ ...base, srcPort: 5, dstPort: 6 })
              : kind === "tcp"
                ? buildTcpPacket({ ...base, srcPort: 5, dstPort: 6 })
                : buildIcmpEchoPacket(base);
          assert.ok(verifyChecksums(p));
          const d = decrementTtl(p);
          assert.ok(verifyChecksums(d));
          assert.equal(d[src.includes(":") ? 7 : 8], ttl - 1);
        },
      ),
    );
  });
});

describe("packet parsing", () => {
  it("parses IPv4 UDP/TCP/ICMP", () => {
    const u = parsed(
      buildUdpPacket({ src: "10.100.0.1", dst: "10.200.0.1", srcPort: 1024, dstPort: 5001 }),
    );
    assert.deepEqual(
      { ...u },
      {
        family: 4,
        src: "10.100.0.1",
        dst: "10.200.0.1",
        proto: 17,
        srcPort: 1024,
        dstPort: 5001,
        fragment: false,
        l4Offset: 20,
        length: 28,
      },
    );
    const t = parsed(buildTcpPacket({ src: "1.2.3.4", dst: "5.6.7.8", srcPort: 80, dstPort: 443 }));
    assert.equal(t.proto, 6);
    assert.equal(t.dstPort, 443);
    const i = parsed(buildIcmpEchoPacket({ src: "1.2.3.4", dst: "5.6.7.8" }));
    assert.equal(i.proto, 1);
    assert.equal(i.srcPort, undefined);
  });

  it("honours IHL (IPv4 options)", () => {
    const p = buildUdpPacket({
      src: "1.1.1.1",
      dst: "2.2.2.2",
      srcPort: 7,
      dstPort: 9,
      ipv4Options: Buffer.from([1, 1, 1, 0, 1, 1, 1, 0]),
    });
    const r = parsed(p);
    assert.equal(r.l4Offset, 28);
    assert.equal(r.srcPort, 7);
    assert.equal(r.dstPort, 9);
    assert.ok(verifyChecksums(p));
  });

  it("ignores bytes past the IPv4 total length (Ethernet padding)", () => {
    const p = buildUdpPacket({ src: "1.1.1.1", dst: "2.2.2.2", srcPort: 7, dstPort: 9 });
    assert.equal(parsed(Buffer.concat([p, Buffer.alloc(10)])).length, 28);
  });

  it("walks IPv6 extension headers", () => {
    const p = buildTcpPacket({
      src: "fd00:100::1",
      dst: "fd00:200::1",
      srcPort: 1000,
      dstPort: 80,
      extensionHeaders: [
        { type: 0 },
        { type: 43 },
        { type: 60, body: Buffer.alloc(14) },
        { type: 51 },
        { type: 44 },
      ],
    });
    const r = parsed(p);
    assert.equal(r.family, 6);
    assert.equal(r.proto, 6);
    assert.equal(r.srcPort, 1000);
    assert.equal(r.dstPort, 80);
    assert.equal(r.fragment, true);
    assert.equal(r.l4Offset, 40 + 8 + 8 + 16 + 12 + 8);
    assert.equal(r.src, "fd00:100::1");
    assert.ok(verifyChecksums(p) || r.fragment);
  });

  it("has no ports for later fragments (IPv4 and IPv6)", () => {
    const v4 = buildUdpPacket({
      src: "1.1.1.1",
      dst: "2.2.2.2",
      srcPort: 7,
      dstPort: 9,
      dontFragment: false,
    });
    v4.writeUInt16BE(0x0010, 6); // offset 16*8
    v4.writeUInt16BE(ipv4HeaderChecksum(v4), 10);
    const r4 = parsed(v4);
    assert.equal(r4.fragment, true);
    assert.equal(r4.srcPort, undefined);
    assert.equal(r4.l4Offset, undefined);
    const v6 = buildUdpPacket({
      src: "::1",
      dst: "::2",
      srcPort: 7,
      dstPort: 9,
      extensionHeaders: [{ type: 44, body: Buffer.from([0, 0x18, 0, 0, 0, 1]) }],
    });
    const r6 = parsed(v6);
    assert.equal(r6.fragment, true);
    assert.equal(r6.proto, 17);
    assert.equal(r6.srcPort, undefined);
  });

  it("reports each malformation", () => {
    const ok = buildUdpPacket({ src: "1.1.1.1", dst: "2.2.2.2", srcPort: 7, dstPort: 9 });
    const err = (b: Buffer) => {
      const r = parsePacket(b);
      return r.ok ? "ok" : r.error;
    };
    assert.equal(err(Buffer.alloc(0)), "TOO_SHORT");
    assert.equal(err(ok.subarray(0, 19)), "TOO_SHORT");
    let b = Buffer.from(ok);
    b[0] = 0x55;
    assert.equal(err(b), "BAD_VERSION");
    b = Buffer.from(ok);
    b[0] = 0x44;
    assert.equal(err(b), "BAD_IHL");
    b = Buffer.from(ok);
    b[0] = 0x4f;
    assert.equal(err(b), "BAD_IHL");
    assert.equal(err(ok.subarray(0, 27)), "BAD_LENGTH");
    b = Buffer.from(ok);
    b.writeUInt16BE(22, 2);
    assert.equal(err(b), "TRUNCATED_L4");
    const v6 = buildUdpPacket({
      src: "::1",
      dst: "::2",
      srcPort: 1,
      dstPort: 2,
      extensionHeaders: [{ type: 0 }],
    });
    b = Buffer.from(v6);
    b[41] = 9; // hop-by-hop claims 80 bytes
    assert.equal(err(b), "BAD_EXTENSION_HEADER");
    // A chain of 17 destination-options headers exceeds the walk limit.
    const many = buildUdpPacket({
      src: "::1",
      dst: "::2",
      srcPort: 1,
      dstPort: 2,
      extensionHeaders: Array.from({ length: 17 }, () => ({ type: 60 })),
    });
    assert.equal(err(many), "BAD_EXTENSION_HEADER");
  });

  it("formats IPv6 per RFC 5952", () => {
    const a = (s: string) => Buffer.from(s.replace(/ /g, ""), "hex");
    assert.equal(formatAddress(a("20010db8 00000000 00000000 00000001"), 0, 6), "2001:db8::1");
    assert.equal(formatAddress(a("20010db8 00000001 00000000 00000001"), 0, 6), "2001:db8:0:1::1");
    assert.equal(formatAddress(a("00000000 00000000 00000000 00000000"), 0, 6), "::");
    assert.equal(
      formatAddress(a("20010db8 00010001 00010001 00010001"), 0, 6),
      "2001:db8:1:1:1:1:1:1",
    );
  });

  it("property: parse never throws and stays in bounds on arbitrary bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: -3, max: 220 }),
        fc.integer({ min: -3, max: 220 }),
        (bytes, off, len) => {
          const buf = Buffer.from(bytes);
          if (bytes.length > 0) buf[0] = (bytes[0]! & 0x0f) | (bytes[0]! & 1 ? 0x40 : 0x60);
          const r = parsePacket(buf, off, len);
          if (r.ok) assert.ok(r.packet.length <= buf.length);
          else assert.ok(PACKET_PARSE_ERRORS.includes(r.error));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("builds arbitrary protocols through buildIpPacket", () => {
    const gre = buildIpPacket({ src: "1.1.1.1", dst: "2.2.2.2" }, 47, Buffer.alloc(4));
    assert.equal(parsed(gre).proto, 47);
    assert.throws(
      () => buildIpPacket({ src: "1.1.1.1", dst: "::1" }, 47, Buffer.alloc(0)),
      RangeError,
    );
    assert.throws(
      () => buildIpPacket({ src: "nope", dst: "::1" }, 47, Buffer.alloc(0)),
      RangeError,
    );
  });
});
