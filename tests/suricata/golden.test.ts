/**
 * Golden files for the Suricata side of the rules file: tests/golden/suricata/<case>.txt holds
 * the rendered suricata.yaml, tollgate.rules (domain rules, signatures, rule files) and command
 * line. Refresh with UPDATE_GOLDEN=1 after reviewing the diff. The iptables side (NFQUEUE/TEE in
 * mangle FORWARD) is in tests/golden/rules/suricata-*.txt.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { assertGolden } from "../golden";
import { parseRules, planSuricata } from "@tollgate/appliance";

const ROOT = path.resolve(__dirname, "../../..");
const FIXTURES = path.join(ROOT, "tests/suricata/fixtures");
const GOLDEN = path.join(ROOT, "tests/golden/suricata");
const PATHS = { logDir: "/var/log/tollgate/suricata", runDir: "/run/tollgate/suricata" };

function render(fixture: string): string {
  const file = path.join(FIXTURES, fixture);
  const parsed = parseRules(fs.readFileSync(file, "utf8"), fixture);
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  const files = [
    {
      name: "local.rules",
      text: 'alert icmp any any -> any any (msg:"ping"; sid:1000100; rev:1;)\n',
    },
  ];
  const plan = planSuricata(parsed.rules, PATHS, files);
  assert.ok(plan, `${fixture} has a suricata: section`);
  return [
    "## errors",
    ...plan.errors,
    "## notes",
    ...plan.notes,
    "## args",
    plan.args.join(" "),
    "## suricata.yaml",
    plan.config.trimEnd(),
    "## tollgate.rules",
    plan.rules.trimEnd(),
    "",
  ].join("\n");
}

describe("suricata golden files", () => {
  for (const fixture of fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"))) {
    const name = fixture.replace(/\.yaml$/, "");
    it(`${name} matches tests/golden/suricata/${name}.txt`, () => {
      const actual = render(fixture);
      const golden = path.join(GOLDEN, `${name}.txt`);
      assertGolden(golden, actual);
    });
  }
});
