/** The reply direction of a `suricata.traffic` match: every key kept, swapped or mapped. */
import assert from "node:assert/strict";
import {
  bothDirections,
  REPLY_FIELDS,
  replyOf,
  trafficSchema,
  type ReplyTable,
  type TrafficMatch,
} from "@tollgate/appliance";

/** A match with every key set, each to a value distinct from its swap partner's. */
const FULL: Required<TrafficMatch> = {
  proto: "tcp",
  family: "ipv4",
  comment: "web",
  src: "10.0.0.0/8",
  dst: ["192.0.2.1/32"],
  ports: 443,
  sourcePorts: "1024-65535",
  direction: "in",
};

describe("traffic reply direction", () => {
  it("classifies every key the schema accepts", () => {
    assert.deepEqual(
      Object.keys(REPLY_FIELDS).sort(),
      Object.keys(trafficSchema.shape).sort(),
      "a key the schema accepts but the reply table does not classify is dropped from the reply",
    );
  });

  it("carries every key of a full match into the reply, swapped where directional", () => {
    trafficSchema.parse(FULL);
    const reply = replyOf(FULL);
    assert.deepEqual(reply, {
      proto: "tcp",
      family: "ipv4",
      comment: "web",
      src: ["192.0.2.1/32"],
      dst: "10.0.0.0/8",
      ports: "1024-65535",
      sourcePorts: 443,
      direction: "out",
    });
    for (const key of Object.keys(trafficSchema.shape)) {
      assert.ok(key in reply, `${key} survives into the reply`);
    }
  });

  it("the reply of the reply is the match (swaps are pairs, maps invert)", () => {
    for (const direction of ["in", "out", "any"] as const) {
      const match = { ...FULL, direction };
      assert.deepEqual(replyOf(replyOf(match)), match);
    }
    assert.deepEqual(bothDirections({}), [{}, {}]);
    assert.deepEqual(bothDirections({ ports: 53 }), [{ ports: 53 }, { sourcePorts: 53 }]);
  });

  it("a table that leaves a key unclassified does not compile", () => {
    const { comment: _unclassified, ...partial } = REPLY_FIELDS;
    // @ts-expect-error comment is missing: every TrafficMatch key must be classified
    const table: ReplyTable = partial;
    // @ts-expect-error a swap partner must have the same type (proto is not an address list)
    const badSwap: ReplyTable = { ...REPLY_FIELDS, src: (src) => ({ proto: src }) };
    assert.equal(Object.keys(table).length, Object.keys(REPLY_FIELDS).length - 1);
    assert.ok(badSwap);
  });
});
