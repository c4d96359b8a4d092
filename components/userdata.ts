import type { AmiFamily, Architecture } from "./inspection/fleet-args";

/** Everything the appliance bootstrap script needs; all plain values so rendering stays pure. */
export interface UserDataInput {
  readonly amiFamily: AmiFamily;
  /** CPU architecture (picks the CloudWatch agent package). Defaults to `x86_64`. */
  readonly architecture?: Architecture;
  readonly region: string;
  readonly nodeMajorVersion: number;
  readonly bucket: string;
  readonly packageKey: string;
  /** S3 key of the rules file; without it the appliance starts with its built-in rules. */
  readonly rulesKey?: string;
  readonly healthPort: number;
  /** Listener TCP idle timeout; the appliance's TCP flow timeout is set to match (5-tuple only). */
  readonly tcpIdleTimeoutSeconds?: number;
  readonly logGroupName: string;
  readonly extraApplianceArgs?: readonly string[];
  /**
   * CIDRs of the GWLB's subnets: the only sources the appliance accepts GENEVE from (and the
   * security group's GENEVE ingress). Passed by the fleet; rendered into the appliance config.
   */
  readonly gwlbSourceCidrs?: readonly string[];
}

export const SYSTEMD_UNIT = "tollgate-appliance.service";
/** Directory the rules file is installed into (keeping its file name). */
export const RULES_DIR = "/etc/tollgate";

/** Where the rules object lands on the instance: `/etc/tollgate/<file name of the key>`. */
export function rulesPath(rulesKey: string): string {
  return `${RULES_DIR}/${rulesKey.split("/").pop() ?? "rules"}`;
}
export const PACKAGE_PATH = "/opt/tollgate/appliance.tgz";
/** The appliance's stdout/stderr; shipped to the log group by the CloudWatch agent. */
export const APPLIANCE_LOG = "/var/log/tollgate/appliance.log";
export const BOOTSTRAP_LOG = "/var/log/tollgate-bootstrap.log";
const CWAGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json";
export const APPLIANCE_PACKAGE = "@tollgate/appliance";

/** Quotes one word for bash (single quotes, `'` spelled `'\''`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes one word for a systemd `ExecStart=` line (double quotes; `%`, `$`, `\`, `"` escaped). */
export function systemdQuote(word: string): string {
  const escaped = word
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/%/g, "%%")
    .replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(word) ? escaped : `"${escaped}"`;
}

/** The appliance's command line, as an argv array. */
export function applianceArgv(input: UserDataInput): string[] {
  // `tollgate run` (appliance/src/cli.ts): -p/--port serves health (any path but /metrics).
  const argv = ["/usr/bin/tollgate", "run", "--port", String(input.healthPort)];
  if (input.rulesKey !== undefined) argv.push("--rules", rulesPath(input.rulesKey));
  if (input.tcpIdleTimeoutSeconds !== undefined)
    argv.push("--idle", String(input.tcpIdleTimeoutSeconds));
  return [...argv, ...(input.extraApplianceArgs ?? [])];
}

function nodeInstall(input: UserDataInput): string[] {
  const v = input.nodeMajorVersion;
  if (input.amiFamily === "ubuntu-22.04") {
    return [
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -q",
      "apt-get install -y -q ca-certificates curl gnupg build-essential python3",
      "install -d -m 0755 /etc/apt/keyrings",
      "curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor -o /etc/apt/keyrings/nodesource.gpg",
      `echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${v}.x nodistro main" > /etc/apt/sources.list.d/nodesource.list`,
      "apt-get update -q",
      "apt-get install -y -q nodejs",
      "snap install aws-cli --classic || snap refresh aws-cli",
    ];
  }
  return [
    "rpm --import https://rpm.nodesource.com/gpgkey/ns-operations-public.key",
    `cat > /etc/yum.repos.d/nodesource-nodejs.repo <<'REPO'`,
    "[nodesource-nodejs]",
    "name=Node.js Packages for $basearch",
    `baseurl=https://rpm.nodesource.com/pub_${v}.x/nodistro/nodejs/$basearch`,
    "enabled=1",
    "gpgcheck=1",
    "gpgkey=https://rpm.nodesource.com/gpgkey/ns-operations-public.key",
    "REPO",
    "dnf install -y nodejs gcc-c++ make python3",
  ];
}

/** The systemd unit that runs the appliance. Pure. */
export function renderUnit(input: UserDataInput): string {
  return [
    "[Unit]",
    "Description=Tollgate GWLB inspection appliance",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `Environment=AWS_REGION=${systemdQuote(input.region)}`,
    `Environment=TOLLGATE_LOG_GROUP=${systemdQuote(input.logGroupName)}`,
    `ExecStart=${applianceArgv(input).map(systemdQuote).join(" ")}`,
    `StandardOutput=append:${APPLIANCE_LOG}`,
    "StandardError=inherit",
    "Restart=always",
    "RestartSec=2",
    "LimitNOFILE=1048576",
    "NoNewPrivileges=yes",
    "ProtectHome=yes",
    "ProtectSystem=full",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** CloudWatch agent configuration: ship the appliance and bootstrap logs to the log group. Pure. */
export function renderCloudWatchAgentConfig(input: UserDataInput): string {
  const file = (path: string, stream: string): Record<string, unknown> => ({
    file_path: path,
    log_group_name: input.logGroupName,
    log_stream_name: stream,
  });
  return JSON.stringify(
    {
      agent: { run_as_user: "root" },
      logs: {
        logs_collected: {
          files: {
            collect_list: [
              file(APPLIANCE_LOG, "{instance_id}/appliance"),
              file(BOOTSTRAP_LOG, "{instance_id}/bootstrap"),
            ],
          },
        },
      },
    },
    null,
    2,
  );
}

function cloudWatchAgentInstall(input: UserDataInput): string[] {
  if (input.amiFamily === "al2023") return ["dnf install -y amazon-cloudwatch-agent"];
  const arch = input.architecture === "arm64" ? "arm64" : "amd64";
  const url = `https://amazoncloudwatch-agent-${input.region}.s3.${input.region}.amazonaws.com/ubuntu/${arch}/latest/amazon-cloudwatch-agent.deb`;
  return [
    `curl -fsSL -o /tmp/amazon-cloudwatch-agent.deb ${shellQuote(url)}`,
    "dpkg -i -E /tmp/amazon-cloudwatch-agent.deb",
  ];
}

/**
 * Renders the EC2 user data (a bash script run once by cloud-init): install Node.js, fetch the
 * appliance package and rules from S3, install the systemd unit and start it. Pure: same input,
 * same bytes, so a change in any input shows up as a new launch template version.
 */
export function renderUserData(input: UserDataInput): string {
  const s3 = (key: string, dest: string): string =>
    `aws s3 cp --region ${shellQuote(input.region)} --only-show-errors ${shellQuote(`s3://${input.bucket}/${key}`)} ${shellQuote(dest)}`;
  const lines = [
    "#!/bin/bash",
    "# Tollgate appliance bootstrap. Rendered by components/userdata.ts; do not edit by hand.",
    "set -euo pipefail",
    `exec > >(tee -a ${BOOTSTRAP_LOG}) 2>&1`,
    "",
    `# 1. Node.js ${input.nodeMajorVersion} (NodeSource), a C++ toolchain for the native addon, the AWS CLI`,
    ...nodeInstall(input),
    "",
    "# 2. The appliance package, delivered through the private S3 bucket",
    "install -d -m 0755 /opt/tollgate /etc/tollgate",
    s3(input.packageKey, PACKAGE_PATH),
    `npm install --global --omit=dev --no-audit --no-fund ${PACKAGE_PATH}`,
    "# Native addon (tun, batched syscalls): built on the instance for its own kernel, libc and CPU",
    `npm --prefix "$(npm root --global)/${APPLIANCE_PACKAGE}" run --if-present build:native`,
    "",
    "# 3. The rules file",
    input.rulesKey !== undefined
      ? s3(input.rulesKey, rulesPath(input.rulesKey))
      : "# (none configured: the appliance starts with its built-in rules)",
    "",
    "# 4. CloudWatch agent: appliance and bootstrap logs to this stack's log group",
    ...cloudWatchAgentInstall(input),
    `cat > ${CWAGENT_CONFIG} <<'CWAGENT'`,
    renderCloudWatchAgentConfig(input),
    "CWAGENT",
    `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${CWAGENT_CONFIG}`,
    "install -d -m 0750 /var/log/tollgate",
    "cat > /etc/logrotate.d/tollgate <<'ROTATE'",
    `${APPLIANCE_LOG} {`,
    "  daily",
    "  rotate 7",
    "  maxsize 100M",
    "  compress",
    "  missingok",
    "  copytruncate",
    "}",
    "ROTATE",
    "",
    `# 5. systemd unit ${SYSTEMD_UNIT}`,
    `cat > /etc/systemd/system/${SYSTEMD_UNIT} <<'UNIT'`,
    renderUnit(input).trimEnd(),
    "UNIT",
    "systemctl daemon-reload",
    `systemctl enable --now ${SYSTEMD_UNIT}`,
    "",
  ];
  return lines.join("\n");
}
