/**
 * Golden files for every compiler construct: tests/golden/rules/<case>.txt holds the complete
 * compiler output. Refresh with UPDATE_GOLDEN=1 after reviewing the diff.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { assertGolden } from "../golden";
import {
  type Capabilities,
  compileRules,
  type EndpointRef,
  MINIMAL_CAPABILITIES,
  parseRules,
} from "@tollgate/appliance";

const ROOT = path.resolve(__dirname, "../../..");
const FIXTURES = path.join(ROOT, "tests/rules/fixtures");
const GOLDEN = path.join(ROOT, "tests/golden/rules");

const ONE: EndpointRef[] = [{ gwi: "gwi-a1", gwo: "gwo-a1" }];
const FOUR: EndpointRef[] = ["gwi-2a9TOJAocQ0", "gwi-2", "gwi-3", "gwi-4"].map((gwi) => ({
  gwi,
  gwo: `gwo-${gwi.slice(4)}`,
}));
const EC2: Capabilities = {
  ...MINIMAL_CAPABILITIES,
  flower: true,
  matchall: true,
  gact: true,
  source: "given",
};
const NO_TC: Capabilities = { ...MINIMAL_CAPABILITIES, mirred: false, source: "given" };

interface Case {
  name: string;
  file: string;
  endpoints: EndpointRef[];
  caps: Capabilities;
}

const CASES: Case[] = [
  {
    name: "filter",
    file: "tests/rules/fixtures/filter.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "log-limit",
    file: "tests/rules/fixtures/log-limit.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "direction-sets",
    file: "tests/rules/fixtures/direction-sets.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "modes",
    file: "tests/rules/fixtures/modes.yaml",
    endpoints: FOUR,
    caps: MINIMAL_CAPABILITIES,
  },
  { name: "modes-ec2-caps", file: "tests/rules/fixtures/modes.yaml", endpoints: FOUR, caps: EC2 },
  {
    name: "modes-no-mirred",
    file: "tests/rules/fixtures/modes.yaml",
    endpoints: FOUR,
    caps: NO_TC,
  },
  {
    name: "redirect",
    file: "tests/rules/fixtures/redirect.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "mirror-queue",
    file: "tests/rules/fixtures/mirror-queue.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "mirror-flower",
    file: "tests/rules/fixtures/mirror-queue.yaml",
    endpoints: ONE,
    caps: EC2,
  },
  {
    name: "lab-example",
    file: "examples/rules/lab.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "suricata-ips",
    file: "tests/suricata/fixtures/ips-domains.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "suricata-ids",
    file: "tests/suricata/fixtures/ids-monitor.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
  {
    name: "default-example",
    file: "examples/rules/default.yaml",
    endpoints: ONE,
    caps: MINIMAL_CAPABILITIES,
  },
];

/** Everything the compiler returns, as reviewable text. */
export function renderCompiled(file: string, endpoints: EndpointRef[], caps: Capabilities): string {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const parsed = parseRules(text, path.basename(file));
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  const c = compileRules(parsed.rules, endpoints, caps);
  const out: string[] = [];
  out.push("## notes", ...c.notes, "## errors", ...c.errors);
  out.push("## endpoints", ...c.endpoints.map((e) => JSON.stringify(e)));
  out.push("## iptables-restore --noflush", c.iptablesRestore.trimEnd());
  out.push("## ip6tables-restore --noflush", c.ip6tablesRestore.trimEnd());
  out.push("## ipset restore", c.ipsetRestore.trimEnd());
  out.push("## tc", ...c.tc.map((a) => a.join(" ")));
  out.push("## ip rules and routes", ...c.ipRules.map((a) => a.join(" ")));
  out.push("## sysctls", ...c.sysctls.map((s) => `${s.key}=${s.value}`));
  out.push("## jumps", ...c.jumps.map((j) => `${j.table} ${j.from} -> ${j.to}`));
  return `${out.join("\n")}\n`;
}

describe("rules compiler golden files", () => {
  it("has a fixture for every file in tests/rules/fixtures", () => {
    const used = new Set(CASES.map((c) => path.basename(c.file)));
    for (const f of fs.readdirSync(FIXTURES))
      assert.ok(used.has(f), `fixture ${f} has no golden case`);
  });

  for (const c of CASES) {
    it(`${c.name} matches tests/golden/rules/${c.name}.txt`, () => {
      const actual = renderCompiled(c.file, c.endpoints, c.caps);
      const golden = path.join(GOLDEN, `${c.name}.txt`);
      assertGolden(golden, actual);
    });
  }

  it("is deterministic (same input, same output)", () => {
    for (const c of CASES) {
      assert.equal(
        renderCompiled(c.file, c.endpoints, c.caps),
        renderCompiled(c.file, [...c.endpoints].reverse(), c.caps),
      );
    }
  });
});
