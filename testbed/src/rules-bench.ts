/**
 * `npm run bench:rules`: applies 10,000 rules and a 50,000-entry set atomically (one
 * iptables-restore + one ipset restore, through the real engine with snapshot and read-back
 * verification) and compares with the shell-recipe approach of one command per rule / entry.
 * Runs in a network namespace it creates (root only); ratios, not timed assertions.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  compileRules,
  ExecRunner,
  MINIMAL_CAPABILITIES,
  parseRules,
  RulesEngine,
  type EndpointRef,
} from "@tollgate/appliance";

const RULES = Number(process.env.BENCH_RULES ?? 10_000);
const SET_ENTRIES = Number(process.env.BENCH_SET ?? 50_000);
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 500);
const SET_SAMPLE = Number(process.env.BENCH_SET_SAMPLE ?? 2_000);

function addr(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function rulesYaml(setEntries: number): string {
  const lines = [
    "version: 1",
    "defaults:",
    "  policy: allow",
    "  ipv6: false",
    "sets:",
    "  big:",
    "    type: net",
    setEntries === 0 ? "    entries: []" : "    entries:",
  ];
  for (let i = 0; i < setEntries; i++) lines.push(`      - ${addr(0x400000 + i)}`);
  lines.push("rules:", "  - action: drop", '    src: "@big"');
  for (let i = 1; i < RULES; i++) {
    lines.push(
      "  - action: drop",
      "    proto: tcp",
      `    src: ${addr(i)}`,
      `    ports: ${1 + (i % 65000)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function ms(t0: number): number {
  return performance.now() - t0;
}

function fmt(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("bench:rules skipped: needs root (creates a network namespace)");
    return;
  }
  const ns = `tgdb${process.pid}`;
  const sh = (...argv: string[]) =>
    execFileSync("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  execFileSync("ip", ["netns", "add", ns]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-bench-"));
  try {
    sh("ip", "link", "add", "gwi-1", "type", "veth", "peer", "name", "gwo-1");
    sh("ip", "link", "set", "gwi-1", "up");
    sh("ip", "link", "set", "gwo-1", "up");
    const eps: EndpointRef[] = [{ gwi: "gwi-1", gwo: "gwo-1" }];
    // 10,000 rules alone first (the set empty), then with the 50,000-entry set.
    const small = parseRules(rulesYaml(0), "bench.yaml");
    if (!small.ok) throw new Error(small.errors.slice(0, 5).join("\n"));
    const text = rulesYaml(SET_ENTRIES);
    let t0 = performance.now();
    const parsed = parseRules(text, "bench.yaml");
    if (!parsed.ok) throw new Error(parsed.errors.slice(0, 5).join("\n"));
    const tParse = ms(t0);
    t0 = performance.now();
    const compiled = compileRules(parsed.rules, eps, MINIMAL_CAPABILITIES);
    const tCompile = ms(t0);
    const engine = new RulesEngine({
      runner: new ExecRunner({ netns: ns }),
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(tmp, "state.json"),
    });
    const rulesOnly = await engine.applyCompiled(
      compileRules(small.rules, eps, MINIMAL_CAPABILITIES),
    );
    await engine.remove();
    const first = await engine.applyCompiled(compiled);
    const again = await engine.applyCompiled(compiled);
    const step = (name: string) => first.steps.find((s) => s.step === name)?.ms ?? 0;
    const filterRules = compiled.ruleCounts.ipv4["filter/TOLLGATE-gwi-1"] ?? 0;

    // One command per rule, as the shell recipes do: a sample on an empty chain and one on a
    // chain already holding the full ruleset (iptables re-reads the ruleset on every call).
    sh("iptables", "-N", "PERRULE");
    const perRule = (count: number, offset: number) => {
      const s = performance.now();
      for (let i = 0; i < count; i++) {
        sh(
          "iptables",
          "-A",
          "PERRULE",
          "-s",
          `${addr(offset + i)}/32`,
          "-p",
          "tcp",
          "-m",
          "tcp",
          "--dport",
          String(1 + (i % 65000)),
          "-j",
          "DROP",
        );
      }
      return ms(s) / count;
    };
    const perRuleLoaded = perRule(SAMPLE, 1);
    sh("iptables", "-F", "PERRULE");
    const before = performance.now();
    sh("iptables", "-t", "filter", "-F", "TOLLGATE-gwi-1");
    const flushMs = ms(before);
    const perRuleEmpty = perRule(SAMPLE, 1);
    const perRuleEstimate = (RULES * (perRuleEmpty + perRuleLoaded)) / 2;
    sh("ipset", "create", "perentry", "hash:net", "maxelem", String(2 * SET_ENTRIES));
    const s = performance.now();
    for (let i = 0; i < SET_SAMPLE; i++) sh("ipset", "add", "perentry", addr(0x400000 + i));
    const perEntry = ms(s) / SET_SAMPLE;
    const perEntryEstimate = perEntry * SET_ENTRIES;

    const atomicRules = step("iptables-restore");
    const atomicSet = step("ipset");
    console.log(`Tollgate rules benchmark (namespace ${ns}, iptables nf_tables backend)`);
    console.log(
      `  ruleset: ${RULES} rules (${filterRules} iptables rules in TOLLGATE-gwi-1) + one set of ${SET_ENTRIES} CIDRs`,
    );
    console.log(`  parse ${fmt(tParse)}, compile ${fmt(tCompile)} (pure, no I/O)`);
    console.log(
      `  atomic apply, ${RULES} rules (empty set): ${fmt(rulesOnly.ms)} total (${rulesOnly.steps.map((x) => `${x.step} ${fmt(x.ms)}`).join(", ")})`,
    );
    console.log(
      `  atomic apply, rules + set, first:   ${fmt(first.ms)} total = snapshot ${fmt(step("snapshot"))} + ipset restore ${fmt(atomicSet)} + iptables-restore ${fmt(atomicRules)} + verify ${fmt(step("verify"))} + rest`,
    );
    console.log(
      `  atomic apply, re-run:  ${fmt(again.ms)} total (iptables-restore ${fmt(again.steps.find((x) => x.step === "iptables-restore")?.ms ?? 0)})`,
    );
    console.log(
      `  one iptables command per rule: ${perRuleEmpty.toFixed(2)} ms/rule on an empty table, ${perRuleLoaded.toFixed(2)} ms/rule with ${RULES} rules loaded (samples of ${SAMPLE})`,
    );
    console.log(
      `    -> ${RULES} rules: ~${fmt(perRuleEstimate)} (EXTRAPOLATED: ${RULES} x mean of the two per-rule costs)`,
    );
    console.log(
      `  one ipset add per entry: ${perEntry.toFixed(2)} ms/entry (sample of ${SET_SAMPLE}) -> ${SET_ENTRIES} entries: ~${fmt(perEntryEstimate)} (EXTRAPOLATED)`,
    );
    console.log(
      `  ratio, rules:  one-command-per-rule / iptables-restore = ${(perRuleEstimate / atomicRules).toFixed(0)}x; / whole transaction = ${(perRuleEstimate / first.ms).toFixed(0)}x`,
    );
    console.log(
      `  ratio, set:    one-add-per-entry / ipset restore = ${(perEntryEstimate / atomicSet).toFixed(0)}x`,
    );
    console.log(
      `  target: < 1 s for ${RULES} rules (iptables-restore ${atomicRules < 1000 ? "met" : "NOT met"}; whole transaction without the set ${rulesOnly.ms < 1000 ? "met" : "NOT met"}), >= 50x (${perRuleEstimate / first.ms >= 50 ? "met" : "NOT met"})`,
    );
    void flushMs;
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
