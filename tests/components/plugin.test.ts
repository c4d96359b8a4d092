/**
 * What `pulumi package add` needs from components/ (the CLI cannot run here): PulumiPlugin.yaml
 * with the Node.js runtime, and a package whose exported components Pulumi's own schema inference
 * (the analyzer the Node.js plugin host runs, from @pulumi/pulumi) accepts. It rejects, among
 * others, constructors whose `args` is not one interface, union and intersection types, readonly
 * arrays and anonymous object types, so this test fails as soon as an exported component drifts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as components from "@tollgate/components";
import * as yaml from "yaml";

interface Property {
  readonly type?: string;
  readonly $ref?: string;
  readonly plain?: boolean;
  readonly optional?: boolean;
  readonly description?: string;
}
interface AnalyzeResult {
  readonly components: Record<string, { inputs: Record<string, Property> }>;
  readonly typeDefinitions: Record<
    string,
    { properties?: Record<string, Property>; enum?: { value: string }[] }
  >;
}
// The Node.js plugin host's own modules (not in @pulumi/pulumi's typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Analyzer } = require("@pulumi/pulumi/provider/experimental/analyzer") as {
  Analyzer: new (
    dir: string,
    name: string,
    pkg: Record<string, unknown>,
    names: Set<string>,
  ) => { analyze(): AnalyzeResult };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getPulumiComponents } = require("@pulumi/pulumi/provider/experimental/provider") as {
  getPulumiComponents(exports: unknown): { name: string }[];
};

const dir = path.dirname(require.resolve("@tollgate/components/package.json"));
const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Record<
  string,
  unknown
>;

describe("component package for other languages (PulumiPlugin.yaml)", function () {
  this.timeout(300_000);
  let schema: AnalyzeResult;
  const names = getPulumiComponents(components).map((c) => c.name);

  before(() => {
    schema = new Analyzer(dir, "components", pkg, new Set(names)).analyze();
  });

  it("declares the Node.js runtime next to the package", () => {
    const plugin = yaml.parse(fs.readFileSync(path.join(dir, "PulumiPlugin.yaml"), "utf8")) as {
      runtime: unknown;
    };
    assert.equal(plugin.runtime, "nodejs");
    assert.ok(fs.existsSync(path.join(dir, "tsconfig.json")), "the analyzer reads tsconfig.json");
    assert.ok(fs.existsSync(path.join(dir, "index.ts")), "the analyzer starts at index.ts");
  });

  it("exports every component, and schema inference accepts each", () => {
    assert.deepEqual([...names].sort(), [
      "ApplianceDelivery",
      "Egress",
      "EndpointService",
      "InspectedVpc",
      "Inspection",
    ]);
    assert.deepEqual(Object.keys(schema.components).sort(), [...names].sort());
  });

  it("adopt takes ids as inputs (an awsx VPC's outputs), CIDRs and AZs as plain values", () => {
    const adopt = schema.typeDefinitions["AdoptVpcArgs"]!.properties!;
    const subnet = schema.typeDefinitions["AdoptedSubnetArgs"]!.properties!;
    for (const p of [adopt["vpcId"], adopt["internetGatewayId"], subnet["id"]]) {
      assert.equal(p?.type, "string");
      assert.ok(!p?.plain, "an id is an Input");
    }
    assert.equal(subnet["routeTableId"]?.optional, true);
    for (const p of [adopt["vpcCidr"], subnet["cidr"], subnet["availabilityZone"]]) {
      assert.equal(p?.plain, true, "planned at construction");
    }
  });

  it("string choices become enums and every description is text", () => {
    assert.deepEqual(
      schema.typeDefinitions["Stickiness"]!.enum!.map((e) => e.value),
      ["5-tuple", "3-tuple", "2-tuple"],
    );
    assert.deepEqual(
      schema.typeDefinitions["FlowLogDestination"]!.enum!.map((e) => e.value),
      ["cloud-watch-logs", "s3"],
    );
    const text = JSON.stringify(schema);
    assert.ok(
      !text.includes("[object Object]"),
      "a {@link} in a property doc breaks the schema text",
    );
  });
});
