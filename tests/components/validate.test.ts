/**
 * Issue 14's "Why" list, each case run as a user runs it: `npm run plan --config <file>` (runPlan,
 * in process). Every mistake is reported before anything is planned, with the key (or
 * file:line:col), what is wrong and the fix, and the exit code is non-zero.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { plan } from "./helpers";

/** The problem lines of a failed plan (without the `plan: ` prefix and the count line). */
function problems(err: string): string[] {
  return err
    .split("\n")
    .filter((l) => l.startsWith("plan: ") && !/ problems; nothing was planned/.test(l))
    .map((l) => l.slice("plan: ".length));
}

const ADOPT = {
  vpcId: "vpc-0a1b2c3d4e5f60718",
  internetGatewayId: "igw-0a1b2c3d4e5f60718",
  vpcCidr: "10.50.0.0/16",
  endpointSubnets: [
    { availabilityZone: "us-east-1a", cidr: "10.50.255.0/28" },
    { availabilityZone: "us-east-1b", cidr: "10.50.255.16/28" },
  ],
};

describe("npm run plan reports every config mistake before deploy (issue 14)", function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-validate-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Writes `text` (or a config mapping as YAML under `config:`) and plans it. */
  async function planText(name: string, text: string) {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return { file, ...(await plan(["--config", file])) };
  }
  const planConfig = (name: string, config: Record<string, unknown>) =>
    planText(name, YAML.stringify({ config }));

  /** Asserts a failed plan with exactly these problems (regexps, in order), nothing planned. */
  function fails(r: { code: number; out: string; err: string }, expected: RegExp[]): void {
    assert.strictEqual(r.code, 2, r.err);
    assert.strictEqual(r.out, "", "nothing is planned");
    const got = problems(r.err);
    assert.strictEqual(got.length, expected.length, got.join("\n"));
    expected.forEach((re, i) => assert.match(got[i]!, re));
    for (const p of got) assert.match(p, /\. Fix: .+/, `every problem has a fix: ${p}`);
  }

  describe("the delivered rules file is compiled with the daemon's compiler", () => {
    it("a rules file that does not exist", async () => {
      const r = await planConfig("missing-rules.yaml", {
        "aws:region": "us-east-1",
        "tollgate:appliance": { rulesFile: "does-not-exist.yaml" },
      });
      fails(r, [
        /^tollgate:appliance\.rulesFile: does-not-exist\.yaml does not exist \(.*\)\. Fix: create it/,
      ]);
    });

    it("a rules file the daemon refuses (unknown action), with its file:line:col", async () => {
      const rules = path.join(tmp, "bad-rules.yaml");
      fs.writeFileSync(
        rules,
        "version: 1\nrules:\n  - action: allow\n    dst: 10.0.0.0/8\n  - action: permit\n",
      );
      const r = await planConfig("bad-rules-stack.yaml", {
        "aws:region": "us-east-1",
        "tollgate:appliance": { rulesFile: rules },
      });
      fails(r, [
        new RegExp(
          `^tollgate:appliance\\.rulesFile: ${rules.replace(/[.]/g, "\\.")}:5:13: rules\\[1\\]\\.action: .*Fix: .*allow`,
        ),
      ]);
    });

    it("a rules file whose endpoint section does not compile", async () => {
      const rules = path.join(tmp, "nat-rules.yaml");
      fs.writeFileSync(
        rules,
        "version: 1\nendpoints:\n  vpce-0123456789abcdef0:\n    rules:\n      - action: allow\n        direction: in\n",
      );
      const r = await planConfig("nat-rules-stack.yaml", {
        "aws:region": "us-east-1",
        "tollgate:appliance": { rulesFile: rules },
      });
      fails(r, [/^tollgate:appliance\.rulesFile: .*vpce-0123456789abcdef0.*protected/]);
    });

    it("the default and the lab rules files compile", async () => {
      for (const rulesFile of ["examples/rules/default.yaml", "examples/rules/lab.yaml"]) {
        const r = await planConfig("rules-ok.yaml", {
          "aws:region": "us-east-1",
          "tollgate:appliance": { rulesFile },
        });
        assert.strictEqual(r.code, 0, r.err);
      }
    });
  });

  describe("the config file's shape", () => {
    it("settings without the config: wrapper", async () => {
      const r = await planText("no-wrapper.yaml", "aws:region: us-east-1\ntollgate:azCount: 3\n");
      assert.strictEqual(r.code, 2);
      assert.match(
        r.err,
        /no-wrapper\.yaml:1:1: aws:region is not a stack file setting\. Fix: put the stack settings under config:/,
      );
      assert.match(r.err, /no-wrapper\.yaml:2:1: tollgate:azCount is not a stack file setting/);
    });

    it("configs: instead of config:", async () => {
      const r = await planText("configs.yaml", "configs:\n  aws:region: us-east-1\n");
      fails(r, [
        /configs\.yaml:1:1: configs is not a stack file setting\. Fix: did you mean config\?$/,
      ]);
    });

    it("an empty file and an empty config", async () => {
      fails(await planText("empty.yaml", ""), [/empty\.yaml:1:1: is empty\. Fix: /]);
      fails(await planText("empty-config.yaml", "config:\n"), [
        /empty-config\.yaml:1:1: has no config: settings\. Fix: /,
      ]);
    });

    it("a namespace typo and a key without namespace", async () => {
      const r = await planText(
        "namespace.yaml",
        "config:\n  aws:region: us-east-1\n  tolgate:azCount: 3\n  fleet:\n    minSizePerAz: 2\n",
      );
      fails(r, [
        /namespace\.yaml:4:3: fleet has no namespace, which Pulumi refuses\. Fix: write tollgate:fleet/,
        /^tolgate:azCount: namespace tolgate: is not read by this program .*Fix: did you mean tollgate:azCount\?$/,
      ]);
    });

    it("an unknown tollgate: key gets a did you mean", async () => {
      fails(
        await planConfig("unknown.yaml", { "aws:region": "us-east-1", "tollgate:azCuont": 3 }),
        [/^tollgate:azCuont: is not a known setting\. Fix: did you mean tollgate:azCount\.$/],
      );
    });
  });

  describe("the region", () => {
    it("aws:regoin, i.e. no region: never a silent us-east-1", async () => {
      const r = await planConfig("regoin.yaml", { "aws:regoin": "eu-west-1" });
      fails(r, [
        /regoin\.yaml:1:1: aws:region is not set, and the plan does not assume one/,
        /^aws:regoin: is not an AWS provider setting\. Fix: did you mean aws:region\?$/,
      ]);
    });

    it("us-east-9 is not a region (no invented AZs)", async () => {
      const r = await planConfig("east9.yaml", { "aws:region": "us-east-9" });
      fails(r, [
        /east9\.yaml:2:15: aws:region: "us-east-9" is not a known AWS region\. Fix: did you mean us-east-1\?/,
      ]);
    });

    it("the plan prints the region and the AZs it uses", async () => {
      const r = await planConfig("region.yaml", {
        "aws:region": "eu-west-1",
        "tollgate:azCount": 3,
      });
      assert.strictEqual(r.code, 0, r.err);
      assert.match(
        r.out,
        /^Tollgate plan for .*: region eu-west-1, AZs eu-west-1a, eu-west-1b, eu-west-1c,/,
      );
    });

    it("AZs come from the region table", async () => {
      const r = await planConfig("azs.yaml", {
        "aws:region": "ap-northeast-1",
        "tollgate:availabilityZones": ["ap-northeast-1a", "ap-northeast-1b"],
      });
      fails(r, [
        /^tollgate:availabilityZones\[1\]: ap-northeast-1b is not an available AZ of ap-northeast-1\. Fix: use one of ap-northeast-1a, ap-northeast-1c, ap-northeast-1d\.$/,
      ]);
    });
  });

  describe("instance type and architecture", () => {
    it("an instance type that does not exist gets a did you mean", async () => {
      const r = await planConfig("type.yaml", {
        "aws:region": "us-east-1",
        "tollgate:fleet": { instanceType: "c6in.lareg" },
      });
      fails(r, [
        /^tollgate:fleet\.instanceType: "c6in\.lareg" is not an EC2 instance type\. Fix: did you mean c6in\.large\?/,
      ]);
    });

    it("a Graviton type with architecture x86_64, and the reverse, name both keys", async () => {
      const arm = await planConfig("arm.yaml", {
        "aws:region": "us-east-1",
        "tollgate:fleet": { instanceType: "c7gn.large", architecture: "x86_64" },
      });
      fails(arm, [
        /^tollgate:fleet\.architecture: is x86_64 but tollgate:fleet\.instanceType c7gn\.large is arm64 .*Fix: remove tollgate:fleet\.architecture/,
      ]);
      const x86 = await planConfig("x86.yaml", {
        "aws:region": "us-east-1",
        "tollgate:fleet": { instanceType: "c6in.large", architecture: "arm64" },
      });
      fails(x86, [
        /^tollgate:fleet\.architecture: is arm64 but tollgate:fleet\.instanceType c6in\.large is x86_64/,
      ]);
    });

    it("the type's architecture picks the AMI and the release", async () => {
      const r = await plan([
        "--json",
        "--config",
        (
          await planConfig("graviton.yaml", {
            "aws:region": "us-east-1",
            "tollgate:fleet": { instanceType: "m7g.large" },
          })
        ).file,
      ]);
      assert.strictEqual(r.code, 0, r.err);
      const dep = JSON.parse(r.out) as {
        deployment: { resources: { type: string; urn: string; inputs: Record<string, unknown> }[] };
      };
      const pkg = dep.deployment.resources.find((x) =>
        x.urn.endsWith("::tollgate-delivery-package"),
      )!;
      assert.match(String(pkg.inputs.key), /linux-arm64\.tar\.gz$/);
      const lts = dep.deployment.resources.filter(
        (x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate",
      );
      assert.ok(lts.length > 0);
      for (const lt of lts) assert.strictEqual(lt.inputs.instanceType, "m7g.large");
    });
  });

  describe("adoption", () => {
    it("the same subnet id twice and a route table shared across AZs", async () => {
      const r = await planConfig("adopt.yaml", {
        "aws:region": "us-east-1",
        "tollgate:northSouth": {
          adopt: {
            ...ADOPT,
            workloadSubnets: [
              {
                id: "subnet-0aaa0000000000001",
                cidr: "10.50.0.0/20",
                availabilityZone: "us-east-1a",
                routeTableId: "rtb-0bbb0000000000001",
              },
              {
                id: "subnet-0aaa0000000000001",
                cidr: "10.50.0.0/20",
                availabilityZone: "us-east-1a",
              },
              {
                id: "subnet-0aaa0000000000002",
                cidr: "10.50.16.0/20",
                availabilityZone: "us-east-1b",
                routeTableId: "rtb-0bbb0000000000001",
              },
            ],
          },
        },
      });
      fails(r, [
        /^tollgate:northSouth\.adopt\.workloadSubnets\[1\]\.id: subnet-0aaa0000000000001 is listed twice \(also tollgate:northSouth\.adopt\.workloadSubnets\[0\]\)\. Fix: /,
        /^tollgate:northSouth\.adopt\.workloadSubnets\[2\]\.routeTableId: rtb-0bbb0000000000001 is also the table of tollgate:northSouth\.adopt\.workloadSubnets\[0\] in us-east-1a: .*cross AZs\. Fix: /,
      ]);
    });
  });

  it("a file with five mistakes reports all five in one run", async () => {
    const r = await planConfig("five.yaml", {
      "aws:region": "us-east-1",
      "tollgate:azCuont": 2,
      "tollgate:fleet": { instanceType: "c6in.lareg", minSizePerAz: 4, maxSizePerAz: 2 },
      "tollgate:inspection": { stickiness: "3-tuple", tcpIdleTimeoutSeconds: 350 },
      "tollgate:egress": { enabled: true, spokes: [{ name: "a", cidr: "10.10.0.1/16" }] },
    });
    fails(r, [
      /^tollgate:azCuont: is not a known setting/,
      /^tollgate:inspection\.tcpIdleTimeoutSeconds: can only be set with 5-tuple stickiness/,
      /^tollgate:fleet\.instanceType: "c6in\.lareg" is not an EC2 instance type/,
      /^tollgate:fleet\.minSizePerAz: 4 is greater than tollgate:fleet\.maxSizePerAz \(2\)/,
      /^tollgate:egress\.spokes\[0\]\.cidr: 10\.10\.0\.1\/16 has host bits set\. Fix: use 10\.10\.0\.0\/16\.$/,
    ]);
    assert.match(r.err, /plan: 5 problems; nothing was planned/);
  });
});

describe("Pulumi.dev.yaml is safe to copy and change one knob (issue 14)", function () {
  this.timeout(60000);
  const ROOT = path.resolve(__dirname, "../../..");
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-knob-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Pulumi.dev.yaml with one `tollgate:` section key changed, planned. */
  async function withKnob(section: string, key: string[], value: unknown) {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    doc.setIn(["config", `tollgate:${section}`, ...key], value);
    const file = path.join(tmp, `${section}-${key.join(".")}.yaml`);
    fs.writeFileSync(file, doc.toString());
    return plan(["--config", file]);
  }

  it("switching to 3-tuple or 2-tuple stickiness alone plans", async () => {
    for (const s of ["3-tuple", "2-tuple"]) {
      const r = await withKnob("inspection", ["stickiness"], s);
      assert.strictEqual(r.code, 0, r.err);
    }
  });

  it("switching the scaling metric alone asks for its own target, never keeps 60", async () => {
    for (const metric of ["cpu", "network-in"]) {
      const r = await withKnob("fleet", ["scaling", "metric"], metric);
      assert.strictEqual(r.code, 2);
      assert.deepStrictEqual(
        r.err.split("\n").filter((l) => l !== ""),
        [r.err.split("\n")[0]],
        "one problem",
      );
      assert.match(
        r.err,
        new RegExp(`tollgate:fleet\\.scaling\\.targetValue: is required with metric ${metric}`),
      );
    }
  });

  it("a Graviton instance type alone plans (the architecture follows it)", async () => {
    const r = await withKnob("fleet", ["instanceType"], "c7gn.large");
    assert.strictEqual(r.code, 0, r.err);
  });
});
