/**
 * Audits the outer UDP checksums of the replies an emulator receives, which a `dgram` socket
 * cannot see: the kernel silently drops a datagram with a wrong checksum (counting it in
 * /proc/net/snmp `Udp: InCsumErrors`) and accepts one with checksum 0 ("none", what the
 * reference tunnel handler sends). The audit counts both in the emulator's network namespace:
 *
 * - an iptables chain hooked in INPUT for `udp dport 6081` counts every reply and, with a u32
 *   match on the checksum field, those whose checksum is 0;
 * - the `InCsumErrors` delta counts wrong checksums.
 *
 * Needs CAP_NET_ADMIN in that namespace. Commands are argv arrays behind {@link AuditRunner}.
 */
import { execFile } from "node:child_process";
import { promises as fsp } from "node:fs";
import { GENEVE_PORT } from "@tollgate/appliance";

export interface AuditRunner {
  run(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export const execAuditRunner: AuditRunner = {
  run: (argv) =>
    new Promise((resolve) => {
      execFile(
        argv[0]!,
        argv.slice(1),
        { encoding: "utf8", timeout: 10_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
          resolve({ code, stdout: String(stdout ?? ""), stderr: String(stderr ?? "") });
        },
      );
    }),
};

export interface ChecksumAuditOptions {
  /** Local UDP port replies arrive on. Defaults to 6081. */
  readonly port?: number;
  readonly runner?: AuditRunner;
  /** Reads /proc/net/snmp. */
  readonly readSnmp?: () => Promise<string>;
  /** iptables binary. Defaults to "iptables". */
  readonly iptables?: string;
  /** Chain name (<= 28 characters). Defaults to TGEMU-CSUM-<pid>. */
  readonly chain?: string;
}

export interface ChecksumAuditCounts {
  /** Datagrams that reached INPUT for the port. */
  readonly datagrams: number;
  /** ... of which carried UDP checksum 0. */
  readonly zeroChecksum: number;
  /** Datagrams the kernel dropped for a wrong UDP checksum (whole namespace, all ports). */
  readonly badChecksum: number;
}

/** `InCsumErrors` of the Udp line in /proc/net/snmp (0 when absent). */
export function parseUdpInCsumErrors(snmp: string): number {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Udp:"));
  if (lines.length < 2) return 0;
  const names = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  const i = names.indexOf("InCsumErrors");
  return i < 0 ? 0 : Number(values[i] ?? 0);
}

/** Packet counts of the rules of a chain, in order, from `iptables -L CHAIN -n -v -x`. */
export function parseChainCounters(listing: string): number[] {
  const out: number[] = [];
  for (const line of listing.split("\n")) {
    const m = /^\s*(\d+)\s+\d+\s+RETURN\b/.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

export class ChecksumAudit {
  private readonly port: number;
  private readonly runner: AuditRunner;
  private readonly readSnmp: () => Promise<string>;
  private readonly ipt: string;
  readonly chain: string;
  private baseCsum = 0;
  private started = false;

  constructor(options: ChecksumAuditOptions = {}) {
    this.port = options.port ?? GENEVE_PORT;
    this.runner = options.runner ?? execAuditRunner;
    this.readSnmp = options.readSnmp ?? (() => fsp.readFile("/proc/net/snmp", "utf8"));
    this.ipt = options.iptables ?? "iptables";
    this.chain = options.chain ?? `TGEMU-CSUM-${process.pid}`;
  }

  private async must(args: readonly string[]): Promise<string> {
    const r = await this.runner.run([this.ipt, "-w", ...args]);
    if (r.code !== 0)
      throw new Error(`${this.ipt} ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  private jumpRule(): string[] {
    return ["INPUT", "-p", "udp", "--dport", String(this.port), "-j", this.chain];
  }

  /** Installs the counting chain (removing it again if a step fails). */
  async start(): Promise<void> {
    if (this.started) return;
    await this.must(["-N", this.chain]);
    try {
      // UDP checksum = 16 bits at transport offset 6: u32 reads 4 bytes at offset 4 (length + checksum).
      await this.must([
        "-A",
        this.chain,
        "-m",
        "u32",
        "--u32",
        "0>>22&0x3C@4&0xFFFF=0",
        "-j",
        "RETURN",
      ]);
      await this.must(["-A", this.chain, "-j", "RETURN"]);
      await this.must(["-I", ...this.jumpRule()]);
    } catch (err) {
      await this.runner.run([this.ipt, "-w", "-F", this.chain]);
      await this.runner.run([this.ipt, "-w", "-X", this.chain]);
      throw err;
    }
    this.baseCsum = parseUdpInCsumErrors(await this.readSnmp());
    this.started = true;
  }

  async read(): Promise<ChecksumAuditCounts> {
    const counters = parseChainCounters(await this.must(["-L", this.chain, "-n", "-v", "-x"]));
    const zero = counters[0] ?? 0;
    const rest = counters[1] ?? 0;
    return {
      datagrams: zero + rest,
      zeroChecksum: zero,
      badChecksum: parseUdpInCsumErrors(await this.readSnmp()) - this.baseCsum,
    };
  }

  /** Removes the chain; safe to call twice or after a failed start. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.runner.run([this.ipt, "-w", "-D", ...this.jumpRule()]);
    await this.runner.run([this.ipt, "-w", "-F", this.chain]);
    await this.runner.run([this.ipt, "-w", "-X", this.chain]);
  }
}
