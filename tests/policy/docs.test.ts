import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { tollgatePolicies } from "@tollgate/policy";

describe("docs/policy.md", () => {
  const doc = readFileSync(resolve(__dirname, "../../../docs/policy.md"), "utf8");

  it("documents every policy with its severity and every config key", () => {
    for (const p of tollgatePolicies) {
      assert.match(
        doc,
        new RegExp(`\\*\\*\`${p.name}\`\\*\\* — ${p.severity}\\.`),
        `${p.name} is not documented with its severity`,
      );
      for (const key of Object.keys(p.configSchema?.properties ?? {})) {
        const section = doc.slice(doc.indexOf(`**\`${p.name}\`**`)).split("\n**`")[0] ?? "";
        assert.ok(section.includes(`\`${key}\``), `${p.name}: config key ${key} is not documented`);
      }
    }
  });

  it("documents both pull-request jobs", () => {
    assert.match(doc, /pulumi preview --policy-pack policy/);
    assert.match(doc, /npx tollgate-policy check plan\.json/);
    const wf = readFileSync(resolve(__dirname, "../../../.github/workflows/preview.yml"), "utf8");
    assert.match(wf, /uses: pulumi\/actions@v6/);
    assert.match(wf, /policyPacks: policy/);
    assert.match(wf, /comment-on-pr: true/);
    assert.match(wf, /npm run plan -- --json --out plan\.json/);
    assert.match(wf, /npx tollgate-policy check plan\.json/);
  });
});
