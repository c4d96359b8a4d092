import * as assert from "assert";
import fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import {
  checkRulesFile,
  checkSuricataImage,
  renderCloudWatchAgentConfig,
  renderUserData,
  resolveTollgate,
  SURICATA_SOURCES,
  UserDataInput,
} from "@tollgate/components";
import { runPlan } from "../../scripts/plan";

const SURICATA_RULES = `version: 1
rules:
  - { action: allow }
suricata:
  mode: ips
  failure: open
  signatures:
    - 'drop http any any -> any any (msg:"test"; content:"x"; sid:1000001; rev:1;)'
`;

const base: UserDataInput = {
  amiFamily: "ubuntu-22.04",
  region: "us-east-1",
  bucket: "tollgate-delivery-bucket-c79b09d",
  packageKey: "appliance/3d3512d84a79df74/tollgate-appliance-0.1.0-linux-x86_64.tar.gz",
  packageSha256: "3d3512d84a79df74".repeat(4),
  rulesKey: "rules/7d450ce91f7ad34d/tollgate.yaml",
  rulesSha256: "7d450ce91f7ad34d".repeat(4),
  healthPort: 8080,
  logGroupName: "/tollgate/dev/tollgate-inspection/appliance",
};

/** The body of a bash function `name() { ... }` in the rendered script. */
function functionBody(script: string, name: string): string {
  const start = script.indexOf(`\n${name}() {`);
  assert.ok(start >= 0, `${name} defined`);
  return script.slice(start, script.indexOf("\n}\n", start));
}

describe("Suricata on instances", () => {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-suricata-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("a rules file enables Suricata with a suricata: section", () => {
    const file = (name: string, text: string) => (
      fs.writeFileSync(path.join(tmp, name), text),
      name
    );
    assert.strictEqual(checkRulesFile(file("ips.yaml", SURICATA_RULES), tmp).suricata, true);
    assert.strictEqual(
      checkRulesFile(file("plain.yaml", "version: 1\nrules: []\n"), tmp).suricata,
      false,
    );
    assert.strictEqual(
      checkRulesFile("examples/rules/default.yaml", process.cwd()).suricata,
      false,
    );
    assert.throws(
      () => checkRulesFile(file("null.yaml", "version: 1\nrules: []\nsuricata:\n"), tmp),
      /suricata: null is not a mapping/,
    );
    assert.throws(() => checkRulesFile("absent.yaml", tmp), /absent\.yaml does not exist/);
  });

  it("a preview reads the rules file once, for the rules check and the Suricata image check", async () => {
    const rules = path.join(tmp, "once.yaml");
    fs.writeFileSync(rules, SURICATA_RULES);
    const read = fs.readFileSync;
    let reads = 0;
    fs.readFileSync = ((...args: Parameters<typeof read>) => {
      if (path.resolve(String(args[0])) === rules) reads++;
      return read(...args);
    }) as typeof read;
    try {
      for (const ami of ["al2023", "ubuntu-22.04"]) {
        const stack = path.join(tmp, `Pulumi.${ami}.yaml`);
        fs.writeFileSync(
          stack,
          `config:\n  aws:region: us-east-1\n  tollgate:fleet:\n    amiFamily: ${ami}\n  tollgate:appliance:\n    rulesFile: ${rules}\n`,
        );
        reads = 0;
        const code = await runPlan(["--config", stack], new PassThrough(), new PassThrough());
        assert.strictEqual(code, ami === "al2023" ? 2 : 0, ami);
        assert.strictEqual(reads, 1, `${ami}: rules file reads in one plan`);
      }
    } finally {
      fs.readFileSync = read;
    }
  });

  it("refuses suricata.ruleFiles: the stack delivers the rules file alone", () => {
    const rules = path.join(tmp, "with-files.yaml");
    fs.writeFileSync(rules, `${SURICATA_RULES}  ruleFiles: [local.rules]\n`);
    assert.throws(
      () => checkRulesFile(rules, tmp),
      /^ConfigError: tollgate:appliance\.rulesFile: .*with-files\.yaml names suricata\.ruleFiles \(local\.rules\), which the stack does not deliver .* Fix: put those signatures under suricata\.signatures in the rules file\.$/,
    );
  });

  it("refuses al2023 with a suricata: section, naming the supported images", () => {
    assert.throws(
      () => checkSuricataImage("al2023", true),
      (e: Error) =>
        e.name === "ConfigError" &&
        e.message ===
          "tollgate:fleet.amiFamily: al2023 has no Suricata package, and the rules file (tollgate:appliance.rulesFile) has a suricata: section. Fix: use amiFamily ubuntu-22.04 (Suricata 6.0.4, Ubuntu 22.04 universe) or debian-12 (Suricata 7.0.10, Debian bookworm-backports), or remove the suricata: section from the rules file.",
    );
    checkSuricataImage("al2023", false);
    checkSuricataImage("debian-12", true);
    checkSuricataImage("ubuntu-22.04", true);
  });

  it("resolveTollgate reads the rules file and refuses al2023 before any resource", () => {
    const rules = path.join(tmp, "ips.yaml");
    fs.writeFileSync(rules, SURICATA_RULES);
    const facts = {
      region: "eu-west-1",
      accountId: "123456789012",
      partition: "aws",
      availabilityZones: ["eu-west-1a", "eu-west-1b"],
    };
    assert.strictEqual(resolveTollgate({ appliance: { rulesFile: rules } }, facts).suricata, true);
    assert.strictEqual(resolveTollgate({}, facts).suricata, false);
    assert.throws(
      () =>
        resolveTollgate({ appliance: { rulesFile: rules }, fleet: { amiFamily: "al2023" } }, facts),
      /^ConfigError: tollgate:fleet\.amiFamily: al2023 has no Suricata package/,
    );
  });

  it("npm run plan refuses it with exit code 2 and the one-line error", async () => {
    const rules = path.join(tmp, "ips.yaml");
    fs.writeFileSync(rules, SURICATA_RULES);
    const stack = path.join(tmp, "Pulumi.al2023.yaml");
    fs.writeFileSync(
      stack,
      `config:\n  aws:region: us-east-1\n  tollgate:fleet:\n    amiFamily: al2023\n  tollgate:appliance:\n    rulesFile: ${rules}\n`,
    );
    const out = new PassThrough();
    const err = new PassThrough();
    let text = "";
    err.on("data", (d: Buffer) => (text += d.toString()));
    const code = await runPlan(["--config", stack], out, err);
    assert.strictEqual(code, 2);
    assert.match(
      text,
      /^plan: tollgate:fleet\.amiFamily: al2023 has no Suricata package.* Fix: use amiFamily ubuntu-22\.04 \(Suricata 6\.0\.4/,
    );
  });

  it("the whole-stack program's instances install Suricata when the rules file has a suricata: section", async () => {
    const rules = path.join(tmp, "ips-stack.yaml");
    fs.writeFileSync(rules, SURICATA_RULES);
    const userData = async (rulesFile: string) => {
      const stack = path.join(tmp, "Pulumi.ips-stack.yaml");
      fs.writeFileSync(
        stack,
        `config:\n  aws:region: us-east-1\n  tollgate:appliance:\n    rulesFile: ${rulesFile}\n`,
      );
      const out = new PassThrough();
      let json = "";
      out.on("data", (d: Buffer) => (json += d.toString()));
      assert.strictEqual(await runPlan(["--config", stack, "--json"], out, new PassThrough()), 0);
      type Resources = { resources: { type: string; inputs?: { userData?: string } }[] };
      const d = JSON.parse(json) as Resources & { deployment?: Resources };
      const lt = (d.deployment ?? d).resources.find(
        (r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate",
      );
      return Buffer.from(lt?.inputs?.userData ?? "", "base64").toString();
    };
    assert.match(await userData(rules), /install_suricata/);
    assert.doesNotMatch(await userData("examples/rules/default.yaml"), /install_suricata/);
  });

  it("installs Suricata from the image's repositories, skipped when present, distro service off", () => {
    const ubuntu = functionBody(renderUserData({ ...base, suricata: true }), "install_suricata");
    assert.match(ubuntu, /if command -v suricata >\/dev\/null; then/);
    assert.match(ubuntu, /apt-get install -y -q --no-install-recommends suricata/);
    assert.match(ubuntu, /systemctl disable --now suricata\.service/);
    const debian = functionBody(
      renderUserData({ ...base, amiFamily: "debian-12", suricata: true }),
      "install_suricata",
    );
    assert.match(debian, /-t bookworm-backports suricata/);
    assert.match(debian, /Suites: bookworm-backports/);
    for (const script of [
      renderUserData({ ...base, suricata: true }),
      renderUserData({ ...base, amiFamily: "debian-12", suricata: true }),
    ]) {
      assert.doesNotMatch(script, /curl [^\n]*(github|suricata)/i, "no download from elsewhere");
      const steps = [...script.matchAll(/^step (\S+)/gm)].map((m) => m[1]);
      assert.deepStrictEqual(steps.slice(0, 2), ["tools", "suricata"]);
    }
    assert.doesNotMatch(renderUserData(base), /install_suricata|suricata-eve/);
    assert.throws(
      () => renderUserData({ ...base, amiFamily: "al2023", suricata: true }),
      /al2023 has no Suricata package/,
    );
    assert.strictEqual(SURICATA_SOURCES.al2023, undefined);
  });

  it("ships the EVE log and the alert log to the stack's log group", () => {
    const cfg = JSON.parse(renderCloudWatchAgentConfig({ ...base, suricata: true })) as {
      logs: {
        logs_collected: {
          files: {
            collect_list: { file_path: string; log_group_name: string; log_stream_name: string }[];
          };
        };
      };
    };
    const files = cfg.logs.logs_collected.files.collect_list;
    assert.deepStrictEqual(
      files.slice(2).map((f) => [f.file_path, f.log_stream_name, f.log_group_name]),
      [
        ["/var/log/tollgate/suricata/eve.json", "{instance_id}/suricata-eve", base.logGroupName],
        ["/var/log/tollgate/alerts.json", "{instance_id}/alerts", base.logGroupName],
      ],
    );
  });
});
