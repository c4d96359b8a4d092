import { strict as assert } from "node:assert";
import { type PreflightFacts, preflightProblems } from "@tollgate/lab";

const ok: PreflightFacts = {
  uid: 0,
  commands: { ip: true, sysctl: true, ping: true },
  tunDevice: true,
  nativeAddon: { path: "/x/tollgate_native.node", exists: true },
  applianceBin: { path: "/x/tollgate.js", exists: true },
  needAppliance: true,
};

describe("lab preflight", () => {
  it("passes on a ready machine", () => {
    assert.deepEqual(preflightProblems(ok), { problems: [], warnings: [] });
  });

  it("says exactly what is missing and how to fix it", () => {
    const r = preflightProblems({
      ...ok,
      uid: 1000,
      commands: { ip: false, sysctl: true, ping: false },
      tunDevice: false,
      nativeAddon: { path: "/x/tollgate_native.node", exists: false },
      applianceBin: { path: "/x/tollgate.js", exists: false },
    });
    assert.equal(r.problems.length, 5);
    assert.match(r.problems[0]!, /run it as root \(sudo npm run lab\)/);
    assert.match(r.problems[1]!, /missing command\(s\) ip: sudo apt-get install -y iproute2/);
    assert.match(r.problems[2]!, /modprobe tun/);
    assert.match(r.problems[3]!, /\/x\/tollgate_native.node.*npm run build/);
    assert.match(r.problems[4]!, /\/x\/tollgate.js.*--appliance reflector/);
    assert.deepEqual(r.warnings, [
      "ping not found: its demo step is skipped (sudo apt-get install -y iputils-ping)",
    ]);
  });

  it("does not need the tollgate command with the reflector", () => {
    const r = preflightProblems({
      ...ok,
      needAppliance: false,
      applianceBin: { path: "/x", exists: false },
    });
    assert.deepEqual(r.problems, []);
  });
});
