/**
 * Root-only: every golden case's documents are accepted by the real iptables-restore/ipset/tc
 * (in a scratch namespace) and read back by iptables-save exactly as generated, which is what
 * lets `plan` diff exactly and `apply` verify.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  compileRules,
  MINIMAL_CAPABILITIES,
  normaliseRule,
  parseIptablesSave,
  parseRules,
  TABLES,
} from "@tollgate/appliance";
import { skipReason } from "./netns/topology";

const ROOT = path.resolve(__dirname, "../../..");
const FILES = [
  ...fs
    .readdirSync(path.join(ROOT, "tests/rules/fixtures"))
    .map((f) => `tests/rules/fixtures/${f}`),
  ...fs.readdirSync(path.join(ROOT, "examples/rules")).map((f) => `examples/rules/${f}`),
  ...fs
    .readdirSync(path.join(ROOT, "tests/suricata/fixtures"))
    .map((f) => `tests/suricata/fixtures/${f}`),
];
const ENDPOINTS = ["gwi-2a9TOJAocQ0", "gwi-2", "gwi-3", "gwi-4", "gwi-a1"].map((gwi) => ({
  gwi,
  gwo: `gwo-${gwi.slice(4)}`,
}));

describe("generated rules are what the kernel stores (root)", function () {
  this.timeout(60000);
  const ns = `tgd${process.pid}-canon`;
  const sh = (argv: string[], input?: string) =>
    execFileSync("ip", ["netns", "exec", ns, ...argv], {
      input,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });

  before(function () {
    const reason = skipReason(["ipset"]);
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    execFileSync("ip", ["netns", "add", ns]);
    sh(["ip", "link", "set", "lo", "up"]);
    for (const e of ENDPOINTS) {
      sh(["ip", "link", "add", e.gwi, "type", "veth", "peer", "name", e.gwo]);
      sh(["ip", "link", "set", e.gwi, "up"]);
      sh(["ip", "link", "set", e.gwo, "up"]);
    }
    for (const m of ["mon0", "mon1"])
      sh(["ip", "link", "add", m, "type", "veth", "peer", "name", `${m}p`]);
  });

  after(() => {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      /* not created */
    }
  });

  for (const file of FILES) {
    it(`${file}: restore accepted, iptables-save identical, tc and ip commands accepted`, () => {
      const parsed = parseRules(fs.readFileSync(path.join(ROOT, file), "utf8"), file);
      assert.ok(parsed.ok, parsed.ok ? "" : parsed.errors.join("\n"));
      const c = compileRules(parsed.rules, ENDPOINTS, MINIMAL_CAPABILITIES);
      assert.deepEqual(c.errors, []);
      if (c.ipsetRestore) sh(["ipset", "restore"], c.ipsetRestore);
      for (const [doc, restore, save] of [
        [c.iptablesRestore, "iptables-restore", "iptables-save"],
        [c.ip6tablesRestore, "ip6tables-restore", "ip6tables-save"],
      ] as const) {
        sh([restore, "--noflush"], doc);
        const live = parseIptablesSave(sh([save]));
        const want = parseIptablesSave(doc.replace(/^-F .*$/gm, ""));
        for (const t of TABLES) {
          for (const [chain, rules] of want.chains[t]) {
            assert.deepEqual(
              live.chains[t].get(chain)?.map(normaliseRule),
              rules,
              `${save} ${t} ${chain}`,
            );
          }
        }
      }
      for (const argv of [...c.tc, ...c.ipRules]) sh([...argv]);
      // Clean for the next file.
      for (const t of TABLES) {
        for (const tool of ["iptables", "ip6tables"]) {
          sh([tool, "-t", t, "-F"]);
          sh([tool, "-t", t, "-X"]);
        }
      }
      sh(["ipset", "destroy"]);
      for (const e of ENDPOINTS) {
        try {
          sh(["tc", "qdisc", "del", "dev", e.gwi, "ingress"]);
        } catch {
          /* no qdisc for this endpoint */
        }
      }
      for (const fam of ["-4", "-6"]) {
        sh(["ip", fam, "rule", "flush", "protocol", "116"]);
        sh(["ip", fam, "route", "flush", "table", "all", "proto", "116"]);
      }
      for (const e of ENDPOINTS) sh(["ip", "addr", "flush", "dev", e.gwi]);
    });
  }
});
