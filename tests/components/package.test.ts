/**
 * The component package as a user gets it: `npm pack` of @tollgate/components and of the
 * workspace package it depends on (@tollgate/appliance), installed with npm into a scratch
 * program directory outside the repository. Third-party dependencies come from the repository's
 * node_modules as `file:` links (so it runs offline on a fresh CI machine after `npm ci`, and the
 * Pulumi SDK is the one the mocks drive). The scratch program is examples/awsx-vpc (compiled):
 * inspection added to an awsx-style VPC of the same program, adopted through Output ids. It is
 * declared under mocks, exported like `pulumi stack export`, and `tollgate-policy check` of the
 * export must pass.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { captureStack, MOCK_ACCOUNT_ID, regionAzs } from "../../scripts/capture";

const root = path.resolve(__dirname, "../../..");
const REGION = "us-east-1";

function packageJson(dir: string): { name: string; dependencies?: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
    name: string;
    dependencies?: Record<string, string>;
  };
}

/** `npm pack` of a workspace into `dest`; returns the tarball's path. */
function pack(workspace: string, dest: string): string {
  const out = execFileSync(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", dest],
    { cwd: path.join(root, workspace), encoding: "utf8", timeout: 120_000 },
  );
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  assert.ok(info, `npm pack ${workspace} printed no result`);
  return path.join(dest, info.filename);
}

describe("the packed component package in a scratch program", function () {
  this.timeout(600_000);
  let scratch: string;

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-scratch-"));
  });
  after(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("installs from the tarballs and passes the policy pack on an adopted awsx-style VPC", async () => {
    const tarballs = ["components", "appliance"].map((w) => pack(w, scratch));
    const contents = execFileSync("tar", ["-tzf", tarballs[0]!], { encoding: "utf8" }).split("\n");
    assert.ok(contents.includes("package/dist/index.js"), "the package ships its compiled index");
    assert.ok(contents.includes("package/PulumiPlugin.yaml"), "and the plugin manifest");
    assert.ok(!contents.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no sources");

    // Third-party dependencies of both packages, linked from the repository's node_modules.
    const thirdParty = new Set(
      ["components", "appliance"].flatMap((w) =>
        Object.keys(packageJson(path.join(root, w)).dependencies ?? {}).filter(
          (d) => !d.startsWith("@tollgate/"),
        ),
      ),
    );
    const deps = Object.fromEntries(
      [...thirdParty].sort().map((d) => [d, `file:${path.join(root, "node_modules", d)}`]),
    );
    fs.writeFileSync(
      path.join(scratch, "package.json"),
      JSON.stringify({ name: "scratch-program", private: true, dependencies: deps }, null, 2),
    );
    execFileSync(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs],
      { cwd: scratch, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 },
    );
    for (const f of ["program.js", "vpc.js"]) {
      fs.copyFileSync(path.join(root, "build/examples/awsx-vpc", f), path.join(scratch, f));
    }

    // The program resolves the installed copy, not the workspace.
    const installed = require.resolve("@tollgate/components", { paths: [scratch] });
    assert.ok(installed.startsWith(fs.realpathSync(scratch)), `resolved ${installed}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const example = require(
      path.join(scratch, "program.js"),
    ) as typeof import("../../examples/awsx-vpc/program");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require(installed) as typeof import("@tollgate/components");
    const [a, b] = regionAzs(REGION);
    const deployment = await captureStack({
      config: { "aws:region": REGION },
      project: "scratch-program",
      program: async () =>
        example.inspectAwsxVpc({
          aws: { region: REGION, accountId: MOCK_ACCOUNT_ID, partition: "aws" },
          availabilityZones: [a!, b!],
          artifacts: pkg.fakeArtifactSource(),
        }),
    });
    const types = deployment.deployment.resources.map((r) => r.type);
    for (const t of [
      "tollgate:inspectedVpc:InspectedVpc",
      "aws:ec2/vpcEndpoint:VpcEndpoint",
      "aws:ec2/flowLog:FlowLog",
    ]) {
      assert.ok(types.includes(t), `the scratch program declares ${t}`);
    }
    const file = path.join(scratch, "stack-export.json");
    fs.writeFileSync(file, JSON.stringify(deployment, null, 2));
    const cli = path.join(root, "policy/bin/tollgate-policy.js");
    let report: string;
    try {
      report = execFileSync(process.execPath, [cli, "check", file], {
        encoding: "utf8",
        timeout: 120_000,
      });
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      assert.fail(`tollgate-policy check failed (${e.status}):\n${e.stdout}${e.stderr}`);
    }
    assert.match(report, /No violations: \d+ policies passed/, report);
  });
});
