#!/bin/bash
# Tollgate appliance bootstrap. Rendered by components/userdata.ts; do not edit by hand.
set -euo pipefail
exec > >(tee -a /var/log/tollgate-bootstrap.log) 2>&1

# 1. Node.js 22 (NodeSource), a C++ toolchain for the native addon, the AWS CLI
rpm --import https://rpm.nodesource.com/gpgkey/ns-operations-public.key
cat > /etc/yum.repos.d/nodesource-nodejs.repo <<'REPO'
[nodesource-nodejs]
name=Node.js Packages for $basearch
baseurl=https://rpm.nodesource.com/pub_22.x/nodistro/nodejs/$basearch
enabled=1
gpgcheck=1
gpgkey=https://rpm.nodesource.com/gpgkey/ns-operations-public.key
REPO
dnf install -y nodejs gcc-c++ make python3

# 2. The appliance package, delivered through the private S3 bucket
install -d -m 0755 /opt/tollgate /etc/tollgate
aws s3 cp --region us-east-1 --only-show-errors s3://tollgate-delivery-bucket-c79b09d/appliance/3d3512d84a79df74/tollgate-appliance-0.1.0.tgz /opt/tollgate/appliance.tgz
npm install --global --omit=dev --no-audit --no-fund /opt/tollgate/appliance.tgz
# Native addon (tun, batched syscalls): built on the instance for its own kernel, libc and CPU
npm --prefix "$(npm root --global)/@tollgate/appliance" run --if-present build:native

# 3. The rules file
# (none configured: the appliance starts with its built-in rules)

# 4. CloudWatch agent: appliance and bootstrap logs to this stack's log group
dnf install -y amazon-cloudwatch-agent
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
          }
        ]
      }
    }
  }
}
CWAGENT
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
install -d -m 0750 /var/log/tollgate
cat > /etc/logrotate.d/tollgate <<'ROTATE'
/var/log/tollgate/appliance.log {
  daily
  rotate 7
  maxsize 100M
  compress
  missingok
  copytruncate
}
ROTATE

# 5. systemd unit tollgate-appliance.service
cat > /etc/systemd/system/tollgate-appliance.service <<'UNIT'
[Unit]
Description=Tollgate GWLB inspection appliance
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment=AWS_REGION=us-east-1
Environment=TOLLGATE_LOG_GROUP=/tollgate/dev/tollgate-inspection/appliance
ExecStart=/usr/bin/tollgate run --port 8080 --idle 350 --log-level debug
StandardOutput=append:/var/log/tollgate/appliance.log
StandardError=inherit
Restart=always
RestartSec=2
LimitNOFILE=1048576
NoNewPrivileges=yes
ProtectHome=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now tollgate-appliance.service
