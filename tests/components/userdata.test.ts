import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  applianceArgv,
  renderCloudWatchAgentConfig,
  renderUnit,
  renderUserData,
  shellQuote,
  systemdQuote,
  UserDataInput,
} from "../../components/userdata";

const SNAPSHOTS = path.resolve(__dirname, "../../../tests/components/__snapshots__");

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

const base: UserDataInput = {
  amiFamily: "ubuntu-22.04",
  region: "us-east-1",
  nodeMajorVersion: 20,
  bucket: "tollgate-delivery-bucket-c79b09d",
  packageKey: "appliance/3d3512d84a79df74/tollgate-appliance-0.1.0.tgz",
  rulesKey: "rules/7d450ce91f7ad34d/tollgate.yaml",
  healthPort: 8080,
  tcpIdleTimeoutSeconds: 350,
  logGroupName: "/tollgate/dev/tollgate-inspection/appliance",
};

describe("user data renderer", () => {
  it("ubuntu-22.04 with rules matches the snapshot", () => {
    matchSnapshot("userdata-ubuntu.sh", renderUserData(base));
  });

  it("al2023 without rules, Node 22, extra args matches the snapshot", () => {
    matchSnapshot(
      "userdata-al2023.sh",
      renderUserData({
        ...base,
        amiFamily: "al2023",
        nodeMajorVersion: 22,
        rulesKey: undefined,
        extraApplianceArgs: ["--log-level", "debug"],
      }),
    );
  });

  it("is pure: same input, same bytes; any input change shows", () => {
    assert.strictEqual(renderUserData(base), renderUserData({ ...base }));
    assert.notStrictEqual(
      renderUserData(base),
      renderUserData({ ...base, rulesKey: "rules/ffff/tollgate.yaml" }),
    );
    assert.notStrictEqual(renderUserData(base), renderUserData({ ...base, healthPort: 9090 }));
  });

  it("installs Node.js, fetches both objects, installs and starts the unit", () => {
    const ud = renderUserData(base);
    assert.ok(ud.startsWith("#!/bin/bash\n"));
    assert.match(ud, /^set -euo pipefail$/m);
    assert.match(ud, /deb\.nodesource\.com\/node_20\.x nodistro main/);
    assert.match(ud, /apt-get install -y -q nodejs/);
    assert.ok(
      ud.includes(
        `aws s3 cp --region us-east-1 --only-show-errors s3://${base.bucket}/${base.packageKey} /opt/tollgate/appliance.tgz`,
      ),
    );
    assert.ok(ud.includes(`s3://${base.bucket}/${base.rulesKey} /etc/tollgate/tollgate.yaml`));
    assert.match(
      ud,
      /npm install --global --omit=dev --no-audit --no-fund \/opt\/tollgate\/appliance\.tgz/,
    );
    assert.match(ud, /^systemctl enable --now tollgate-appliance\.service$/m);
    assert.ok(
      ud.includes(
        'npm --prefix "$(npm root --global)/@tollgate/appliance" run --if-present build:native',
      ),
    );
    assert.ok(
      ud.indexOf("build:native") < ud.indexOf("systemctl enable"),
      "native addon is built before the unit starts",
    );
    assert.doesNotMatch(ud, /ssh/i);
    assert.ok(Buffer.byteLength(ud) < 16384, "EC2 user data is limited to 16 KB");
  });

  it("builds the appliance argv: health port, rules only when delivered, idle timeout matching the listener", () => {
    assert.deepStrictEqual(applianceArgv(base), [
      "/usr/bin/tollgate",
      "run",
      "--port",
      "8080",
      "--rules",
      "/etc/tollgate/tollgate.yaml",
      "--idle",
      "350",
    ]);
    // No rules delivered, stickiness other than 5-tuple (no listener idle timeout to match).
    assert.deepStrictEqual(
      applianceArgv({ ...base, rulesKey: undefined, tcpIdleTimeoutSeconds: undefined }),
      ["/usr/bin/tollgate", "run", "--port", "8080"],
    );
    assert.match(
      renderUnit(base),
      /^ExecStart=\/usr\/bin\/tollgate run --port 8080 --rules \/etc\/tollgate\/tollgate\.yaml --idle 350$/m,
    );
  });

  it("quotes words for bash and systemd", () => {
    assert.strictEqual(shellQuote("plain/path-1.tgz"), "plain/path-1.tgz");
    assert.strictEqual(shellQuote("it's here"), `'it'\\''s here'`);
    assert.strictEqual(shellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
    assert.strictEqual(systemdQuote("--x"), "--x");
    assert.strictEqual(systemdQuote('a "b" 100% $HOME'), '"a \\"b\\" 100%% $$HOME"');
  });

  it("ships the appliance and bootstrap logs to the stack's log group with the CloudWatch agent", () => {
    const cfg = JSON.parse(renderCloudWatchAgentConfig(base)) as {
      logs: { logs_collected: { files: { collect_list: Record<string, string>[] } } };
    };
    assert.deepStrictEqual(cfg.logs.logs_collected.files.collect_list, [
      {
        file_path: "/var/log/tollgate/appliance.log",
        log_group_name: base.logGroupName,
        log_stream_name: "{instance_id}/appliance",
      },
      {
        file_path: "/var/log/tollgate-bootstrap.log",
        log_group_name: base.logGroupName,
        log_stream_name: "{instance_id}/bootstrap",
      },
    ]);
    const ubuntu = renderUserData({ ...base, architecture: "arm64" });
    assert.ok(
      ubuntu.includes(
        "https://amazoncloudwatch-agent-us-east-1.s3.us-east-1.amazonaws.com/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb",
      ),
    );
    assert.match(ubuntu, /amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/);
    assert.match(
      renderUserData({ ...base, amiFamily: "al2023" }),
      /^dnf install -y amazon-cloudwatch-agent$/m,
    );
    assert.match(renderUnit(base), /^StandardOutput=append:\/var\/log\/tollgate\/appliance\.log$/m);
  });
});
