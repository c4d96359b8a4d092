import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveConfig } from "@tollgate/appliance";
import {
  DATAPATH_CPU_METRIC,
  CONFIG_PATH,
  renderApplianceConfig,
  renderCloudWatchAgentConfig,
  renderUserData,
  S3_FUNCTIONS,
  shellQuote,
  UserDataInput,
} from "@tollgate/components";

const SNAPSHOTS = path.resolve(__dirname, "../../../tests/components/__snapshots__");
const ROOT = path.resolve(__dirname, "../../..");

/** Compares with a golden file; UPDATE_SNAPSHOTS=1 rewrites it. */
function matchSnapshot(name: string, actual: string): void {
  const file = path.join(SNAPSHOTS, name);
  if (process.env.UPDATE_SNAPSHOTS === "1" || !fs.existsSync(file)) {
    if (process.env.CI && !fs.existsSync(file)) assert.fail(`missing snapshot ${file}`);
    fs.mkdirSync(SNAPSHOTS, { recursive: true });
    fs.writeFileSync(file, actual);
  }
  assert.strictEqual(
    actual,
    fs.readFileSync(file, "utf8"),
    `${name} differs; rerun with UPDATE_SNAPSHOTS=1 if the change is intended`,
  );
}

const SHA = "3d3512d84a79df74".repeat(4);
const base: UserDataInput = {
  amiFamily: "ubuntu-22.04",
  region: "us-east-1",
  bucket: "tollgate-delivery-bucket-c79b09d",
  packageKey:
    "appliance/3d3512d84a79df74/tollgate-appliance-0.1.0-linux-x86_64-0123456789abcdef.tar.gz",
  packageSha256: SHA,
  rulesKey: "rules/7d450ce91f7ad34d/tollgate.yaml",
  rulesSha256: "7d450ce91f7ad34d".repeat(4),
  healthPort: 8080,
  tcpIdleTimeoutSeconds: 350,
  logGroupName: "/tollgate/dev/tollgate-inspection/appliance",
};

/** The body of a bash function `name() { ... }` in the rendered script. */
function functionBody(script: string, name: string): string {
  const start = script.indexOf(`\n${name}() {`);
  assert.ok(start >= 0, `${name} defined`);
  return script.slice(start, script.indexOf("\n}\n", start));
}

describe("user data renderer", () => {
  it("ubuntu-22.04 matches the snapshot", () => {
    matchSnapshot("userdata-ubuntu.sh", renderUserData(base));
  });

  it("al2023 with extra args matches the snapshot", () => {
    matchSnapshot(
      "userdata-al2023.sh",
      renderUserData({
        ...base,
        amiFamily: "al2023",
        extraApplianceArgs: ["--log-level", "debug"],
      }),
    );
  });

  it("debian-12 arm64 with GWLB source CIDRs matches the snapshot", () => {
    matchSnapshot(
      "userdata-debian.sh",
      renderUserData({
        ...base,
        amiFamily: "debian-12",
        architecture: "arm64",
        gwlbSourceCidrs: ["10.100.0.0/28", "10.100.0.16/28"],
      }),
    );
  });

  it("with a suricata: section (ubuntu-22.04, debian-12) matches the snapshots and is valid bash", () => {
    for (const [amiFamily, name] of [
      ["ubuntu-22.04", "userdata-ubuntu-suricata.sh"],
      ["debian-12", "userdata-debian-suricata.sh"],
    ] as const) {
      const ud = renderUserData({ ...base, amiFamily, suricata: true });
      matchSnapshot(name, ud);
      execFileSync("bash", ["-n"], { input: ud });
      assert.ok(Buffer.byteLength(ud) < 16384, `${amiFamily}: ${Buffer.byteLength(ud)} bytes`);
    }
  });

  it("is pure: same input, same bytes; any input change shows", () => {
    assert.strictEqual(renderUserData(base), renderUserData({ ...base }));
    for (const change of [
      { rulesKey: "rules/ffff/tollgate.yaml" },
      { healthPort: 9090 },
      { packageSha256: "f".repeat(64) },
      { s3EndpointUrl: "http://10.0.0.1:9000" },
    ]) {
      assert.notStrictEqual(renderUserData(base), renderUserData({ ...base, ...change }));
    }
  });

  it("is valid bash and under EC2's 16 KB user data limit, for every image", () => {
    for (const amiFamily of ["ubuntu-22.04", "al2023", "debian-12"] as const) {
      const ud = renderUserData({ ...base, amiFamily, gwlbSourceCidrs: ["10.0.0.0/28"] });
      execFileSync("bash", ["-n"], { input: ud });
      assert.ok(Buffer.byteLength(ud) < 16384, `${amiFamily}: ${Buffer.byteLength(ud)} bytes`);
    }
  });

  it("fetches only from S3 and the distribution's repositories: no NodeSource, snap, npm or node-gyp", () => {
    for (const amiFamily of ["ubuntu-22.04", "al2023", "debian-12"] as const) {
      const ud = renderUserData({ ...base, amiFamily });
      assert.doesNotMatch(ud, /nodesource|snap |npm |node-gyp|build-essential|gcc|python/i);
      // Every URL the script names is the S3 endpoint or IMDS.
      for (const url of ud.match(/https?:\/\/[^\s'"]+/g) ?? []) {
        assert.match(
          url,
          /^(https:\/\/s3\.us-east-1\.amazonaws\.com|http:\/\/169\.254\.169\.254\/)/,
          url,
        );
      }
      assert.match(ud, /^TG_S3_ENDPOINT=https:\/\/s3\.us-east-1\.amazonaws\.com$/m);
    }
  });

  it("renders the S3 endpoint seam and uses it for every object", () => {
    const ud = renderUserData({ ...base, s3EndpointUrl: "http://10.99.0.1:8080/" });
    assert.match(ud, /^TG_S3_ENDPOINT=http:\/\/10\.99\.0\.1:8080$/m);
    assert.ok(ud.includes(`s3_get_verified "$TG_BUCKET" ${base.packageKey} `));
    assert.ok(
      ud.includes(
        `s3_get_verified "$TG_BUCKET" ${base.rulesKey} /etc/tollgate/rules/tollgate.yaml ${base.rulesSha256}`,
      ),
    );
    assert.ok(ud.includes('"$TG_S3_ENDPOINT$path"'), "curl goes to the endpoint only");
    assert.ok(
      ud.includes(
        `s3_get amazoncloudwatch-agent-us-east-1 ubuntu/amd64/latest/amazon-cloudwatch-agent.deb`,
      ),
    );
  });

  it("runs every step by name, in order, with the agent last and not fatal", () => {
    const ud = renderUserData(base);
    const steps = [...ud.matchAll(/^step (\S+) /gm)].map((m) => m[1]);
    assert.deepStrictEqual(steps, [
      "tools",
      "release",
      "rules",
      "config",
      "unit",
      "start",
      "cloudwatch-agent",
    ]);
    assert.match(
      ud,
      /^step cloudwatch-agent cloudwatch_agent \|\| log "WARNING: step cloudwatch-agent FAILED/m,
    );
    assert.match(ud, /^set -euo pipefail$/m);
  });

  it("installs exactly the rule engine's tools per image, only when missing", () => {
    const tools = (amiFamily: UserDataInput["amiFamily"]): string =>
      functionBody(renderUserData({ ...base, amiFamily }), "install_tools");
    assert.match(
      tools("ubuntu-22.04"),
      /apt-get install -y -q --no-install-recommends iptables ipset iproute2 conntrack curl ca-certificates openssl/,
    );
    assert.match(
      tools("debian-12"),
      /apt-get install -y -q --no-install-recommends iptables ipset iproute2 conntrack curl ca-certificates openssl/,
    );
    assert.match(
      tools("al2023"),
      /dnf install -y iptables-nft ipset iproute iproute-tc conntrack-tools openssl/,
    );
    assert.match(tools("al2023"), /tools already present"; return 0/);
  });

  it("installs the release's own unit file, byte for byte (one unit)", () => {
    const ud = renderUserData(base);
    assert.match(
      functionBody(ud, "install_unit"),
      /install -m 0644 \/opt\/tollgate\/current\/lib\/appliance\/systemd\/tollgate\.service \/etc\/systemd\/system\/tollgate\.service/,
    );
    assert.doesNotMatch(ud, /\[Service\]|ExecStart=/, "no unit text written by the bootstrap");
    // The release carries appliance/systemd/tollgate.service (asserted byte-equal in release.test.ts),
    // and the unit starts what the bootstrap installs and configures.
    const unit = fs.readFileSync(path.join(ROOT, "appliance/systemd/tollgate.service"), "utf8");
    assert.match(
      unit,
      /^ExecStart=\/usr\/local\/bin\/tollgate run --config \/etc\/tollgate\/tollgate\.yaml \$TOLLGATE_ARGS$/m,
    );
    assert.match(unit, /^EnvironmentFile=-\/etc\/tollgate\/tollgate\.env$/m);
    assert.match(unit, /^StandardOutput=append:\/var\/log\/tollgate\/appliance\.log$/m);
    assert.match(
      functionBody(ud, "fetch_release"),
      /ln -sfn \/opt\/tollgate\/current\/bin\/tollgate \/usr\/local\/bin\/tollgate/,
    );
  });

  it("writes an appliance config that the appliance's own loader accepts, with the stack's values", () => {
    const text = renderApplianceConfig({ ...base, extraApplianceArgs: ["--log-level", "debug"] });
    const c = resolveConfig(["--config", CONFIG_PATH, "--log-level", "debug"], text);
    assert.strictEqual(c.health.port, 8080);
    // A rules file named like the config gets its own directory: the config cannot overwrite it.
    assert.strictEqual(c.rulesFile, "/etc/tollgate/rules/tollgate.yaml");
    assert.notStrictEqual(c.rulesFile, CONFIG_PATH);
    assert.strictEqual(c.flows.timeouts.tcp, 350);
    assert.strictEqual(c.logLevel, "debug");
    const noIdle = resolveConfig(
      ["--config", CONFIG_PATH],
      renderApplianceConfig({ ...base, tcpIdleTimeoutSeconds: undefined }),
    );
    assert.strictEqual(
      noIdle.flows.timeouts.tcp,
      350,
      "appliance default when the listener has none",
    );
    assert.ok(renderUserData(base).includes(text.trimEnd()));
  });

  it("renders the GWLB source CIDRs into the config as gwlbCidrs", () => {
    const text = renderApplianceConfig({
      ...base,
      gwlbSourceCidrs: ["10.100.0.0/28", "10.100.0.16/28"],
    });
    assert.match(text, /^gwlbCidrs:\n {2}- 10\.100\.0\.0\/28\n {2}- 10\.100\.0\.16\/28$/m);
    assert.doesNotMatch(renderApplianceConfig(base), /gwlbCidrs/);
    // The appliance's own loader accepts the key and the values.
    const c = resolveConfig(["--config", CONFIG_PATH], text);
    assert.deepStrictEqual(c.gwlbCidrs, ["10.100.0.0/28", "10.100.0.16/28"]);
  });

  it("passes extra appliance arguments through the unit's environment file", () => {
    const ud = renderUserData({ ...base, extraApplianceArgs: ["--log-level", "debug"] });
    assert.ok(
      ud.includes(`printf '%s\\n' 'TOLLGATE_ARGS=--log-level debug' > /etc/tollgate/tollgate.env`),
    );
    assert.ok(renderUserData(base).includes("rm -f /etc/tollgate/tollgate.env"));
  });

  it("quotes words for bash", () => {
    assert.strictEqual(shellQuote("plain/path-1.tgz"), "plain/path-1.tgz");
    assert.strictEqual(shellQuote("it's here"), `'it'\\''s here'`);
    assert.strictEqual(shellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
  });

  it("refuses object keys the transport would have to URI-encode", () => {
    assert.throws(
      () => renderUserData({ ...base, rulesKey: "rules/x/my rules.yaml" }),
      /rulesKey .* needs URI encoding/,
    );
  });
});

describe("user data: the S3 transport", () => {
  it("signs like AWS's published Signature V4 example (GET Object)", () => {
    // docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object".
    const sig = execFileSync(
      "bash",
      [
        "-c",
        `${S3_FUNCTIONS}\nsigv4_signature "$@"`,
        "sigv4",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-east-1",
        "20130524T000000Z",
        "/test.txt",
        "host:examplebucket.s3.amazonaws.com",
        "range:bytes=0-9",
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date:20130524T000000Z",
      ],
      { encoding: "utf8" },
    );
    assert.strictEqual(
      sig.trim(),
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("checks the SHA-256 of what it downloaded and keeps nothing on a mismatch", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-s3get-"));
    try {
      // s3_get replaced by a local copy: only the verification is under test here.
      const run = (sha: string): number => {
        try {
          execFileSync(
            "bash",
            [
              "-c",
              `${S3_FUNCTIONS}\ns3_get() { cp "${dir}/src" "$3"; }\ns3_get_verified b k "${dir}/dest" ${sha}`,
            ],
            { stdio: "ignore" },
          );
          return 0;
        } catch (e) {
          return (e as { status: number }).status;
        }
      };
      fs.writeFileSync(path.join(dir, "src"), "hello\n");
      assert.notStrictEqual(run("0".repeat(64)), 0);
      assert.ok(!fs.existsSync(path.join(dir, "dest")));
      assert.strictEqual(
        run("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),
        0,
      );
      assert.strictEqual(fs.readFileSync(path.join(dir, "dest"), "utf8"), "hello\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("user data: CloudWatch agent", () => {
  it("ships the appliance and bootstrap logs and publishes the fleet's scaling metric", () => {
    const cfg = JSON.parse(renderCloudWatchAgentConfig(base)) as {
      logs: { logs_collected: { files: { collect_list: Record<string, string>[] } } };
      metrics: {
        namespace: string;
        append_dimensions: Record<string, string>;
        aggregation_dimensions: string[][];
        metrics_collected: {
          procstat: { pattern: string; measurement: { name: string; rename: string }[] }[];
        };
      };
    };
    assert.deepStrictEqual(
      cfg.logs.logs_collected.files.collect_list.map((f) => [
        f.file_path,
        f.log_group_name,
        f.log_stream_name,
      ]),
      [
        ["/var/log/tollgate/appliance.log", base.logGroupName, "{instance_id}/appliance"],
        ["/var/log/tollgate-bootstrap.log", base.logGroupName, "{instance_id}/bootstrap"],
      ],
    );
    assert.strictEqual(cfg.metrics.namespace, DATAPATH_CPU_METRIC.namespace);
    assert.deepStrictEqual(cfg.metrics.append_dimensions, {
      AutoScalingGroupName: "${aws:AutoScalingGroupName}",
    });
    assert.deepStrictEqual(cfg.metrics.aggregation_dimensions, [[DATAPATH_CPU_METRIC.dimension]]);
    const [proc] = cfg.metrics.metrics_collected.procstat;
    assert.deepStrictEqual(
      proc?.measurement.map((m) => [m.name, m.rename]),
      [["cpu_usage", DATAPATH_CPU_METRIC.name]],
    );
    // The pattern matches the daemon's command line as the release's launcher starts it.
    assert.match(
      "/opt/tollgate/current/bin/node /opt/tollgate/current/lib/appliance/bin/tollgate.js run --config /etc/tollgate/tollgate.yaml",
      new RegExp(proc!.pattern),
    );
  });

  it("installs the agent from AWS only: dnf on AL2023, AWS's regional bucket on Ubuntu/Debian", () => {
    assert.match(
      functionBody(renderUserData({ ...base, amiFamily: "al2023" }), "cloudwatch_agent"),
      /dnf install -y amazon-cloudwatch-agent/,
    );
    assert.match(
      functionBody(
        renderUserData({ ...base, amiFamily: "debian-12", architecture: "arm64" }),
        "cloudwatch_agent",
      ),
      /s3_get amazoncloudwatch-agent-us-east-1 ubuntu\/arm64\/latest\/amazon-cloudwatch-agent\.deb .*\n.*dpkg -i -E/,
    );
  });
});
