/** validateRulesFile: the one validation pass the CLI and the stack (plan/preview) call. */
import assert from "node:assert/strict";
import { formatProblem, SAMPLE_ENDPOINT_KEY, validateRulesFile } from "@tollgate/appliance";

describe("validateRulesFile (the API the stack calls at plan/preview)", () => {
  it("returns every problem with file, line, col, path, message and fix", () => {
    const text = [
      "version: 1",
      "defaults: { mode: inspec }",
      "rules:",
      "  - { action: teleport }",
      '  - { action: mirror, to: ens6, dst: "@blocked" }',
    ].join("\n");
    const v = validateRulesFile(text, { file: "r.yaml" });
    assert.deepEqual(
      v.problems.map((p) => [p.line, p.col, p.path]),
      [
        [2, 19, "defaults.mode"],
        [4, 15, "rules[0].action"],
        [5, 38, "rules[1].dst"],
        [5, 38, "rules[1].dst"],
      ],
    );
    assert.ok(v.problems.every((p) => p.file === "r.yaml" && p.message !== "" && p.fix !== ""));
    assert.match(
      formatProblem(v.problems[0]!),
      /^r\.yaml:2:19: defaults\.mode: .* Fix: did you mean inspect\?/,
    );
    assert.equal(v.rules, undefined);
  });

  it("compiles a valid file for each endpoint section and a sample endpoint", () => {
    const text = [
      "version: 1",
      "endpoints:",
      "  vpce-0123456789abcdef0: { mode: passthrough }",
      "  vpce-0123456789abcdef1: { mode: egress-nat }",
    ].join("\n");
    const v = validateRulesFile(text, { file: "r.yaml" });
    assert.deepEqual(v.problems, []);
    assert.equal(v.compiledFor.length, 3);
    assert.ok(v.checked.some((c) => c.includes(SAMPLE_ENDPOINT_KEY)));
    assert.ok(v.checked.some((c) => c.includes("modes: egress-nat, inspect, passthrough")));
    assert.ok(v.notes.some((n) => /egress-nat without egressInterface/.test(n)));
  });
});
