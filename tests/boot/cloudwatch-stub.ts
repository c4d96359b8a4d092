/**
 * A stand-in for the one object the user data fetches from AWS's own bucket: the CloudWatch
 * agent's Debian package (no internet here). It installs the agent's control command as a script
 * that records its arguments, so the test sees the `cloudwatch-agent` step run to the end with the
 * rendered agent configuration. It is served by the S3 stand-in like any other object.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where the stub's control command records every call (inside the instance). */
export const CWAGENT_STUB_LOG = "/var/log/tollgate-boot-cwagent-stub.log";

/** Builds the stub package into `outDir`; returns the .deb's path. */
export function buildCloudWatchAgentStub(outDir: string): string {
  const root = path.join(outDir, "cwagent-stub");
  const ctl = path.join(root, "opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl");
  fs.mkdirSync(path.dirname(ctl), { recursive: true });
  fs.mkdirSync(path.join(root, "DEBIAN"));
  fs.writeFileSync(
    path.join(root, "DEBIAN", "control"),
    [
      "Package: amazon-cloudwatch-agent",
      "Version: 0.0.0-tollgate-boot-stub",
      "Architecture: all",
      "Maintainer: Tollgate boot test <noreply@example.invalid>",
      "Description: boot test stand-in for the CloudWatch agent (records its calls)",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(ctl, `#!/bin/sh\necho "$*" >> ${CWAGENT_STUB_LOG}\n`, { mode: 0o755 });
  const deb = path.join(outDir, "amazon-cloudwatch-agent.deb");
  execFileSync("dpkg-deb", ["--root-owner-group", "--build", root, deb], { stdio: "ignore" });
  return deb;
}
