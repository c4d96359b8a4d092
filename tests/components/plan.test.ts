import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXAMPLE_CONFIGS } from "../../scripts/capture";
import { planPaths } from "../../scripts/plan";
import { retarget } from "../policy/helpers";
import { example, plan } from "./helpers";

const ROOT = path.resolve(__dirname, "../../..");

describe("npm run plan", function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-plan-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("prints the hops for every inspected subnet of Pulumi.dev.yaml", async () => {
    const r = await plan(["--config", path.join(ROOT, "Pulumi.dev.yaml")]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Tollgate plan for .*Pulumi\.dev\.yaml: region us-east-1, AZs us-east-1a, us-east-1b, \d+ resources/,
    );
    for (const az of ["us-east-1a", "us-east-1b"]) {
      assert.ok(r.out.includes(`north-south  tollgate-ns-workload-${az} (subnet-`));
      assert.match(
        r.out,
        new RegExp(
          `route table "tollgate-ns-workload-rt-${az}" \\(rtb-\\w+\\): 0\\.0\\.0\\.0/0 -> GWLB endpoint "tollgate-ns-gwlbe-${az}" \\(vpce-`,
        ),
      );
      assert.match(
        r.out,
        new RegExp(
          `GWLB endpoint "tollgate-ns-gwlbe-${az}" \\(vpce-\\w+\\) \\[${az}\\] \\(inspected\\)`,
        ),
      );
      assert.match(
        r.out,
        new RegExp(
          `route table "tollgate-ns-endpoint-rt-${az}" \\(rtb-\\w+\\): 0\\.0\\.0\\.0/0 -> internet gateway "tollgate-ns-igw" \\(igw-`,
        ),
      );
      assert.ok(r.out.includes(`delivered to subnet "tollgate-ns-workload-${az}"`));
    }
    assert.match(r.out, /GWLB "\S+" -> appliance \(GENEVE udp\/6081\) -> back to the endpoint/);
    assert.strictEqual((r.out.match(/inspected, same AZ/g) ?? []).length, 4);
    assert.doesNotMatch(r.out, /NOT INSPECTED|NOT DELIVERED|!!/);
    assert.match(
      r.out,
      /\n4 paths: every one inspected by the GWLB endpoint of its own AZ and delivered\.\n$/,
    );
    const checked = await plan(["--config", path.join(ROOT, "Pulumi.dev.yaml"), "--check"]);
    assert.strictEqual(checked.code, 0);
  });

  it("--json writes the deployment to stdout, --out to a file", async () => {
    const r = await plan(["--config", path.join(ROOT, "Pulumi.dev.yaml"), "--json"]);
    assert.strictEqual(r.code, 0);
    const dep = JSON.parse(r.out);
    assert.strictEqual(dep.version, 3);
    const file = path.join(tmp, "dep.json");
    const r2 = await plan([
      "--config",
      path.join(ROOT, "Pulumi.dev.yaml"),
      "--json",
      "--out",
      file,
    ]);
    assert.strictEqual(r2.code, 0);
    assert.strictEqual(r2.out, "");
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, "utf8")), dep);
  });

  it("--diagram prints the topology as a Mermaid flowchart, the same as tollgate-policy's", async () => {
    const r = await plan(["--config", path.join(ROOT, "Pulumi.dev.yaml"), "--diagram"]);
    assert.strictEqual(r.code, 0, r.err);
    assert.match(r.out, /^flowchart LR\n/);
    for (const az of ["us-east-1a", "us-east-1b"]) {
      assert.ok(r.out.includes(`["tollgate-ns-workload-${az}<br/>subnet-`), az);
    }
    assert.match(r.out, /<-->\|"GENEVE"\|/);
    const both = await plan([
      "--config",
      path.join(ROOT, "Pulumi.dev.yaml"),
      "--diagram",
      "--json",
    ]);
    assert.strictEqual(both.code, 2);
  });

  it("reports a bad config as one clear line and exit code 2", async () => {
    const file = path.join(tmp, "bad.yaml");
    fs.writeFileSync(
      file,
      "config:\n  aws:region: us-east-1\n  tollgate:fleet:\n    minSizePerAz: 5\n    maxSizePerAz: 2\n",
    );
    const r = await plan(["--config", file]);
    assert.strictEqual(r.code, 2);
    assert.strictEqual(
      r.err,
      "plan: tollgate:fleet.minSizePerAz: 5 is greater than tollgate:fleet.maxSizePerAz (2). Fix: lower minSizePerAz or raise maxSizePerAz to at least 5.\n",
    );
    assert.strictEqual(r.out, "");
    const missing = await plan(["--config", path.join(tmp, "nope.yaml")]);
    assert.strictEqual(missing.code, 2);
    assert.match(missing.err, /^plan: cannot read .*nope\.yaml: ENOENT/);
    fs.writeFileSync(path.join(tmp, "list.yaml"), "config: [1, 2]\n");
    assert.strictEqual((await plan(["--config", path.join(tmp, "list.yaml")])).code, 2);
    assert.strictEqual((await plan(["--no-such-flag"])).code, 2);
  });

  for (const name of Object.keys(EXAMPLE_CONFIGS)) {
    it(`${name}: every path is inspected, stays in its AZ and is delivered`, async () => {
      const s = await example(name);
      const paths = planPaths(s.dep);
      assert.ok(paths.length >= 4);
      for (const { path: p, verdict: v } of paths) {
        const where = `${p.subnet.label} ${p.direction} ${p.dest.text}`;
        assert.ok(v.inspected, `${where} inspected`);
        assert.ok(v.sameAz, `${where} same AZ`);
        assert.ok(v.delivered, `${where} delivered`);
      }
      const egress = (EXAMPLE_CONFIGS[name]!.egress as { enabled?: boolean } | undefined)?.enabled;
      assert.strictEqual(
        paths.some((p) => p.topology === "spoke"),
        egress === true,
        "spoke subnets are walked across the TGW when egress is on",
      );
      const ipv6 = EXAMPLE_CONFIGS[name]!.ipv6 === true;
      assert.strictEqual(
        paths.some((p) => p.path.dest.family === 6),
        ipv6,
      );
    });
  }

  it("flags a route that leaves the AZ and a subnet left uninspected", async () => {
    const s = await example("north-south-2az-ipv4");
    const dep = JSON.parse(JSON.stringify(s.dep)) as typeof s.dep;
    const rs = dep.deployment.resources;
    const epB = rs.find((r) => r.urn.endsWith("::tollgate-ns-gwlbe-us-east-1b"))!;
    const routeA = rs.find((r) => r.urn.endsWith("::tollgate-ns-workload-default-us-east-1a"))!;
    retarget(routeA, "vpcEndpointId", epB);
    const igw = rs.find((r) => r.urn.endsWith("::tollgate-ns-igw"))!;
    const routeB = rs.find((r) => r.urn.endsWith("::tollgate-ns-workload-default-us-east-1b"))!;
    retarget(routeB, "gatewayId", igw);
    const paths = planPaths(dep);
    const at = (az: string) =>
      paths.find((p) => p.path.subnet.az === az && p.path.direction === "outbound")!.verdict;
    assert.strictEqual(at("us-east-1a").sameAz, false);
    assert.strictEqual(at("us-east-1b").inspected, false);
    assert.strictEqual(at("us-east-1b").delivered, true);
  });

  it("exits 3 when a declared route bypasses the endpoint, with or without --check", async () => {
    const s = await example("north-south-2az-ipv4");
    const broken = JSON.parse(JSON.stringify(s.dep)) as typeof s.dep;
    const igw = broken.deployment.resources.find((r) => r.urn.endsWith("::tollgate-ns-igw"))!;
    const route = broken.deployment.resources.find((r) =>
      r.urn.endsWith("::tollgate-ns-workload-default-us-east-1b"),
    )!;
    retarget(route, "gatewayId", igw);
    const r = await plan(
      ["--config", path.join(ROOT, "Pulumi.dev.yaml"), "--check"],
      async () => broken,
    );
    assert.strictEqual(r.code, 3);
    assert.match(r.out, /outbound ipv4 to 0\.0\.0\.0\/0: NOT INSPECTED/);
    assert.match(r.out, /!! leaves the VPC through internet gateway "tollgate-ns-igw"/);
    assert.match(r.out, /4 paths: 1 NOT inspected in their own AZ or not delivered/);
    assert.strictEqual(
      r.err,
      "plan: 1 of 4 paths are not inspected in their own AZ or not delivered: this config must not be deployed\n",
    );
    const plain = await plan(["--config", path.join(ROOT, "Pulumi.dev.yaml")], async () => broken);
    assert.strictEqual(plain.code, 3, "a crossing is an error, not only an output line");
  });
});
