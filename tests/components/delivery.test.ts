import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { artifactKey, fakeArtifactSource, releaseArtifactSource } from "@tollgate/components";

describe("appliance delivery: packing and keys", function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-pack-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("content-addresses object keys", () => {
    const a = { path: "/x/.tollgate/tollgate-appliance-0.1.0.tgz", sha256: "ab".repeat(32) };
    const b = { ...a, sha256: "cd".repeat(32) };
    assert.strictEqual(
      artifactKey("appliance", a),
      `appliance/${"ab".repeat(8)}/tollgate-appliance-0.1.0.tgz`,
    );
    assert.notStrictEqual(artifactKey("appliance", a), artifactKey("appliance", b));
    assert.strictEqual(
      artifactKey("rules", { path: "rules/x.rules", sha256: "ef".repeat(32) }),
      `rules/${"ef".repeat(8)}/x.rules`,
    );
  });

  it("the fake source is deterministic and touches no files", async () => {
    const f = fakeArtifactSource();
    assert.deepStrictEqual(
      await f.release("appliance", "x86_64"),
      await f.release("appliance", "x86_64"),
    );
    assert.notStrictEqual(
      (await f.release("appliance", "x86_64")).sha256,
      (await f.release("appliance", "arm64")).sha256,
    );
    assert.match(f.rulesFile("r.rules").sha256, /^[0-9a-f]{64}$/);
  });

  it("hashes rules files: a changed file gets a new hash", () => {
    const src = releaseArtifactSource(tmp);
    fs.writeFileSync(path.join(tmp, "r.rules"), "allow all\n");
    const r = src.rulesFile("r.rules");
    assert.strictEqual(r.sha256, createHash("sha256").update("allow all\n").digest("hex"));
    fs.writeFileSync(path.join(tmp, "r.rules"), "deny all\n");
    assert.notStrictEqual(src.rulesFile("r.rules").sha256, r.sha256);
  });

  it("explains a missing package or rules file with the config key", async () => {
    const src = releaseArtifactSource(tmp);
    await assert.rejects(
      () => src.release("nope", "x86_64"),
      /^Error: tollgate:appliance.packageDir: .*nope has no package.json\. Fix: point it at the appliance package/,
    );
    assert.throws(
      () => src.rulesFile("missing.rules"),
      /^Error: tollgate:appliance.rulesFile: .*missing.rules does not exist\. Fix: create it, or remove the key to deliver the default rules/,
    );
  });
});
