import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  copyGeneveHeader,
  createGeneveScratch,
  decodeGeneve,
  decodeGeneveInto,
  encodeAwsOptions,
  encodeGeneve,
  GENEVE_DROP_REASONS,
  type GeneveDropReason,
  geneveHeaderEquals,
  type GeneveOption,
  GWLB_HEADER_LENGTH,
  listGeneveOptions,
} from "@tollgate/appliance";

/** An inner packet that passes the version check: first nibble 4 (or 6). */
function inner(version: 4 | 6, len = 28): Buffer {
  const b = Buffer.alloc(len, 0xab);
  b[0] = version === 4 ? 0x45 : 0x60;
  return b;
}

/** GWLB header as built byte by byte from the gwlb-emu layout (not via the encoder). */
function gwlbBytes(eni: bigint, attach: bigint, cookie: number, proto = 0x0800): Buffer {
  const g = Buffer.alloc(40);
  g[0] = 8; // opt len 32 bytes / 4
  g.writeUInt16BE(proto, 2);
  g.writeUInt16BE(0x0108, 8);
  g[10] = 1;
  g[11] = 2;
  g.writeBigUInt64BE(eni, 12);
  g.writeUInt16BE(0x0108, 20);
  g[22] = 2;
  g[23] = 2;
  g.writeBigUInt64BE(attach, 24);
  g.writeUInt16BE(0x0108, 32);
  g[34] = 3;
  g[35] = 1;
  g.writeUInt32BE(cookie, 36);
  return g;
}

function expectDrop(buf: Buffer, reason: GeneveDropReason): void {
  const r = decodeGeneve(buf);
  assert.equal(r.ok, false, `expected ${reason}`);
  if (!r.ok) assert.equal(r.error, reason);
}

const ENI = 0x2b8ee1d4db0c5100n;
const ATT = 0x0a77ac4e00000000n;

describe("GENEVE codec", () => {
  it("decodes what GWLB (gwlb-emu) sends", () => {
    const pkt = Buffer.concat([gwlbBytes(ENI, ATT, 0xdeadbeef), inner(4)]);
    const r = decodeGeneve(pkt);
    assert.ok(r.ok);
    assert.equal(r.headerLength, GWLB_HEADER_LENGTH);
    assert.equal(r.innerOffset, 40);
    assert.equal(r.innerLength, 28);
    assert.equal(r.header.endpointId, ENI);
    assert.equal(r.header.attachmentId, ATT);
    assert.equal(r.header.flowCookie, 0xdeadbeef);
    assert.equal(r.header.protocolType, 0x0800);
    assert.equal(r.header.vni, 0);
    assert.equal(r.header.critical, false);
    assert.deepEqual(r.header.options, pkt.subarray(8, 40));
  });

  it("honours offset and length (UDP payload inside a larger buffer)", () => {
    const pkt = Buffer.concat([
      Buffer.alloc(13, 0xff),
      gwlbBytes(ENI, ATT, 7, 0x86dd),
      inner(6, 60),
      Buffer.alloc(9),
    ]);
    const r = decodeGeneve(pkt, 13, 100);
    assert.ok(r.ok);
    assert.equal(r.innerOffset, 53);
    assert.equal(r.innerLength, 60);
    assert.equal(r.header.protocolType, 0x86dd);
  });

  it("decodes max ids and the hot-path scratch agrees", () => {
    const max = (1n << 64n) - 1n;
    const pkt = Buffer.concat([gwlbBytes(max, max, 0xffffffff), inner(4)]);
    const r = decodeGeneve(pkt);
    assert.ok(r.ok);
    assert.equal(r.header.endpointId, max);
    assert.equal(r.header.flowCookie, 0xffffffff);
    const s = createGeneveScratch();
    assert.equal(decodeGeneveInto(pkt, 0, pkt.length, s), undefined);
    assert.equal(s.endpointIdHi, 0xffffffff);
    assert.equal(s.endpointIdLo, 0xffffffff);
  });

  it("drops each malformation with its reason", () => {
    const good = Buffer.concat([gwlbBytes(ENI, ATT, 1), inner(4)]);
    expectDrop(Buffer.alloc(7), "TOO_SHORT");
    expectDrop(Buffer.alloc(0), "TOO_SHORT");
    let b = Buffer.from(good);
    b[0] = 0x48; // version 1
    expectDrop(b, "BAD_VERSION");
    expectDrop(good.subarray(0, 39), "BAD_OPTLEN");
    b = Buffer.from(good);
    b[1] = 0x80;
    expectDrop(b, "OAM");
    b = Buffer.from(good);
    b.writeUInt16BE(0x6558, 2); // Ethernet
    expectDrop(b, "UNSUPPORTED_PROTOCOL");
    b = Buffer.from(good);
    b[11] = 3; // endpoint option claims 12 bytes
    expectDrop(b, "BAD_OPTION");
    b = Buffer.from(good);
    b[35] = 2; // cookie option claims 8 bytes: overruns the options area
    expectDrop(b, "BAD_OPTION");
    b = Buffer.from(good);
    b[22] = 1; // attachment option turned into a second endpoint option
    expectDrop(b, "DUPLICATE_AWS_OPTION");
    b = Buffer.from(good);
    b[34] = 9; // cookie turned into an unknown non-critical option
    expectDrop(b, "MISSING_AWS_OPTION");
    b = Buffer.from(good);
    b[34] = 0x89; // unknown critical option
    expectDrop(b, "UNKNOWN_CRITICAL_OPTION");
    b = Buffer.from(good);
    b[33] = 0x09; // class 0x0108 -> 0x0109: an unknown option of another class
    expectDrop(b, "MISSING_AWS_OPTION");
    expectDrop(good.subarray(0, 40), "EMPTY_PAYLOAD");
    b = Buffer.from(good);
    b.writeUInt16BE(0x86dd, 2);
    expectDrop(b, "INNER_VERSION_MISMATCH");
    // A truncated option header: opt len 1 word of options, 4 bytes of class/type/len only
    // is fine, but 8 + 4 bytes with a 3-byte remainder cannot happen (words); use option data
    // overrun inside opt len instead.
    const trunc = Buffer.concat([Buffer.from([1, 0, 8, 0, 0, 0, 0, 0]), Buffer.from([1, 8, 1, 2])]);
    expectDrop(Buffer.concat([trunc, inner(4)]), "BAD_OPTION");
  });

  it("keeps unknown non-critical options verbatim and echoes them on re-encode", () => {
    const extra: GeneveOption = {
      optClass: 0xfff0,
      type: 0x11,
      critical: false,
      data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]),
    };
    const pkt = encodeGeneve(
      { endpointId: ENI, attachmentId: ATT, flowCookie: 42, extraOptions: [extra] },
      inner(4),
    );
    const r = decodeGeneve(pkt);
    assert.ok(r.ok);
    const opts = listGeneveOptions(r.header.options);
    assert.ok(opts);
    assert.equal(opts.length, 4);
    assert.equal(opts[3]!.optClass, 0xfff0);
    assert.deepEqual(opts[3]!.data, extra.data);
    const again = encodeGeneve(
      { ...r.header, options: r.header.options },
      pkt.subarray(r.innerOffset),
    );
    assert.deepEqual(again, pkt);
  });

  it("exports every drop reason once", () => {
    assert.equal(new Set(GENEVE_DROP_REASONS).size, GENEVE_DROP_REASONS.length);
    assert.ok(GENEVE_DROP_REASONS.includes("MISSING_AWS_OPTION"));
  });

  it("copies and compares stored headers", () => {
    const pkt = Buffer.concat([Buffer.alloc(3), gwlbBytes(ENI, ATT, 5), inner(4)]);
    const h = copyGeneveHeader(pkt, 3, 40);
    assert.deepEqual(h, pkt.subarray(3, 43));
    assert.ok(geneveHeaderEquals(h, pkt, 3));
    pkt[42] = pkt[42]! ^ 1;
    assert.ok(!geneveHeaderEquals(h, pkt, 3));
    assert.ok(!geneveHeaderEquals(h, pkt, pkt.length - 10));
    assert.ok(!geneveHeaderEquals(h, pkt, -1));
  });

  it("property: decode never throws on arbitrary bytes, offsets and lengths", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: -5, max: 400 }),
        fc.integer({ min: -5, max: 400 }),
        (bytes, off, len) => {
          const buf = Buffer.from(bytes);
          const r = decodeGeneve(buf, off, len);
          if (r.ok) {
            assert.ok(r.innerOffset + r.innerLength <= buf.length);
            assert.ok(r.innerLength > 0);
          }
          const d = decodeGeneve(buf);
          if (!d.ok) assert.ok(GENEVE_DROP_REASONS.includes(d.error));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("property: decode never throws on mutated valid packets", () => {
    const base = Buffer.concat([gwlbBytes(ENI, ATT, 9), inner(4, 40)]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 6 }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = Buffer.from(base);
          for (const [i, v] of edits) b[i] = v;
          const r = decodeGeneve(b.subarray(0, cut));
          if (r.ok) assert.ok(r.headerLength <= cut);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("property: encode/decode round trip", () => {
    const optionArb: fc.Arbitrary<GeneveOption> = fc.record({
      optClass: fc.integer({ min: 0, max: 0xffff }).filter((c) => c !== 0x0108),
      type: fc.integer({ min: 0, max: 127 }),
      critical: fc.constant(false),
      data: fc
        .integer({ min: 0, max: 8 })
        .chain((w) =>
          fc.uint8Array({ minLength: w * 4, maxLength: w * 4 }).map((a) => Buffer.from(a)),
        ),
    });
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.boolean(),
        fc.array(optionArb, { maxLength: 4 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (endpointId, attachmentId, flowCookie, vni, v6, extraOptions, body) => {
          const payload = Buffer.from(body);
          payload[0] = ((v6 ? 6 : 4) << 4) | (payload[0]! & 0x0f);
          const pkt = encodeGeneve(
            { endpointId, attachmentId, flowCookie, vni, extraOptions },
            payload,
          );
          const r = decodeGeneve(pkt);
          assert.ok(r.ok, r.ok ? "" : r.error);
          assert.equal(r.header.endpointId, endpointId);
          assert.equal(r.header.attachmentId, attachmentId);
          assert.equal(r.header.flowCookie, flowCookie);
          assert.equal(r.header.vni, vni);
          assert.equal(r.header.protocolType, v6 ? 0x86dd : 0x0800);
          assert.deepEqual(pkt.subarray(r.innerOffset), payload);
          assert.deepEqual(
            listGeneveOptions(r.header.options)!.slice(3),
            extraOptions.map((o) => ({ ...o })),
          );
          assert.deepEqual(encodeGeneve(r.header, payload), pkt);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("builds the AWS options like GWLB", () => {
    assert.deepEqual(
      encodeAwsOptions(ENI, ATT, 0xdeadbeef),
      gwlbBytes(ENI, ATT, 0xdeadbeef).subarray(8),
    );
    assert.throws(() =>
      encodeGeneve({ endpointId: 1n, attachmentId: 1n, flowCookie: 1, options: Buffer.alloc(3) }),
    );
  });
});
