import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { alertLogLine, decodeEveLine, ENDPOINT_FIELD } from "@tollgate/appliance";
import {
  SURICATA6_ALERT,
  SURICATA7_ALERT,
  SURICATA7_FLOW,
  SURICATA7_IPS_BLOCKED,
  SURICATA7_STATS,
} from "./eve-lines";

describe("EVE line codec", () => {
  it("decodes a Suricata 7 alert", () => {
    const d = decodeEveLine(SURICATA7_ALERT);
    assert.equal(d.kind, "alert");
    if (d.kind !== "alert") return;
    assert.deepEqual(d.alert, {
      time: "2025-12-03T12:00:00.123456+0000",
      action: "allowed",
      signatureId: 1000001,
      gid: 1,
      rev: 2,
      signature: "TOLLGATE test signature",
      category: "Misc activity",
      severity: 3,
      proto: "UDP",
      src: "10.0.1.10",
      srcPort: 40000,
      dest: "198.51.100.7",
      destPort: 5353,
      appProto: "failed",
    });
  });

  it("decodes a Suricata 7 IPS drop as blocked, with the NFQ queue as interface", () => {
    const d = decodeEveLine(SURICATA7_IPS_BLOCKED);
    assert.ok(d.kind === "alert");
    assert.equal(d.alert.action, "blocked");
    assert.equal(d.alert.inIface, "0");
  });

  it("decodes a Suricata 6 alert with its af-packet interface", () => {
    const d = decodeEveLine(SURICATA6_ALERT);
    assert.ok(d.kind === "alert");
    assert.equal(d.alert.signatureId, 2100498);
    assert.equal(d.alert.inIface, "gwi-5bqWvzLwwh4");
    assert.equal(d.alert.appProto, "http");
  });

  it("classifies other event types as events", () => {
    assert.deepEqual(decodeEveLine(SURICATA7_STATS), { kind: "event", eventType: "stats" });
    assert.deepEqual(decodeEveLine(SURICATA7_FLOW), { kind: "event", eventType: "flow" });
  });

  it("classifies by the top-level event_type, not by one quoted inside a value", () => {
    const http = `{"timestamp":"t","event_type":"http","src_ip":"10.0.0.1","http":{"http_user_agent":"x\\"event_type\\":\\"alert\\""}}`;
    assert.deepEqual(decodeEveLine(http), { kind: "event", eventType: "http" });
    const alertWithText = SURICATA7_ALERT.replace(
      '"TOLLGATE test signature"',
      '"sig \\"event_type\\":\\"flow\\""',
    );
    const d = decodeEveLine(alertWithText);
    assert.ok(d.kind === "alert");
    assert.equal(d.alert.signature, 'sig "event_type":"flow"');
  });

  it("reports bad lines with a reason", () => {
    const cases: [string, RegExp][] = [
      ["not json", /not JSON/],
      ["[1,2]", /not a JSON object/],
      ["null", /not a JSON object/],
      ['{"timestamp":"x"}', /no event_type/],
      [SURICATA7_ALERT.slice(0, 120), /not JSON/],
      [SURICATA7_ALERT.replace('"signature_id":1000001', '"signature_id":"x"'), /signature_id/],
      [SURICATA7_ALERT.replace('"src_port":40000', '"src_port":70000'), /src_port/],
    ];
    for (const [line, reason] of cases) {
      const d = decodeEveLine(line);
      assert.equal(d.kind, "bad", line);
      if (d.kind === "bad") assert.match(d.reason, reason);
    }
  });

  it("maps unknown actions to other", () => {
    const d = decodeEveLine(SURICATA7_ALERT.replace('"allowed"', '"rejected-ish"'));
    assert.ok(d.kind === "alert");
    assert.equal(d.alert.action, "other");
  });

  it("never throws", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
        const d = decodeEveLine(line);
        assert.ok(["alert", "event", "bad"].includes(d.kind));
      }),
    );
  });

  it("the alert log line is the EVE object plus the endpoint, and decodes back", () => {
    const d = decodeEveLine(SURICATA7_ALERT);
    assert.ok(d.kind === "alert");
    const line = alertLogLine(d.raw, "vpce-02b8ee1d4db0c5100");
    assert.equal(
      (JSON.parse(line) as Record<string, unknown>)[ENDPOINT_FIELD],
      "vpce-02b8ee1d4db0c5100",
    );
    const back = decodeEveLine(line);
    assert.ok(back.kind === "alert");
    assert.deepEqual(back.alert, { ...d.alert, endpoint: "vpce-02b8ee1d4db0c5100" });
    assert.equal(alertLogLine(d.raw, undefined), JSON.stringify(d.raw));
  });
});
