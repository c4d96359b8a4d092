#!/bin/bash
# Tollgate appliance bootstrap. Rendered by components/userdata.ts; do not edit by hand.
# Every step logs "step NAME: start|ok|FAILED" to /var/log/tollgate-bootstrap.log (and the console).
set -euo pipefail
exec > >(tee -a /var/log/tollgate-bootstrap.log) 2>&1

TG_REGION=us-east-1
TG_BUCKET=tollgate-delivery-bucket-c79b09d
TG_S3_ENDPOINT=https://s3.us-east-1.amazonaws.com

log() { printf '%s tollgate-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
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
}
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
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
  for h in "${amzdate%%T*}" "$region" s3 aws4_request; do k=$(hmac_hex "$k" "$h"); done
  hmac_hex "$k" "$(printf 'AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s' "$amzdate" "${amzdate%%T*}" "$region" \
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
  now=$(date -u +%Y%m%dT%H%M%SZ) path="/$1/$2" host=${TG_S3_ENDPOINT#*://}
  host=${host%%/*}
  sig=$(sigv4_signature "$secret" "$TG_REGION" "$now" "$path" "host:$host" "x-amz-content-sha256:$EMPTY_SHA256" \
    "x-amz-date:$now" "x-amz-security-token:$token") || return 1
  curl -fsS --connect-timeout 10 --max-time 900 -o "$3.part" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$akid/${now%%T*}/$TG_REGION/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=$sig" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" -H "x-amz-date: $now" -H "x-amz-security-token: $token" \
    "$TG_S3_ENDPOINT$path" && mv -f "$3.part" "$3"
}
s3_get_verified() { # s3_get_verified BUCKET KEY DEST SHA256
  s3_get "$1" "$2" "$3.new" && echo "$4  $3.new" | sha256sum -c --quiet - && mv -f "$3.new" "$3"
}
install_tools() { # the rule engine's tools from the distribution's own repositories
  local missing=()
  for c in iptables ip6tables ipset ip tc conntrack curl openssl; do command -v "$c" >/dev/null || missing+=("$c"); done
  if [ ${#missing[@]} -eq 0 ]; then log "tools already present"; return 0; fi
  log "installing for: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables ipset iproute2 conntrack curl ca-certificates openssl
}
install_suricata() { # Suricata 7.0.10 from Debian bookworm-backports
  if command -v suricata >/dev/null; then
    log "suricata already present: $(suricata -V)"
  else
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > /etc/apt/sources.list.d/tollgate-backports.sources
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -t bookworm-backports suricata
  fi
  if systemctl list-unit-files suricata.service | grep -q '^suricata\.service'; then
    systemctl disable --now suricata.service
  fi
}

fetch_release() { # the self-contained release: Node.js, the appliance, its addon and its unit
  if [ ! -x /opt/tollgate/releases/3d3512d84a79df74/bin/tollgate ]; then
    install -d -m 0755 /opt/tollgate/releases
    s3_get_verified "$TG_BUCKET" appliance/3d3512d84a79df74/tollgate-appliance-0.1.0-linux-x86_64-0123456789abcdef.tar.gz /opt/tollgate/releases/download.tar.gz 3d3512d84a79df743d3512d84a79df743d3512d84a79df743d3512d84a79df74
    rm -rf /opt/tollgate/releases/3d3512d84a79df74.tmp && install -d -m 0755 /opt/tollgate/releases/3d3512d84a79df74.tmp
    tar -xzf /opt/tollgate/releases/download.tar.gz -C /opt/tollgate/releases/3d3512d84a79df74.tmp --no-same-owner
    mv -T /opt/tollgate/releases/3d3512d84a79df74.tmp /opt/tollgate/releases/3d3512d84a79df74 && rm -f /opt/tollgate/releases/download.tar.gz
  fi
  ln -sfn /opt/tollgate/releases/3d3512d84a79df74 /opt/tollgate/current
  ln -sfn /opt/tollgate/current/bin/tollgate /usr/local/bin/tollgate
}
fetch_rules() {
  install -d -m 0755 /etc/tollgate/rules
  s3_get_verified "$TG_BUCKET" rules/7d450ce91f7ad34d/tollgate.yaml /etc/tollgate/rules/tollgate.yaml 7d450ce91f7ad34d7d450ce91f7ad34d7d450ce91f7ad34d7d450ce91f7ad34d
  /usr/local/bin/tollgate rules check /etc/tollgate/rules/tollgate.yaml
}
write_config() {
  cat > /etc/tollgate/tollgate.yaml <<'CONFIG'
# Rendered by components/userdata.ts from the stack config; see the appliance README.
health:
  port: 8080
rules: /etc/tollgate/rules/tollgate.yaml
flows:
  idleTimeout:
    tcp: 350
logLevel: info
CONFIG
  rm -f /etc/tollgate/tollgate.env
}
install_unit() { # the release's own unit and logrotate file, byte for byte
  install -m 0644 /opt/tollgate/current/lib/appliance/systemd/tollgate.service /etc/systemd/system/tollgate.service
  install -m 0644 /opt/tollgate/current/lib/appliance/systemd/tollgate.logrotate /etc/logrotate.d/tollgate
  install -d -m 0755 /var/log/tollgate
  systemctl daemon-reload
}
start_appliance() {
  systemctl enable tollgate.service
  systemctl restart tollgate.service
  systemctl is-active --quiet tollgate.service
}
cloudwatch_agent() { # logs and the scaling metric; installed from AWS (dnf or S3), never the internet
  if [ ! -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]; then
    s3_get amazoncloudwatch-agent-us-east-1 ubuntu/amd64/latest/amazon-cloudwatch-agent.deb /opt/tollgate/amazon-cloudwatch-agent.deb
    dpkg -i -E /opt/tollgate/amazon-cloudwatch-agent.deb
  fi
  install -d /opt/aws/amazon-cloudwatch-agent/etc
  cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'CWAGENT'
{
  "agent": {
    "run_as_user": "root"
  },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {
            "file_path": "/var/log/tollgate/appliance.log",
            "log_group_name": "/tollgate/dev/tollgate-inspection/appliance",
            "log_stream_name": "{instance_id}/appliance"
          },
          {
            "file_path": "/var/log/tollgate-bootstrap.log",
            "log_group_name": "/tollgate/dev/tollgate-inspection/appliance",
            "log_stream_name": "{instance_id}/bootstrap"
          },
          {
            "file_path": "/var/log/tollgate/suricata/eve.json",
            "log_group_name": "/tollgate/dev/tollgate-inspection/appliance",
            "log_stream_name": "{instance_id}/suricata-eve"
          },
          {
            "file_path": "/var/log/tollgate/alerts.json",
            "log_group_name": "/tollgate/dev/tollgate-inspection/appliance",
            "log_stream_name": "{instance_id}/alerts"
          }
        ]
      }
    }
  },
  "metrics": {
    "namespace": "Tollgate",
    "append_dimensions": {
      "AutoScalingGroupName": "${aws:AutoScalingGroupName}"
    },
    "aggregation_dimensions": [
      [
        "AutoScalingGroupName"
      ]
    ],
    "metrics_collected": {
      "procstat": [
        {
          "pattern": "lib/appliance/bin/tollgate\\.js run",
          "measurement": [
            {
              "name": "cpu_usage",
              "rename": "DataPathCpuPercent",
              "unit": "Percent"
            }
          ],
          "metrics_collection_interval": 60,
          "drop_original_metrics": [
            "cpu_usage"
          ]
        }
      ]
    }
  }
}
CWAGENT
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
}

step tools install_tools
step suricata install_suricata
step release fetch_release
step rules fetch_rules
step config write_config
step unit install_unit
step start start_appliance
# The agent ships logs and the scaling metric; it is not on the data path. Its failure is
# logged loudly, and the appliance keeps serving (GWLB health checks decide its traffic).
step cloudwatch-agent cloudwatch_agent || log "WARNING: step cloudwatch-agent FAILED: no log shipping and no scaling metric from this instance; the data path is unaffected"
log "bootstrap: done"
