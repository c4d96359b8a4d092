/**
 * The daemon's alert pipeline: follows Suricata's EVE log (`<suricata.logDir>/eve.json`), counts
 * every line (alert, other event, bad), resolves each alert's GWLB endpoint (endpoint.ts) and
 * appends it to the alert log (`alerts.log`) that `tollgate alerts` reads and the CloudWatch
 * agent ships. Runs whether or not Suricata is configured: without an EVE file it only checks
 * for one once per poll.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AlertCounts } from "./counts";
import { alertLogLine, decodeEveLine, type Alert } from "./eve";
import { LogFollower, type FollowerFs } from "./follower";

export const EVE_FILE_NAME = "eve.json";
export const DEFAULT_POLL_MS = 500;

/** Appends lines to a file opened with O_APPEND (safe with logrotate's copytruncate). */
export interface LineWriter {
  write(line: string): boolean;
  close(): void;
}

export function appendWriter(file: string): LineWriter {
  let fd: number | undefined;
  return {
    write(line) {
      try {
        if (fd === undefined) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fd = fs.openSync(file, "a", 0o640);
        }
        fs.writeSync(fd, `${line}\n`);
        return true;
      } catch {
        this.close();
        return false;
      }
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

export interface AlertServiceOptions {
  /** Suricata's EVE log. */
  readonly eveFile: string;
  readonly alertLog: LineWriter;
  readonly resolveEndpoint: (a: Alert) => string | undefined;
  /** Poll period, ms. Defaults to {@link DEFAULT_POLL_MS}. */
  readonly pollMs?: number;
  readonly fs?: FollowerFs;
}

export class AlertService {
  readonly counts = new AlertCounts();
  readonly follower: LogFollower;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AlertServiceOptions) {
    this.follower = new LogFollower({
      path: options.eveFile,
      from: "end",
      onLine: (line) => this.handle(line),
      ...(options.fs ? { fs: options.fs } : {}),
    });
  }

  /** One EVE line: counted; an alert is resolved, counted and written to the alert log. */
  handle(line: string): void {
    const d = decodeEveLine(line);
    this.counts.lines[d.kind]++;
    if (d.kind !== "alert") return;
    const endpoint = this.options.resolveEndpoint(d.alert);
    this.counts.alert(d.alert.signatureId, d.alert.action, endpoint);
    if (!this.options.alertLog.write(alertLogLine(d.raw, endpoint))) this.counts.alertLogErrors++;
  }

  start(): void {
    this.follower.poll();
    this.timer = setInterval(() => this.follower.poll(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref();
  }

  /** Reads what is left, then stops. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.follower.poll();
    this.follower.close();
    this.options.alertLog.close();
  }
}
