import * as path from "path";
import { stringify } from "yaml";
import { DEFAULT_CONFIG, EVE_FILE_NAME } from "@tollgate/appliance";
import { DATAPATH_CPU_METRIC } from "./appliance-metric";
import { SURICATA_SOURCES } from "./suricata";
import type { AmiFamily, Architecture } from "./inspection/fleet-args";

/** Everything the appliance bootstrap script needs; all plain values so rendering stays pure. */
export interface UserDataInput {
  readonly amiFamily: AmiFamily;
  /** CPU architecture (picks the CloudWatch agent package). Defaults to `x86_64`. */
  readonly architecture?: Architecture;
  readonly region: string;
  readonly bucket: string;
  /** S3 key of the release artifact for this architecture (components/release). */
  readonly packageKey: string;
  /** SHA-256 (hex) of the release artifact; checked after download. */
  readonly packageSha256: string;
  /** S3 key of the rules file (the stack's own, or examples/rules/default.yaml). */
  readonly rulesKey: string;
  /** SHA-256 (hex) of the rules file; checked after download. */
  readonly rulesSha256: string;
  readonly healthPort: number;
  /** Listener TCP idle timeout; the appliance's TCP flow timeout is set to match (5-tuple only). */
  readonly tcpIdleTimeoutSeconds?: number;
  readonly logGroupName: string;
  /** Extra `tollgate run` arguments via /etc/tollgate/tollgate.env (resolveFleetArgs rejects whitespace). */
  readonly extraApplianceArgs?: readonly string[];
  /**
   * CIDRs of the GWLB's subnets: the only sources the appliance accepts GENEVE from (and the
   * security group's GENEVE ingress). Passed by the fleet; rendered into the appliance config.
   */
  readonly gwlbSourceCidrs?: readonly string[];
  /**
   * S3 endpoint the bootstrap fetches every object from, path style (`GET <url>/<bucket>/<key>`).
   * Defaults to the regional endpoint `https://s3.<region>.amazonaws.com`, which the inspection
   * VPC's S3 gateway endpoint serves. The boot test's only seam; see {@link S3_STAND_IN_CONTRACT}.
   */
  readonly s3EndpointUrl?: string;
  /**
   * The rules file has a `suricata:` section: install Suricata from the image's repositories
   * ({@link SURICATA_SOURCES}; refused for an image without it) and ship its EVE log and the
   * appliance's alert log. Defaults to false.
   */
  readonly suricata?: boolean;
}

/**
 * What a local stand-in for S3 must serve when a test renders the user data with its own
 * `s3EndpointUrl` (read by the boot test):
 *
 * - `http://169.254.169.254` (IMDSv2, fixed address; the transport signs with the instance
 *   role's credentials):
 *   - `PUT /latest/api/token` -> any token text (header `X-aws-ec2-metadata-token-ttl-seconds`
 *     is sent);
 *   - `GET /latest/meta-data/iam/security-credentials/` -> a role name (one line);
 *   - `GET /latest/meta-data/iam/security-credentials/<role>` -> JSON with string fields
 *     `AccessKeyId`, `SecretAccessKey`, `Token` (any values);
 *   both GETs carry `X-aws-ec2-metadata-token: <token>`.
 * - `s3EndpointUrl`: `GET /<bucket>/<key>` -> 200 with the object's bytes (404 otherwise). The
 *   request carries a SigV4 `Authorization` header, `x-amz-date`, `x-amz-content-sha256` and
 *   `x-amz-security-token`; a stand-in may ignore them. Objects fetched: the release
 *   (`packageKey`), the rules (`rulesKey`) and, on Ubuntu/Debian, the CloudWatch agent
 *   (`/amazoncloudwatch-agent-<region>/ubuntu/<amd64|arm64>/latest/amazon-cloudwatch-agent.deb`;
 *   a 404 there only fails the optional agent step).
 */
export const S3_STAND_IN_CONTRACT = "see the doc comment of S3_STAND_IN_CONTRACT";

/** The unit in the release (`appliance/systemd/tollgate.service`), installed under this name. */
export const SYSTEMD_UNIT = "tollgate.service";
/** The appliance config file. */
export const CONFIG_PATH = "/etc/tollgate/tollgate.yaml";
/**
 * Directory of the delivered rules file (keeping its file name). Its own directory, so a rules
 * file named like the config (`tollgate.yaml`) cannot overwrite it.
 */
export const RULES_DIR = "/etc/tollgate/rules";
/** Optional `TOLLGATE_ARGS=...` for the unit's `ExecStart` (extra appliance arguments). */
export const ENV_PATH = "/etc/tollgate/tollgate.env";
/** Releases are unpacked to `<RELEASES_DIR>/<sha256 prefix>`; `CURRENT_LINK` points at one. */
export const RELEASES_DIR = "/opt/tollgate/releases";
export const CURRENT_LINK = "/opt/tollgate/current";
/** The launcher on PATH (the unit's ExecStart), a symlink into the current release. */
export const LAUNCHER_PATH = "/usr/local/bin/tollgate";
/** The appliance's stdout/stderr (the unit's `StandardOutput=append:`); shipped by the agent. */
export const APPLIANCE_LOG = "/var/log/tollgate/appliance.log";
export const BOOTSTRAP_LOG = "/var/log/tollgate-bootstrap.log";
/** Suricata's EVE log and the appliance's alert log (the appliance's defaults), shipped by the agent. */
export const EVE_LOG = path.posix.join(DEFAULT_CONFIG.suricata.logDir, EVE_FILE_NAME);
export const ALERT_LOG = DEFAULT_CONFIG.alerts.log;
const CWAGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json";
/** Paths inside a release (components/release). */
const RELEASE_UNIT = "lib/appliance/systemd/tollgate.service";
const RELEASE_LOGROTATE = "lib/appliance/systemd/tollgate.logrotate";

/** Where the rules object lands on the instance: `/etc/tollgate/rules/<file name of the key>`. */
export function rulesPath(rulesKey: string): string {
  return `${RULES_DIR}/${rulesKey.split("/").pop() ?? "rules"}`;
}

/** Quotes one word for bash (single quotes, `'` spelled `'\''`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The CloudWatch agent package in AWS's regional bucket (the Ubuntu build serves Debian too). */
export function cloudWatchAgentObject(
  region: string,
  arch: Architecture,
): { bucket: string; key: string } {
  return {
    bucket: `amazoncloudwatch-agent-${region}`,
    key: `ubuntu/${arch === "arm64" ? "arm64" : "amd64"}/latest/amazon-cloudwatch-agent.deb`,
  };
}

/**
 * /etc/tollgate/tollgate.yaml: the appliance's own config file (appliance/src/config/schema.ts),
 * validated by the appliance's loader in the component tests. Pure.
 */
export function renderApplianceConfig(input: UserDataInput): string {
  const config: Record<string, unknown> = {
    health: { port: input.healthPort },
    rules: rulesPath(input.rulesKey),
    ...(input.tcpIdleTimeoutSeconds !== undefined
      ? { flows: { idleTimeout: { tcp: input.tcpIdleTimeoutSeconds } } }
      : {}),
    ...(input.gwlbSourceCidrs !== undefined && input.gwlbSourceCidrs.length > 0
      ? { gwlbCidrs: [...input.gwlbSourceCidrs] }
      : {}),
    logLevel: "info",
  };
  return `# Rendered by components/userdata.ts from the stack config; see the appliance README.\n${stringify(config)}`;
}

/**
 * CloudWatch agent configuration: ship the appliance and bootstrap logs to the log group and
 * publish the fleet's scaling metric ({@link DATAPATH_CPU_METRIC}: procstat `cpu_usage` of the
 * daemon, percent of one core, aggregated per Auto Scaling group). Pure.
 */
export function renderCloudWatchAgentConfig(input: UserDataInput): string {
  const file = (path: string, stream: string): Record<string, unknown> => ({
    file_path: path,
    log_group_name: input.logGroupName,
    log_stream_name: stream,
  });
  const m = DATAPATH_CPU_METRIC;
  return JSON.stringify(
    {
      agent: { run_as_user: "root" },
      logs: {
        logs_collected: {
          files: {
            collect_list: [
              file(APPLIANCE_LOG, "{instance_id}/appliance"),
              file(BOOTSTRAP_LOG, "{instance_id}/bootstrap"),
              ...(input.suricata
                ? [
                    file(EVE_LOG, "{instance_id}/suricata-eve"),
                    file(ALERT_LOG, "{instance_id}/alerts"),
                  ]
                : []),
            ],
          },
        },
      },
      metrics: {
        namespace: m.namespace,
        append_dimensions: { [m.dimension]: `\${aws:${m.dimension}}` },
        aggregation_dimensions: [[m.dimension]],
        metrics_collected: {
          procstat: [
            {
              // The daemon's command line: <release>/bin/node <release>/lib/appliance/bin/tollgate.js run ...
              pattern: "lib/appliance/bin/tollgate\\.js run",
              measurement: [{ name: "cpu_usage", rename: m.name, unit: "Percent" }],
              metrics_collection_interval: 60,
              drop_original_metrics: ["cpu_usage"],
            },
          ],
        },
      },
    },
    null,
    2,
  );
}

/**
 * The transport: `s3_get BUCKET KEY DEST` fetches `$TG_S3_ENDPOINT/BUCKET/KEY` (path style) with
 * curl, signed with AWS Signature V4 by openssl from the instance role's credentials (IMDSv2).
 *
 * Why not the AWS CLI: Ubuntu 22.04 and Debian 12 images do not ship it (their `awscli` packages
 * pull ~100 MB of Python at every boot). Why not `curl --aws-sigv4`: Ubuntu 22.04's curl 7.81
 * signs only `host;x-amz-date`, and S3 rejects the unsigned `x-amz-security-token` and
 * `x-amz-content-sha256` that role credentials need. curl, openssl and coreutils are on all three
 * images. `sigv4_signature` is tested against AWS's published S3 example.
 */
export const S3_FUNCTIONS = String.raw`EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
hmac_hex() { # hmac_hex HEXKEY DATA -> hex HMAC-SHA256
  printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" | sed 's/^.*= //'
}
sigv4_signature() { # sigv4_signature SECRET REGION AMZDATE PATH HEADER... (lowercase name:value, sorted)
  local secret=$1 region=$2 amzdate=$3 path=$4 canonical names k h
  shift 4
  canonical=$(printf '%s\n' "$@")
  names=$(printf '%s\n' "$@" | cut -d: -f1 | paste -sd';')
  canonical=$(printf 'GET\n%s\n\n%s\n\n%s\n%s' "$path" "$canonical" "$names" "$EMPTY_SHA256")
  k=$(printf 'AWS4%s' "$secret" | od -An -v -tx1 | tr -d ' \n')
  for h in "${"${amzdate%%T*}"}" "$region" s3 aws4_request; do k=$(hmac_hex "$k" "$h"); done
  hmac_hex "$k" "$(printf 'AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s' "$amzdate" "${"${amzdate%%T*}"}" "$region" \
    "$(printf '%s' "$canonical" | sha256sum | cut -d' ' -f1)")"
}
imds_get() { # imds_get PATH: IMDSv2 (a session token first)
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&
    curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}
json_field() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$2" | head -n1; }
s3_get() { # s3_get BUCKET KEY DEST
  local role creds akid secret token now path host sig
  role=$(imds_get meta-data/iam/security-credentials/ | head -n1) || return 1
  creds=$(imds_get "meta-data/iam/security-credentials/$role") || return 1
  akid=$(json_field AccessKeyId "$creds") secret=$(json_field SecretAccessKey "$creds") token=$(json_field Token "$creds")
  now=$(date -u +%Y%m%dT%H%M%SZ) path="/$1/$2" host=${"${TG_S3_ENDPOINT#*://}"}
  host=${"${host%%/*}"}
  sig=$(sigv4_signature "$secret" "$TG_REGION" "$now" "$path" "host:$host" "x-amz-content-sha256:$EMPTY_SHA256" \
    "x-amz-date:$now" "x-amz-security-token:$token") || return 1
  curl -fsS --connect-timeout 10 --max-time 900 -o "$3.part" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$akid/${"${now%%T*}"}/$TG_REGION/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=$sig" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" -H "x-amz-date: $now" -H "x-amz-security-token: $token" \
    "$TG_S3_ENDPOINT$path" && mv -f "$3.part" "$3"
}
s3_get_verified() { # s3_get_verified BUCKET KEY DEST SHA256
  s3_get "$1" "$2" "$3.new" && echo "$4  $3.new" | sha256sum -c --quiet - && mv -f "$3.new" "$3"
}`;

/**
 * `step NAME FUNCTION`: logs start/ok/failed with the step name, retries with exponential
 * backoff (bounded). The function runs in a subshell with `set -e` in force (bash ignores
 * `set -e` inside an `until`/`if` condition, so the loop tests the subshell's status instead).
 */
const STEP_FUNCTION = String.raw`log() { printf '%s tollgate-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
step() { # step NAME COMMAND...: up to 5 attempts, 5 s, 10 s, 20 s, 40 s apart
  local name=$1 attempt=1 delay=5 rc
  shift
  log "step $name: start"
  while :; do
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then log "step $name: ok"; return 0; fi
    if [ "$attempt" -ge 5 ]; then log "step $name: FAILED (exit $rc, $attempt attempts)"; return "$rc"; fi
    log "step $name: attempt $attempt failed (exit $rc), retrying in $delay s"
    sleep "$delay"
    attempt=$((attempt + 1)) delay=$((delay * 2))
  done
}`;

/** The commands the rule engine runs (and the transport needs): checked before installing. */
const TOOL_COMMANDS = [
  "iptables",
  "ip6tables",
  "ipset",
  "ip",
  "tc",
  "conntrack",
  "curl",
  "openssl",
];
/** Debian and Ubuntu name the packages alike. */
const APT_INSTALL = [
  "apt-get update -q",
  "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables ipset iproute2 conntrack curl ca-certificates openssl",
];
/** The distribution packages that provide {@link TOOL_COMMANDS}, per image. */
const TOOLS_INSTALL: Record<AmiFamily, string[]> = {
  "ubuntu-22.04": APT_INSTALL,
  "debian-12": APT_INSTALL,
  al2023: ["dnf install -y iptables-nft ipset iproute iproute-tc conntrack-tools openssl"],
};

function installToolsFunction(family: AmiFamily): string {
  return [
    "install_tools() { # the rule engine's tools from the distribution's own repositories",
    "  local missing=()",
    `  for c in ${TOOL_COMMANDS.join(" ")}; do command -v "$c" >/dev/null || missing+=("$c"); done`,
    '  if [ ${#missing[@]} -eq 0 ]; then log "tools already present"; return 0; fi',
    '  log "installing for: ${missing[*]}"',
    ...TOOLS_INSTALL[family].map((l) => `  ${l}`),
    "}",
  ].join("\n");
}

/**
 * `install_suricata`: Suricata from the image's own repositories, skipped when present. The
 * distribution's `suricata.service` is disabled: the appliance runs and supervises its own
 * Suricata with the configuration it renders from the rules file.
 */
function installSuricataFunction(family: AmiFamily): string {
  const source = SURICATA_SOURCES[family];
  if (!source)
    throw new Error(`userdata: ${family} has no Suricata package (see SURICATA_SOURCES)`);
  return [
    `install_suricata() { # Suricata ${source.version} from ${source.repository}`,
    "  if command -v suricata >/dev/null; then",
    '    log "suricata already present: $(suricata -V)"',
    "  else",
    ...source.install.map((l) => `    ${l}`),
    "  fi",
    "  if systemctl list-unit-files suricata.service | grep -q '^suricata\\.service'; then",
    "    systemctl disable --now suricata.service",
    "  fi",
    "}",
  ].join("\n");
}

function cloudWatchAgentFunction(input: UserDataInput): string {
  const install =
    input.amiFamily === "al2023"
      ? ["  dnf install -y amazon-cloudwatch-agent"]
      : (() => {
          const o = cloudWatchAgentObject(input.region, input.architecture ?? "x86_64");
          return [
            `  s3_get ${o.bucket} ${o.key} /opt/tollgate/amazon-cloudwatch-agent.deb`,
            "  dpkg -i -E /opt/tollgate/amazon-cloudwatch-agent.deb",
          ];
        })();
  return [
    "cloudwatch_agent() { # logs and the scaling metric; installed from AWS (dnf or S3), never the internet",
    "  if [ ! -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]; then",
    ...install.map((l) => `  ${l}`),
    "  fi",
    `  install -d /opt/aws/amazon-cloudwatch-agent/etc`,
    `  cat > ${CWAGENT_CONFIG} <<'CWAGENT'`,
    renderCloudWatchAgentConfig(input),
    "CWAGENT",
    `  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${CWAGENT_CONFIG}`,
    "}",
  ].join("\n");
}

const SAFE_KEY = /^[A-Za-z0-9._/-]+$/;

/**
 * Renders the EC2 user data (a bash script run once by cloud-init). It fetches the release and
 * the rules from S3 only, installs the rule engine's tools from the distribution's own
 * repositories (skipped when present), installs the release's own systemd unit and starts it,
 * then sets up the CloudWatch agent. Each step is logged to {@link BOOTSTRAP_LOG} by name and
 * retried with backoff. Pure: same input, same bytes, so any change is a new launch template
 * version (and an instance refresh).
 */
export function renderUserData(input: UserDataInput): string {
  for (const [what, key] of [
    ["packageKey", input.packageKey],
    ["rulesKey", input.rulesKey],
  ] as const) {
    // The transport signs the path as is: keys are content-addressed and need no URI encoding.
    if (!SAFE_KEY.test(key))
      throw new Error(`userdata: ${what} ${JSON.stringify(key)} needs URI encoding`);
  }
  const release = `${RELEASES_DIR}/${input.packageSha256.slice(0, 16)}`;
  const rules = rulesPath(input.rulesKey);
  const endpoint = (input.s3EndpointUrl ?? `https://s3.${input.region}.amazonaws.com`).replace(
    /\/+$/,
    "",
  );
  const extra = input.extraApplianceArgs ?? [];
  const lines = [
    "#!/bin/bash",
    "# Tollgate appliance bootstrap. Rendered by components/userdata.ts; do not edit by hand.",
    `# Every step logs "step NAME: start|ok|FAILED" to ${BOOTSTRAP_LOG} (and the console).`,
    "set -euo pipefail",
    `exec > >(tee -a ${BOOTSTRAP_LOG}) 2>&1`,
    "",
    `TG_REGION=${shellQuote(input.region)}`,
    `TG_BUCKET=${shellQuote(input.bucket)}`,
    `TG_S3_ENDPOINT=${shellQuote(endpoint)}`,
    "",
    STEP_FUNCTION,
    S3_FUNCTIONS,
    installToolsFunction(input.amiFamily),
    ...(input.suricata ? [installSuricataFunction(input.amiFamily)] : []),
    "",
    "fetch_release() { # the self-contained release: Node.js, the appliance, its addon and its unit",
    `  if [ ! -x ${release}/bin/tollgate ]; then`,
    `    install -d -m 0755 ${RELEASES_DIR}`,
    `    s3_get_verified "$TG_BUCKET" ${shellQuote(input.packageKey)} ${RELEASES_DIR}/download.tar.gz ${input.packageSha256}`,
    `    rm -rf ${release}.tmp && install -d -m 0755 ${release}.tmp`,
    `    tar -xzf ${RELEASES_DIR}/download.tar.gz -C ${release}.tmp --no-same-owner`,
    `    mv -T ${release}.tmp ${release} && rm -f ${RELEASES_DIR}/download.tar.gz`,
    "  fi",
    `  ln -sfn ${release} ${CURRENT_LINK}`,
    `  ln -sfn ${CURRENT_LINK}/bin/tollgate ${LAUNCHER_PATH}`,
    "}",
    "fetch_rules() {",
    `  install -d -m 0755 ${RULES_DIR}`,
    `  s3_get_verified "$TG_BUCKET" ${shellQuote(input.rulesKey)} ${shellQuote(rules)} ${input.rulesSha256}`,
    `  ${LAUNCHER_PATH} rules check ${shellQuote(rules)}`,
    "}",
    "write_config() {",
    `  cat > ${CONFIG_PATH} <<'CONFIG'`,
    renderApplianceConfig(input).trimEnd(),
    "CONFIG",
    extra.length > 0
      ? `  printf '%s\\n' ${shellQuote(`TOLLGATE_ARGS=${extra.join(" ")}`)} > ${ENV_PATH}`
      : `  rm -f ${ENV_PATH}`,
    "}",
    "install_unit() { # the release's own unit and logrotate file, byte for byte",
    `  install -m 0644 ${CURRENT_LINK}/${RELEASE_UNIT} /etc/systemd/system/${SYSTEMD_UNIT}`,
    `  install -m 0644 ${CURRENT_LINK}/${RELEASE_LOGROTATE} /etc/logrotate.d/tollgate`,
    "  install -d -m 0755 /var/log/tollgate",
    "  systemctl daemon-reload",
    "}",
    "start_appliance() {",
    `  systemctl enable ${SYSTEMD_UNIT}`,
    `  systemctl restart ${SYSTEMD_UNIT}`,
    `  systemctl is-active --quiet ${SYSTEMD_UNIT}`,
    "}",
    cloudWatchAgentFunction(input),
    "",
    "step tools install_tools",
    ...(input.suricata ? ["step suricata install_suricata"] : []),
    "step release fetch_release",
    "step rules fetch_rules",
    "step config write_config",
    "step unit install_unit",
    "step start start_appliance",
    "# The agent ships logs and the scaling metric; it is not on the data path. Its failure is",
    "# logged loudly, and the appliance keeps serving (GWLB health checks decide its traffic).",
    'step cloudwatch-agent cloudwatch_agent || log "WARNING: step cloudwatch-agent FAILED: no log shipping and no scaling metric from this instance; the data path is unaffected"',
    'log "bootstrap: done"',
    "",
  ];
  return lines.join("\n");
}
