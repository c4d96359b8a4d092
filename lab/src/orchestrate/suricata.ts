/**
 * The lab's files for Suricata: each appliance daemon gets its own configuration (Suricata's run
 * and log directories and the alert log under the lab's state directory, since the appliances
 * share one file system), the daemons run a copy of the rules file (the demo's monitor-mode
 * step edits the copy, never the user's file), and the internet server gets a self-signed
 * certificate made at start-up with openssl (the HTTPS steps; curl is told not to verify it).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseRules } from "@tollgate/appliance";
import type { ApplianceNode, LabTopology } from "../topology/plan";

/** Where one appliance's daemon configuration and Suricata files live. */
export function applianceFiles(t: LabTopology, a: ApplianceNode) {
  const dir = path.join(t.stateDir, a.name);
  return {
    config: path.join(t.stateDir, `${a.name}.yaml`),
    logDir: path.join(dir, "suricata"),
    runDir: path.join(dir, "run"),
    eve: path.join(dir, "suricata", "eve.json"),
    alerts: path.join(dir, "alerts.json"),
  };
}

/** The copy of the rules file the daemons run. */
export function labRulesFile(t: LabTopology): string {
  return path.join(t.stateDir, "rules", "rules.yaml");
}

export function tlsFiles(t: LabTopology): { cert: string; key: string } {
  return {
    cert: path.join(t.stateDir, "tls", "cert.pem"),
    key: path.join(t.stateDir, "tls", "key.pem"),
  };
}

/** Writes the per-appliance configurations, the rules copy (with its rule files) and the certificate. */
export function prepareLabFiles(t: LabTopology, rulesFile: string): void {
  for (const a of t.appliances) {
    const f = applianceFiles(t, a);
    fs.mkdirSync(path.dirname(f.alerts), { recursive: true });
    const yaml = [
      "# Written by the lab: this appliance's Suricata and alert files (the appliances share a file system).",
      "suricata:",
      `  logDir: ${f.logDir}`,
      `  runDir: ${f.runDir}`,
      "alerts:",
      `  log: ${f.alerts}`,
      "",
    ].join("\n");
    fs.writeFileSync(f.config, yaml);
  }
  // The HTTPS server (and its certificate) only serves the Suricata steps.
  if (copyRules(rulesFile, labRulesFile(t))) {
    const tls = tlsFiles(t);
    selfSignedCertificate(tls.cert, tls.key);
  }
}

/** A self-signed certificate (CN tollgate-lab, 2 days) made with openssl; PEM files. */
export function selfSignedCertificate(cert: string, key: string): void {
  fs.mkdirSync(path.dirname(cert), { recursive: true });
  fs.mkdirSync(path.dirname(key), { recursive: true });
  const subject = ["-subj", "/CN=tollgate-lab", "-keyout", key, "-out", cert];
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", ...subject],
    {
      stdio: "ignore",
      timeout: 30_000,
    },
  );
}

/**
 * Copies the rules file and the rule files its suricata section names (same relative paths);
 * true when it has a suricata section.
 */
function copyRules(from: string, to: string): boolean {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const text = fs.readFileSync(from, "utf8");
  fs.writeFileSync(to, text);
  const parsed = parseRules(text, from);
  const names = parsed.ok ? (parsed.rules.file.suricata?.ruleFiles ?? []) : [];
  for (const name of names) {
    const target = path.resolve(path.dirname(to), name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.resolve(path.dirname(from), name), target);
  }
  return parsed.ok && parsed.rules.file.suricata !== undefined;
}
