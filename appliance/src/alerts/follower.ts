/**
 * Follows a growing line-oriented log file (Suricata's EVE log) like `tail -F`: complete lines
 * only, across rotation (the path names a new inode: the old file is read to its end first) and
 * truncation (copytruncate: the size drops below what was read, reading restarts at 0).
 *
 * Polled: {@link LogFollower.poll} reads whatever is new, synchronously; the owner calls it on a
 * timer. A line longer than `maxLineBytes` is skipped and counted as `oversized`.
 */
import * as fs from "node:fs";

/** The file system calls the follower uses (tests may wrap them). */
export interface FollowerFs {
  /** inode and size of `path`, or undefined when it does not exist. */
  stat(path: string): { ino: number; size: number } | undefined;
  open(path: string): number;
  read(fd: number, buf: Buffer, position: number): number;
  close(fd: number): void;
}

export const nodeFollowerFs: FollowerFs = {
  stat(path) {
    try {
      const s = fs.statSync(path);
      return { ino: s.ino, size: s.size };
    } catch {
      return undefined;
    }
  },
  open: (path) => fs.openSync(path, "r"),
  read: (fd, buf, position) => fs.readSync(fd, buf, 0, buf.length, position),
  close: (fd) => fs.closeSync(fd),
};

export interface LogFollowerOptions {
  readonly path: string;
  readonly onLine: (line: string) => void;
  /** Where to begin in a file that exists at the first poll: `end` skips its history. */
  readonly from: "start" | "end";
  /** Longest line kept, bytes. Defaults to 1 MiB. */
  readonly maxLineBytes?: number;
  /** Most bytes read per poll (the rest waits for the next one). Defaults to 16 MiB. */
  readonly maxBytesPerPoll?: number;
  readonly fs?: FollowerFs;
}

export interface FollowerStats {
  lines: number;
  /** The path named a new file (rotation). */
  rotated: number;
  /** The file shrank below the position read (copytruncate). */
  truncated: number;
  oversized: number;
  /** open/read failures (the next poll retries). */
  errors: number;
}

const NEWLINE = 0x0a;

export class LogFollower {
  readonly stats: FollowerStats = { lines: 0, rotated: 0, truncated: 0, oversized: 0, errors: 0 };
  private fd: number | undefined;
  private ino = -1;
  private position = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipping = false;
  private first = true;
  private readonly fs: FollowerFs;
  private readonly chunk = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly options: LogFollowerOptions) {
    this.fs = options.fs ?? nodeFollowerFs;
  }

  /** Reads what is new; never throws (failures are counted in `errors`). */
  poll(): void {
    try {
      this.step();
    } catch {
      this.stats.errors++;
    }
  }

  close(): void {
    if (this.fd !== undefined) this.fs.close(this.fd);
    this.fd = undefined;
  }

  private step(): void {
    const st = this.fs.stat(this.options.path);
    if (this.fd !== undefined && st && st.ino !== this.ino) {
      this.drain();
      this.close();
      this.stats.rotated++;
      this.resetLine();
    }
    const first = this.first;
    this.first = false;
    if (this.fd === undefined) {
      if (!st) return;
      this.fd = this.fs.open(this.options.path);
      this.ino = st.ino;
      this.position = first && this.options.from === "end" ? st.size : 0;
    } else if (st && st.size < this.position) {
      this.stats.truncated++;
      this.position = 0;
      this.resetLine();
    }
    this.drain();
  }

  private drain(): void {
    const budget = this.options.maxBytesPerPoll ?? 16 * 1024 * 1024;
    for (let read = 0; read < budget;) {
      const n = this.fs.read(this.fd!, this.chunk, this.position);
      if (n <= 0) return;
      this.position += n;
      read += n;
      this.split(this.chunk.subarray(0, n));
    }
  }

  private split(data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.append(data.subarray(start, nl));
      this.endLine();
      start = nl + 1;
    }
    this.append(data.subarray(start));
  }

  private append(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    const max = this.options.maxLineBytes ?? 1024 * 1024;
    if (this.partialBytes + part.length > max) {
      this.stats.oversized++;
      this.skipping = true;
      this.partial = [];
      this.partialBytes = 0;
      return;
    }
    this.partial.push(Buffer.from(part));
    this.partialBytes += part.length;
  }

  private endLine(): void {
    const line = this.skipping ? "" : Buffer.concat(this.partial).toString("utf8");
    this.resetLine();
    if (line.trim() === "") return;
    this.stats.lines++;
    this.options.onLine(line);
  }

  private resetLine(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
  }
}
