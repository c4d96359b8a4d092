import * as assert from "assert";
import {
  architectureOf,
  INSTANCE_TYPES,
  KNOWN_REGIONS,
  knownAzs,
  PROVIDER_REGIONS,
} from "@tollgate/components";

describe("offline tables: regions and instance types", () => {
  it("every region of the AZ table is one @pulumi/aws knows, with AZs named after it", () => {
    for (const r of KNOWN_REGIONS) {
      assert.ok(PROVIDER_REGIONS.includes(r), `${r} is in @pulumi/aws's Region enum`);
      const azs = knownAzs(r)!;
      assert.ok(azs.length >= 2, `${r} has at least two AZs`);
      for (const az of azs) assert.match(az, new RegExp(`^${r}[a-z]$`));
    }
    assert.strictEqual(knownAzs("us-east-9"), undefined);
  });

  it("the architecture follows the family: Graviton (g after the generation) is arm64", () => {
    const cases: Record<string, string> = {
      "c7gn.large": "arm64",
      "m6g.xlarge": "arm64",
      "t4g.micro": "arm64",
      "a1.large": "arm64",
      "im4gn.large": "arm64",
      "g5g.xlarge": "arm64",
      "c6in.large": "x86_64",
      "g4dn.xlarge": "x86_64",
      "m7i-flex.large": "x86_64",
      "c6a.large": "x86_64",
    };
    for (const [type, arch] of Object.entries(cases)) {
      assert.ok(INSTANCE_TYPES.includes(type), `${type} is in the list`);
      assert.strictEqual(architectureOf(type), arch, type);
    }
    assert.deepStrictEqual(Object.keys(architectureOf("mac2.metal") as object), ["unsupported"]);
  });
});
