/**
 * `tollgate-emu` (also `tollgate-emu emu`): a GWLB emulator on the command line. Sends GWLB-style GENEVE traffic (gwlb-emu's
 * ids, cookies and inner packets) to an appliance, validates every reply and prints a summary.
 * Exit status 3 when any reply was invalid (like gwlb-emu), 1 on loss with --max-loss exceeded.
 */
import { Command, Option } from "commander";
import { generateFlows } from "./emulator/flows";
import { ChecksumAudit, type ChecksumAuditCounts } from "./emulator/checksum-audit";
import { GwlbPeer } from "./emulator/peer";
import { runEmulation } from "./emulator/run";
import { openUdpTransport, type DatagramTransport } from "./emulator/transport";
import { GENEVE_PORT, GWLB_MTU, runProgram } from "@tollgate/appliance";

interface EmuOptions {
  target: string;
  flows: string;
  endpoints: string;
  proto: "udp" | "tcp" | "icmp";
  ipv6?: boolean;
  size: string;
  count: string;
  rate: string;
  senders: string;
  bind: string;
  echo: boolean;
  malformed?: boolean;
  drainMs: string;
  warmup: string;
  maxLoss?: string;
  json?: boolean;
  auditChecksums?: boolean;
}

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name}: expected an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

export function registerEmulatorCommand(program: Command): Command {
  return program
    .command("emu", { isDefault: true })
    .description("emulate a GWLB: send GENEVE traffic to an appliance and validate what comes back")
    .requiredOption("--target <address>", "appliance IPv4 address (datagrams go to <address>:6081)")
    .option("--flows <n>", "distinct inner flows", "1")
    .option("--endpoints <n>", "distinct GWLB endpoint ids (flow i uses endpoint i % n)", "1")
    .addOption(
      new Option("--proto <proto>", "inner protocol")
        .choices(["udp", "tcp", "icmp"])
        .default("udp"),
    )
    .option("--ipv6", "inner IPv6 (GENEVE protocol 0x86DD)")
    .option("--size <bytes>", "inner packet size, IP header included", "512")
    .option("--count <n>", "packets to send", "1000")
    .option("--rate <pps>", "packets per second; 0 = as fast as possible", "1000")
    .option("--senders <n>", "ephemeral source ports to send from; 0 = send from port 6081", "1")
    .option("--bind <address>", "local address for the port-6081 socket", "0.0.0.0")
    .option("--no-echo", "replies may be any packet of the same flow (appliance answers itself)")
    .option("--malformed", "also send one malformed datagram per decoder drop reason")
    .option("--drain-ms <ms>", "wait this long for late replies", "1000")
    .option(
      "--warmup <seconds>",
      "uncounted traffic at 1000 pps first, so interfaces and hooks are ready",
      "1",
    )
    .option("--max-loss <percent>", "exit 1 when loss exceeds this")
    .option("--json", "print the summary as one JSON line")
    .option(
      "--audit-checksums",
      "count replies with UDP checksum 0 or wrong (iptables u32 rule + /proc/net/snmp, needs CAP_NET_ADMIN); any makes the run invalid",
    )
    .action(async (o: EmuOptions) => {
      const flows = generateFlows({
        flows: int("flows", o.flows, 1, 1_000_000),
        endpoints: int("endpoints", o.endpoints, 1, 65535),
        proto: o.proto,
        family: o.ipv6 ? 6 : 4,
        size: int("size", o.size, o.ipv6 ? 80 : 60, GWLB_MTU),
      });
      const senders = int("senders", o.senders, 0, 64);
      const transport = await openUdpTransport({
        address: o.bind,
        port: GENEVE_PORT,
        receiveBufferSize: 8 << 20,
      });
      const extra: DatagramTransport[] = [];
      for (let i = 0; i < senders; i++)
        extra.push(await openUdpTransport({ address: o.bind, port: 0 }));
      const peer = new GwlbPeer({
        transport,
        target: o.target,
        ...(extra.length > 0 ? { sendTransports: extra } : {}),
        expectEcho: o.echo,
      });
      const audit = o.auditChecksums ? new ChecksumAudit() : undefined;
      let checksums: ChecksumAuditCounts | undefined;
      try {
        await audit?.start();
        const s = await runEmulation({
          peer,
          flows,
          count: int("count", o.count, 1, 1e9),
          rate: Number(o.rate),
          drainMs: int("drain-ms", o.drainMs, 0, 600_000),
          malformed: o.malformed ?? false,
          senders: Math.max(1, senders),
          warmupSeconds: Number(o.warmup) >= 0 ? Number(o.warmup) : 0,
        });
        checksums = await audit?.read();
        const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify(checksums ? { ...s, checksums } : s, replacer)}\n`,
          );
        } else {
          const problems = Object.entries(s.problems).filter(([, v]) => v > 0);
          process.stdout.write(
            [
              `sent ${s.sent} (+${s.malformedSent} malformed)  received ${s.received}  valid ${s.valid}  late ${s.late}  invalid ${s.invalid}  loss ${s.lossPercent.toFixed(3)}%`,
              `exact ${s.exact}  ttl-decremented ${s.ttlDecremented}  rtt ms p50 ${s.rttMs.p50?.toFixed(3) ?? "-"} p99 ${s.rttMs.p99?.toFixed(3) ?? "-"}`,
              ...(problems.length
                ? [`problems: ${problems.map(([k, v]) => `${k}=${v}`).join(" ")}`]
                : []),
              ...(checksums
                ? [
                    `outer UDP checksums: ${checksums.datagrams} datagrams, ${checksums.zeroChecksum} with checksum 0, ${checksums.badChecksum} wrong (dropped by the kernel)`,
                  ]
                : []),
            ].join("\n") + "\n",
          );
        }
        const badSums = checksums ? checksums.zeroChecksum + checksums.badChecksum : 0;
        if (s.invalid > 0 || badSums > 0) process.exitCode = 3;
        else if (o.maxLoss !== undefined && s.lossPercent > Number(o.maxLoss)) process.exitCode = 1;
      } finally {
        await audit?.stop();
        await peer.close();
      }
    });
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = new Command("tollgate-emu").description(
    "Tollgate testbed: GWLB emulator for testing an appliance (never installed on instances)",
  );
  registerEmulatorCommand(program);
  await runProgram(program, "tollgate-emu", argv);
}
