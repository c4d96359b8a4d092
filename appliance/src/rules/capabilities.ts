/**
 * Capability detection: probes tc classifiers/actions, ipset and ip6tables in a scratch network
 * namespace (so the host is never touched). Falls back to an assumption when not root.
 */
import { mirredAction, tcFilterAddArgv } from "./commands";
import { MINIMAL_CAPABILITIES, type Capabilities } from "./model";
import type { CommandRunner } from "../command";

/** Parses "u32,mirred,flower" (from --capabilities) into a capability set. */
export function parseCapabilities(text: string): Capabilities {
  const have = new Set(text.split(/[,\s]+/).filter(Boolean));
  const known = ["ingress", "u32", "mirred", "flower", "matchall", "gact", "ipset", "ip6tables"];
  for (const h of have)
    if (!known.includes(h))
      throw new Error(`unknown capability "${h}" (known: ${known.join(", ")})`);
  return {
    tcIngress: have.has("ingress") || have.has("u32") || have.has("flower") || have.has("matchall"),
    u32: have.has("u32"),
    mirred: have.has("mirred"),
    flower: have.has("flower"),
    matchall: have.has("matchall"),
    gact: have.has("gact"),
    ipset: have.has("ipset"),
    ip6tables: have.has("ip6tables"),
    source: "given",
  };
}

/** Probes the kernel in a scratch namespace `tgcap<pid>`; always removes it. */
export async function detectCapabilities(runner: CommandRunner): Promise<Capabilities> {
  const ns = `tgcap${process.pid}`;
  const inNs = (argv: string[]) => runner.run(["ip", "netns", "exec", ns, ...argv]);
  const add = await runner.run(["ip", "netns", "add", ns]);
  if (add.code !== 0) return { ...MINIMAL_CAPABILITIES, source: "assumed" };
  try {
    const ok = async (argv: string[]) => (await inNs(argv)).code === 0;
    await inNs(["ip", "link", "add", "tgcap0", "type", "veth", "peer", "name", "tgcap1"]);
    await inNs(["ip", "link", "set", "tgcap0", "up"]);
    await inNs(["ip", "link", "set", "tgcap1", "up"]);
    const tcIngress = await ok(["tc", "qdisc", "add", "dev", "tgcap0", "ingress"]);
    const filter = (pref: number, ...rest: string[]) =>
      ok(tcFilterAddArgv("tgcap0", "all", pref, ...rest));
    const mirror = mirredAction("mirror", "tgcap1");
    const u32 = tcIngress && (await filter(1, "u32", "match", "u32", "0", "0", ...mirror));
    const mirred =
      u32 || (tcIngress && (await filter(2, "bpf", "bytecode", "1,6 0 0 0,", ...mirror)));
    const flower = tcIngress && (await filter(3, "flower", "action", "pass"));
    const flowerMirred = tcIngress && !flower && (await filter(3, "flower", ...mirror));
    const matchall =
      tcIngress && (await filter(4, "matchall", ...(mirred ? mirror : ["action", "pass"])));
    const gact =
      tcIngress && u32 && (await filter(5, "u32", "match", "u32", "0", "0", "action", "pass"));
    const ipset = await ok(["ipset", "create", "tgcap", "hash:net", "family", "inet"]);
    const ip6tables = await ok(["ip6tables", "-t", "filter", "-S"]);
    return {
      tcIngress,
      u32,
      mirred,
      flower: flower || flowerMirred,
      matchall,
      gact,
      ipset,
      ip6tables,
      source: "detected",
    };
  } finally {
    await runner.run(["ip", "netns", "del", ns]);
  }
}
