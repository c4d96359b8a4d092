/**
 * The rules files `npm run bench:ids` (scripts/bench-ids.sh) compares: the same appliance rules
 * without Suricata (`plain.yaml`) and with Suricata inline (`ips.yaml`: `mode: ips`, fail closed,
 * every packet queued), whose signatures are a generated, realistic-sized set (`bench.rules`, a
 * few thousand rules over the protocols Suricata parses) plus domain lists.
 *
 *   node testbed/dist/ids-bench.js --out DIR [--signatures 3000] [--domains 200]
 *
 * Deterministic (a seeded generator): the same arguments give the same files. No signature
 * matches the bench traffic (its contents are random 12-hex-digit strings), so every packet is
 * inspected against the whole set and none is dropped by a signature.
 */
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { runProgram } from "@tollgate/appliance";

/** First sid of the generated signatures (below Tollgate's reserved domain-rule range). */
export const BENCH_SID_BASE = 5_000_000;
export const BENCH_RULES_FILE = "bench.rules";

/** A small deterministic PRNG (mulberry32), so runs compare the same signature set. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Template = (i: number, token: string) => string;

/** The mix, by weight: HTTP and TLS most, then raw TCP/UDP content, DNS and ICMP. */
const TEMPLATES: readonly [number, Template][] = [
  [
    30,
    (i, t) =>
      `alert http any any -> any any (msg:"bench http uri ${i}"; flow:established,to_server; http.uri; content:"/${t}/"; nocase; classtype:web-application-attack;`,
  ],
  [
    15,
    (i, t) =>
      `alert http any any -> any any (msg:"bench http ua ${i}"; flow:established,to_server; http.user_agent; content:"agent-${t}"; classtype:trojan-activity;`,
  ],
  [
    20,
    (i, t) =>
      `alert tls any any -> any any (msg:"bench tls sni ${i}"; flow:established,to_server; tls.sni; content:"${t}.example"; endswith; classtype:policy-violation;`,
  ],
  [
    10,
    (i, t) =>
      `alert tcp any any -> any [1024:65535] (msg:"bench tcp content ${i}"; flow:established; content:"${t}"; depth:64; classtype:misc-activity;`,
  ],
  [
    15,
    (i, t) =>
      `alert udp any any -> any any (msg:"bench udp content ${i}"; content:"|${t.slice(0, 2)} ${t.slice(2, 4)}|${t.slice(4)}"; classtype:misc-activity;`,
  ],
  [
    8,
    (i, t) =>
      `alert dns any any -> any any (msg:"bench dns query ${i}"; dns.query; content:"${t}.bad.example"; nocase; classtype:bad-unknown;`,
  ],
  [
    2,
    (i, t) =>
      `alert icmp any any -> any any (msg:"bench icmp ${i}"; itype:8; content:"${t}"; classtype:misc-activity;`,
  ],
];

function pick(r: () => number): Template {
  const total = TEMPLATES.reduce((n, [w]) => n + w, 0);
  let x = r() * total;
  for (const [w, t] of TEMPLATES) if ((x -= w) < 0) return t;
  return TEMPLATES[0]![1];
}

function token(r: () => number): string {
  return Array.from({ length: 12 }, () => Math.floor(r() * 16).toString(16)).join("");
}

/** `count` signatures, one per line, sids from {@link BENCH_SID_BASE}. */
export function generateSignatures(count: number, seed = 11): string[] {
  const r = prng(seed);
  return Array.from(
    { length: count },
    (_, i) => `${pick(r)(i, token(r))} sid:${BENCH_SID_BASE + i}; rev:1;)`,
  );
}

/** `count` domain names: half exact, half `.suffix` wildcards. */
export function generateDomains(count: number, prefix: string, seed: number): string[] {
  const r = prng(seed);
  return Array.from({ length: count }, (_, i) => `${i % 2 ? "." : ""}${prefix}${token(r)}.example`);
}

const BASE = `version: 1
defaults:
  mode: inspect
  policy: allow
  established: true
  protected: [10.100.0.0/16] # the load generator's inner sources (Suricata's HOME_NET)
rules:
  - action: allow
    comment: bench allow all
`;

/** The two rules files: identical but for the `suricata:` section. */
export function benchRulesFiles(domains: number): { plain: string; ips: string } {
  const list = (names: string[]) => names.map((n) => `      - ${n}`).join("\n");
  const ips = `${BASE}suricata:
  mode: ips
  failure: closed
  ruleFiles: [${BENCH_RULES_FILE}]
  domains:
    mode: enforce
    default: allow
    deny:
${list(generateDomains(domains, "deny-", 21))}
    allow:
${list(generateDomains(domains, "allow-", 22))}
`;
  return { plain: BASE, ips };
}

export function writeBenchFiles(out: string, signatures: number, domains: number): void {
  fs.mkdirSync(out, { recursive: true });
  const files = benchRulesFiles(domains);
  fs.writeFileSync(path.join(out, "plain.yaml"), files.plain);
  fs.writeFileSync(path.join(out, "ips.yaml"), files.ips);
  fs.writeFileSync(
    path.join(out, BENCH_RULES_FILE),
    `${generateSignatures(signatures).join("\n")}\n`,
  );
}

if (require.main === module) {
  const program = new Command("ids-bench")
    .description("write the rules files npm run bench:ids compares")
    .requiredOption("--out <dir>", "directory for plain.yaml, ips.yaml and bench.rules")
    .option("--signatures <n>", "generated signatures", "3000")
    .option("--domains <n>", "names in each of the deny and allow lists", "200")
    .action((o: { out: string; signatures: string; domains: string }) =>
      writeBenchFiles(o.out, Number(o.signatures), Number(o.domains)),
    );
  void runProgram(program, "ids-bench", process.argv);
}
