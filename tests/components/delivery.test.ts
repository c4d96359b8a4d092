import * as assert from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  artifactKey,
  fakeArtifactSource,
  npmArtifactSource,
  tarballName,
  tarballPath,
} from "../../components/delivery/pack";

describe("appliance delivery: packing and keys", function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-pack-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("names tarballs like npm pack", () => {
    assert.strictEqual(
      tarballName({ name: "@tollgate/appliance", version: "0.1.0" }),
      "tollgate-appliance-0.1.0.tgz",
    );
    assert.strictEqual(
      tarballName({ name: "plain", version: "2.0.0-rc.1" }),
      "plain-2.0.0-rc.1.tgz",
    );
    assert.strictEqual(
      tarballPath({ name: "@a/b", version: "1.0.0" }, "/x/.tollgate"),
      "/x/.tollgate/a-b-1.0.0.tgz",
    );
  });

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

  it("the fake source is deterministic and touches no files", () => {
    const f = fakeArtifactSource();
    assert.deepStrictEqual(f.packAppliance("appliance"), f.packAppliance("appliance"));
    assert.strictEqual(
      f.packAppliance("appliance").path,
      path.join(".tollgate", "tollgate-appliance-0.1.0.tgz"),
    );
    assert.match(f.rulesFile("r.rules").sha256, /^[0-9a-f]{64}$/);
  });

  it("packs a real package with npm pack and hashes it", () => {
    const pkg = path.join(tmp, "pkg");
    fs.mkdirSync(pkg);
    fs.writeFileSync(
      path.join(pkg, "package.json"),
      JSON.stringify({ name: "@demo/thing", version: "1.2.3", files: ["index.js"] }),
    );
    fs.writeFileSync(path.join(pkg, "index.js"), "module.exports = 1;\n");
    const src = npmArtifactSource(tmp);
    const a = src.packAppliance("pkg");
    assert.strictEqual(a.path, path.join(tmp, ".tollgate", "demo-thing-1.2.3.tgz"));
    assert.ok(fs.statSync(a.path).size > 0);
    assert.match(a.sha256, /^[0-9a-f]{64}$/);
    fs.writeFileSync(path.join(tmp, "r.rules"), "allow all\n");
    const r = src.rulesFile("r.rules");
    assert.strictEqual(r.sha256, createHash("sha256").update("allow all\n").digest("hex"));
    fs.writeFileSync(path.join(tmp, "r.rules"), "deny all\n");
    assert.notStrictEqual(
      src.rulesFile("r.rules").sha256,
      r.sha256,
      "a changed rules file gets a new hash",
    );
  });

  it("explains a missing package or rules file with the config key", () => {
    const src = npmArtifactSource(tmp);
    assert.throws(
      () => src.packAppliance("nope"),
      /^Error: tollgate:appliance.packageDir: .*nope has no package.json\. Fix: point it at the appliance package/,
    );
    assert.throws(
      () => src.rulesFile("missing.rules"),
      /^Error: tollgate:appliance.rulesFile: .*missing.rules does not exist\. Fix: create it or remove the key/,
    );
  });
});
