import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  parseTollgateConfig,
  configTables,
  renderConfigDocs,
  int,
  section,
} from "@tollgate/components";
import { readStackConfig } from "../../scripts/plan";

const ROOT = path.resolve(__dirname, "../../..");

function throwsExactly(fn: () => unknown, msg: string): void {
  assert.throws(fn, (e: Error) => {
    assert.strictEqual(e.message, msg);
    return true;
  });
}

describe("parseTollgateConfig (typed config reader)", () => {
  it("reads Pulumi.dev.yaml (only aws:region set) into the schema's defaults", () => {
    const raw = readStackConfig(path.join(ROOT, "Pulumi.dev.yaml"));
    assert.deepStrictEqual(raw, { "aws:region": "us-east-1" });
    const cfg = parseTollgateConfig(
      Object.fromEntries(Object.entries(raw).filter(([k]) => !k.includes(":"))),
    );
    assert.deepStrictEqual(cfg, parseTollgateConfig({}));
    assert.strictEqual(cfg.azCount, undefined, "computed at resolve time (2)");
    assert.strictEqual(cfg.ipv6, false);
    assert.strictEqual(cfg.inspection?.healthCheck?.port, 8080);
    assert.strictEqual(cfg.inspection?.stickiness, "5-tuple");
    assert.strictEqual(cfg.fleet?.scaling?.metric, "datapath-cpu");
    assert.strictEqual(cfg.fleet?.minSizePerAz, 1);
    assert.strictEqual(cfg.egress?.enabled, false);
  });

  it("accepts the string / JSON forms Pulumi stores values in", () => {
    const cfg = parseTollgateConfig({
      azCount: "3",
      ipv6: "true",
      fleet: JSON.stringify({ minSizePerAz: "2", maxSizePerAz: 5 }),
      egress: '{"enabled": true, "spokes": [{"name": "a", "cidr": "10.9.0.0/16"}]}',
    });
    assert.strictEqual(cfg.azCount, 3);
    assert.strictEqual(cfg.ipv6, true);
    assert.strictEqual(cfg.fleet?.minSizePerAz, 2);
    assert.strictEqual(cfg.fleet?.maxSizePerAz, 5);
    assert.strictEqual(cfg.egress?.spokes?.[0]?.cidr, "10.9.0.0/16");
  });

  it("names the key of every type error", () => {
    throwsExactly(
      () => parseTollgateConfig({ azCount: "two" }),
      'tollgate:azCount: must be a number, got string "two". Fix: give a plain number such as 2.',
    );
    throwsExactly(
      () => parseTollgateConfig({ ipv6: "yes" }),
      'tollgate:ipv6: must be true or false, got string "yes". Fix: write true or false.',
    );
    throwsExactly(
      () => parseTollgateConfig({ inspection: { stickiness: "4-tuple" } }),
      'tollgate:inspection.stickiness: "4-tuple" is not allowed. Fix: use one of 5-tuple, 3-tuple, 2-tuple.',
    );
    throwsExactly(
      () => parseTollgateConfig({ fleet: [1] }),
      "tollgate:fleet: must be an object, got a list. Fix: use a YAML mapping (key: value lines).",
    );
    throwsExactly(
      () => parseTollgateConfig({ egress: { spokes: { a: 1 } } }),
      'tollgate:egress.spokes: must be a list of objects, got object {"a":1}. Fix: use a YAML list of mappings.',
    );
    throwsExactly(
      () => parseTollgateConfig({ availabilityZones: [1] }),
      "tollgate:availabilityZones: must be a list of strings, got a list. Fix: use a YAML list of strings.",
    );
    throwsExactly(
      () => parseTollgateConfig({ fleet: "{oops" }),
      "tollgate:fleet: is not valid JSON. Fix: check the brackets and quotes of the value.",
    );
    throwsExactly(
      () => parseTollgateConfig({ inspection: { vpcCidr: true } }),
      "tollgate:inspection.vpcCidr: must be a string, got boolean true. Fix: quote the value.",
    );
  });

  it("says what replaced a retired fleet key", () => {
    throwsExactly(
      () => parseTollgateConfig({ fleet: { minSize: 2 } }),
      "tollgate:fleet.minSize: is no longer a setting. Fix: the fleet is one Auto Scaling group per AZ: set tollgate:fleet.minSizePerAz (instances each AZ keeps, at least 1).",
    );
    throwsExactly(
      () => parseTollgateConfig({ fleet: { instanceRefreshMinHealthyPercentage: 50 } }),
      "tollgate:fleet.instanceRefreshMinHealthyPercentage: is no longer a setting. Fix: remove it: every replacement now launches the new instance before terminating the old one (100% minimum healthy).",
    );
  });

  it("rejects unknown keys and suggests the closest one", () => {
    throwsExactly(
      () => parseTollgateConfig({ fleet: { minSizePerA: 2 } }),
      "tollgate:fleet.minSizePerA: is not a known setting. Fix: did you mean tollgate:fleet.minSizePerAz.",
    );
    throwsExactly(
      () => parseTollgateConfig({ azcount: 2 }),
      "tollgate:azcount: is not a known setting. Fix: did you mean tollgate:azCount.",
    );
    assert.throws(
      () => parseTollgateConfig({ zzzzzzzz: 1 }),
      /tollgate:zzzzzzzz: is not a known setting\. Fix: use one of namePrefix, azCount/,
    );
    assert.throws(
      () =>
        parseTollgateConfig({
          northSouth: {
            adopt: { workloadSubnets: [{ id: "subnet-1", cidr: "10.0.0.0/24", az: "x" }] },
          },
        }),
      /tollgate:northSouth.adopt.workloadSubnets\[0\].az: is not a known setting/,
    );
  });

  it("docs/configuration.md has every reference table exactly as the schema renders it", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
    assert.ok(
      renderConfigDocs(doc) === doc,
      "the tables in docs/configuration.md drift from components/schema/stack.ts: run npm run docs:config",
    );
  });

  it("renders type, range and default from the schema; a key without docs is an error", () => {
    assert.throws(
      () => configTables(section({ fleet: section({ newKnob: int(1, 5).default(2) }) })),
      /tollgate:fleet.newKnob has no documentation/,
    );
    assert.match(configTables()["fleet"]!, /\| `fleet.scaling.targetValue` \| number \|/);
    assert.match(configTables()["fleet"]!, /\| `fleet.minSizePerAz` \| number \(1-100\) \| `1` \|/);
  });
});
