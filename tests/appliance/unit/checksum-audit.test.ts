import { strict as assert } from "node:assert";
import {
  ChecksumAudit,
  parseChainCounters,
  parseUdpInCsumErrors,
  type AuditRunner,
} from "@tollgate/testbed";

const SNMP = (n: number) =>
  [
    "Ip: Forwarding DefaultTTL",
    "Ip: 1 64",
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    `Udp: 10 0 0 5 0 0 ${n} 0 0`,
    "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors",
    "UdpLite: 0 0 0 0 0 0 0 0 0",
  ].join("\n");

const LISTING = [
  "Chain TGEMU-CSUM-1 (1 references)",
  "    pkts      bytes target     prot opt in     out     source               destination",
  '       4      200 RETURN     all  --  *      *       0.0.0.0/0            0.0.0.0/0            u32 "0x0>>0x16&0x3c@0x4&0xffff=0x0"',
  "      96    50000 RETURN     all  --  *      *       0.0.0.0/0            0.0.0.0/0",
].join("\n");

describe("outer UDP checksum audit", () => {
  it("parses /proc/net/snmp and iptables counters", () => {
    assert.equal(parseUdpInCsumErrors(SNMP(7)), 7);
    assert.equal(parseUdpInCsumErrors("nothing"), 0);
    assert.deepEqual(parseChainCounters(LISTING), [4, 96]);
  });

  it("installs, reads and removes its chain with argv commands", async () => {
    const calls: string[] = [];
    let csum = 2;
    const runner: AuditRunner = {
      run: async (argv) => {
        calls.push(argv.join(" "));
        return { code: 0, stdout: argv.includes("-L") ? LISTING : "", stderr: "" };
      },
    };
    const a = new ChecksumAudit({
      runner,
      readSnmp: async () => SNMP(csum),
      chain: "TGEMU-CSUM-1",
    });
    await a.start();
    csum = 5;
    assert.deepEqual(await a.read(), { datagrams: 100, zeroChecksum: 4, badChecksum: 3 });
    await a.stop();
    await a.stop();
    assert.deepEqual(calls, [
      "iptables -w -N TGEMU-CSUM-1",
      "iptables -w -A TGEMU-CSUM-1 -m u32 --u32 0>>22&0x3C@4&0xFFFF=0 -j RETURN",
      "iptables -w -A TGEMU-CSUM-1 -j RETURN",
      "iptables -w -I INPUT -p udp --dport 6081 -j TGEMU-CSUM-1",
      "iptables -w -L TGEMU-CSUM-1 -n -v -x",
      "iptables -w -D INPUT -p udp --dport 6081 -j TGEMU-CSUM-1",
      "iptables -w -F TGEMU-CSUM-1",
      "iptables -w -X TGEMU-CSUM-1",
    ]);
  });

  it("cleans up when a rule cannot be added", async () => {
    const calls: string[] = [];
    const runner: AuditRunner = {
      run: async (argv) => {
        calls.push(argv.join(" "));
        const fail = argv.includes("u32");
        return { code: fail ? 2 : 0, stdout: "", stderr: fail ? "Couldn't load match `u32'" : "" };
      },
    };
    const a = new ChecksumAudit({ runner, readSnmp: async () => SNMP(0), chain: "C" });
    await assert.rejects(a.start(), /Couldn't load match/);
    assert.deepEqual(calls.slice(-2), ["iptables -w -F C", "iptables -w -X C"]);
  });
});
