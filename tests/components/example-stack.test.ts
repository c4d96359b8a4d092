/**
 * Pulumi.dev.yaml is safe to copy: it is rendered from the schema (sets only aws:region, shows
 * every other key commented out with its real default), and changing any one documented key alone
 * in a copy still validates (or, for a value that needs a companion key, fails naming that key).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { exampleKnobs, exampleStackFile, resolveTollgate } from "@tollgate/components";
import { readStackConfig } from "../../scripts/plan";

const ROOT = path.resolve(__dirname, "../../..");
const FACTS = {
  region: "us-east-1",
  accountId: "123456789012",
  partition: "aws",
  availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
};

/** Values that need a companion key by design (no silent default): the error must name it. */
const NEEDS: Readonly<Record<string, RegExp>> = {
  "fleet.scaling.metric=cpu": /targetValue/,
  "fleet.scaling.metric=network-in": /targetValue/,
  "flowLogs.destination=s3": /s3BucketArn/,
};

function setAt(cfg: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let o = cfg;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys.at(-1)!] = value;
}

describe("Pulumi.dev.yaml (safe to copy)", function () {
  this.timeout(60000);

  it("is what the schema renders (npm run docs:config) and sets only aws:region", () => {
    const file = path.join(ROOT, "Pulumi.dev.yaml");
    assert.strictEqual(fs.readFileSync(file, "utf8"), exampleStackFile());
    assert.deepStrictEqual(YAML.parse(exampleStackFile()), {
      config: { "aws:region": "us-east-1" },
    });
    assert.deepStrictEqual(readStackConfig(file), { "aws:region": "us-east-1" });
  });

  it("shows every documented key with its default", () => {
    const text = exampleStackFile();
    for (const k of exampleKnobs()) {
      const line = new RegExp(`^ {2}# {1,}(tollgate:)?${k.path.at(-1)}:`, "m");
      assert.match(text, line, k.path.join("."));
    }
  });

  for (const k of exampleKnobs()) {
    const values = [
      ...(k.default === undefined ? [] : [k.default]),
      ...k.choices.filter((c) => c !== k.default),
    ];
    for (const value of values) {
      const name = `${k.path.join(".")}=${String(typeof value === "object" ? JSON.stringify(value) : value)}`;
      it(`changing only ${name} validates`, () => {
        const cfg: Record<string, unknown> = {};
        setAt(cfg, k.path, structuredClone(value));
        const needs = NEEDS[name];
        if (needs) assert.throws(() => resolveTollgate(cfg, FACTS, ROOT), needs);
        else resolveTollgate(cfg, FACTS, ROOT);
      });
    }
  }
});
