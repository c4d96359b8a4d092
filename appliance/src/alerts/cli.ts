/**
 * `tollgate alerts`: the most recent Suricata alerts, readable or `--json`.
 *
 * It reads the daemon's alert log (`alerts.log`), a file: it works while the daemon is down,
 * and each alert already names the GWLB endpoint the daemon resolved when it saw it (the flow
 * table is the daemon's; see endpoint.ts). `--eve` reads Suricata's EVE log instead (alerts the
 * daemon has not seen, e.g. while it was stopped); there the endpoint is known only when the
 * capture interface names it.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import type { Command } from "commander";
import { loadConfig } from "../config/resolve";
import { endpointOfInterface } from "./endpoint";
import { decodeEveLine, type Alert } from "./eve";
import { RecentAlerts } from "./recent";
import { eveFile } from "./start";

export interface AlertsOptions {
  config?: string;
  file?: string;
  eve?: boolean;
  last: string;
  json?: boolean;
}

/** Reads `file` through the codec: the last `keep` alerts, and how many lines were bad. */
export async function readAlerts(
  file: string,
  keep: number,
  resolve: (a: Alert) => string | undefined = (a) => a.endpoint,
): Promise<{ alerts: Alert[]; bad: number }> {
  const recent = new RecentAlerts(keep);
  let bad = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const d = decodeEveLine(line);
    if (d.kind === "bad") bad++;
    if (d.kind !== "alert") continue;
    const endpoint = resolve(d.alert);
    recent.push(endpoint === undefined ? d.alert : { ...d.alert, endpoint });
  }
  return { alerts: recent.list(), bad };
}

function hostPort(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One readable line: time, action, sid, message, src -> dst, endpoint. */
export function formatAlert(a: Alert): string {
  return [
    a.time,
    a.action.padEnd(7),
    `sid ${a.gid}:${a.signatureId}:${a.rev}`,
    JSON.stringify(a.signature),
    `${a.proto} ${hostPort(a.src, a.srcPort)} -> ${hostPort(a.dest, a.destPort)}`,
    a.endpoint ?? "endpoint unknown",
  ].join("  ");
}

function lastCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
    throw new Error(`--last ${text}: expected an integer from 1 to 1000000`);
  return n;
}

export async function alertsCommand(o: AlertsOptions, out: NodeJS.WritableStream): Promise<void> {
  const keep = lastCount(o.last);
  const config = loadConfig(o.config !== undefined ? { config: o.config } : {});
  const file = o.file ?? (o.eve ? eveFile(config) : config.alerts.log);
  if (!fs.existsSync(file)) {
    const hint = o.eve
      ? ""
      : "; the daemon writes it at its first alert (Suricata's own log: --eve)";
    out.write(o.json ? "[]\n" : `no alerts: ${file} does not exist (yet)${hint}\n`);
    return;
  }
  const resolve = o.eve ? (a: Alert) => a.endpoint ?? endpointOfInterface(a.inIface) : undefined;
  const { alerts, bad } = await readAlerts(file, keep, resolve);
  if (o.json) out.write(`${JSON.stringify(alerts, null, 2)}\n`);
  else out.write(alerts.map((a) => `${formatAlert(a)}\n`).join("") || `no alerts in ${file}\n`);
  if (bad > 0)
    process.stderr.write(`tollgate alerts: ${bad} unreadable line(s) in ${file} skipped\n`);
}

export function registerAlertsCommand(program: Command): void {
  program
    .command("alerts")
    .description(
      "print the most recent Suricata alerts (time, action, signature, src -> dst, GWLB endpoint) from the daemon's alert log",
    )
    .option("--config <file>", "the daemon's configuration file (for alerts.log / suricata.logDir)")
    .option("--file <path>", "read this alert log (or EVE log) instead")
    .option(
      "--eve",
      "read Suricata's EVE log (<suricata.logDir>/eve.json) instead of the alert log",
    )
    .option("-n, --last <n>", "how many alerts", "20")
    .option("--json", "print a JSON array of alerts")
    .action(async (o: AlertsOptions) => {
      await alertsCommand(o, process.stdout);
    });
}
