import { strict as assert } from "node:assert";
import fc from "fast-check";
import { base60, endpointInfo, hex17, parseBase60, tunNames } from "@tollgate/appliance";

describe("naming (reference-compatible)", () => {
  it("encodes base 60 with digits 0-9a-zA-X, msd first, no padding", () => {
    assert.equal(base60(0n), "0");
    assert.equal(base60(9n), "9");
    assert.equal(base60(10n), "a");
    assert.equal(base60(35n), "z");
    assert.equal(base60(36n), "A");
    assert.equal(base60(59n), "X");
    assert.equal(base60(60n), "10");
    assert.equal(base60(3599n), "XX");
    // The reference's documented maximum for a uint64.
    assert.equal(base60((1n << 64n) - 1n), "uur953OEv0f");
  });

  it("names gwlb-emu's first endpoint like the reference does", () => {
    // 0x2b8ee1d4db0c5100 computed independently: repeated division by 60.
    let v = 0x2b8ee1d4db0c5100n;
    let s = "";
    const d = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    while (v >= 60n) {
      s = d[Number(v % 60n)] + s;
      v /= 60n;
    }
    s = d[Number(v)] + s;
    assert.deepEqual(tunNames(0x2b8ee1d4db0c5100n), { gwi: `gwi-${s}`, gwo: `gwo-${s}` });
    assert.ok(`gwi-${s}`.length <= 15);
  });

  it("hex17 zero-pads to 17 digits", () => {
    assert.equal(hex17(0x2b8ee1d4db0c51c4n), "02b8ee1d4db0c51c4");
    assert.equal(hex17(0n), "00000000000000000");
    assert.equal(hex17((1n << 64n) - 1n), "0ffffffffffffffff");
    const info = endpointInfo(0x2b8ee1d4db0c51c4n);
    assert.equal(info.idHex17, "02b8ee1d4db0c51c4");
    assert.ok(info.gwi.startsWith("gwi-") && info.gwo.startsWith("gwo-"));
  });

  it("rejects out-of-range ids", () => {
    assert.throws(() => base60(-1n), RangeError);
    assert.throws(() => base60(1n << 64n), RangeError);
    assert.throws(() => hex17(-1n), RangeError);
    assert.equal(parseBase60("Y"), undefined);
    assert.equal(parseBase60(""), undefined);
    assert.equal(parseBase60("uur953OEv0g"), undefined);
  });

  it("property: base60 round-trips and names fit in 15 characters", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (id) => {
        const x = base60(id);
        assert.equal(parseBase60(x), id);
        assert.ok(!x.startsWith("0") || x === "0");
        assert.ok(tunNames(id).gwi.length <= 15);
        assert.equal(BigInt("0x" + hex17(id)), id);
      }),
    );
  });
});
