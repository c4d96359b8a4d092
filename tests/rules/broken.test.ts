/**
 * A corpus of broken rules files (tests/rules/broken/*.yaml), each run through `tollgate rules
 * check` as a user runs it. Every offending line carries a marker comment `# expect: <path>`
 * (several separated by ", "; `(syntax)` for a YAML error, `(file)` for the file as a whole); the check must report exactly those
 * problems, in one run, each as `file:line:col: path: what. Fix: how.`, and exit 1.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { tollgate } from "./cli-run";

const DIR = path.resolve(__dirname, "../../../tests/rules/broken");

/** `line path` of every marker in the file ("" for syntax errors and the file itself). */
function expected(text: string): string[] {
  return text.split("\n").flatMap((line, i) => {
    const m = /# expect: (.*)$/.exec(line);
    if (!m) return [];
    return m[1]!.split(", ").map((p) => `${i + 1} ${p === "(syntax)" || p === "(file)" ? "" : p}`);
  });
}

const PROBLEM = /^(.+?):(\d+):(\d+): (?:([\w.[\]<-]+): )?(.+)\. Fix: (.+)$/;

/** `line path` of every problem the check printed; throws on a line that is not a problem. */
function reported(file: string, stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((l) => !l.endsWith("problem(s)"))
    .map((l) => {
      const m = PROBLEM.exec(l);
      assert.ok(m, `not file:line:col: path: what. Fix: how.\n${l}`);
      assert.equal(m[1], file);
      assert.doesNotMatch(m[5]!, /^Invalid|expected .*, received/, `raw validator wording: ${l}`);
      return `${m[2]!} ${m[4] ?? ""}`;
    });
}

describe("rules check on the broken-file corpus", () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yaml"));

  it("has a corpus covering each class of mistake", () => {
    assert.ok(files.length >= 15, files.join(", "));
  });

  for (const name of files) {
    it(`${name}: every problem at once, at its line, with a fix`, async () => {
      const file = path.join(DIR, name);
      const want = expected(fs.readFileSync(file, "utf8"));
      assert.ok(want.length > 0, "the corpus file has no # expect: marker");
      const r = await tollgate("rules", "check", file);
      assert.equal(r.code, 1, r.out + r.err);
      assert.deepEqual(reported(file, r.err).sort(), want.sort(), r.err);
      assert.match(r.err, new RegExp(`: ${want.length} problem\\(s\\)\\n$`));
    });
  }
});
