/** Engine and listener logic against the in-memory FakeKernel (no root needed). */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ApplyError,
  createRulesListener,
  endpointInfo,
  type EndpointRef,
  MINIMAL_CAPABILITIES,
  RulesEngine,
} from "@tollgate/appliance";
import { rules } from "./load";
import { FakeKernel } from "./fake-kernel";

const EP: EndpointRef[] = [{ gwi: "gwi-1", gwo: "gwo-1" }];

const A = `
version: 1
defaults: { policy: drop }
sets:
  bad: { type: net, entries: [203.0.113.0/24, "2001:db8::/32"] }
rules:
  - { action: drop, src: "@bad" }
  - { action: allow, proto: tcp, ports: [80, 443] }
  - { action: mirror, proto: tcp, ports: 80, to: mon0 }
`;
const B = `
version: 1
defaults: { policy: allow }
rules:
  - { action: drop, proto: tcp, ports: 23 }
`;

describe("rules engine with a fake kernel", () => {
  let k: FakeKernel;
  let dir: string;
  let engine: RulesEngine;

  beforeEach(() => {
    k = new FakeKernel();
    k.links.push("gwi-1", "gwo-1", "mon0");
    // Someone else's rules.
    k.ipt["4"]!.get("filter")!.get("INPUT")!.push("-p tcp -m tcp --dport 22 -j ACCEPT");
    k.ipt["4"]!.get("nat")!.set("DOCKER", ["-j RETURN"]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-unit-"));
    engine = new RulesEngine({
      runner: k,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "s.json"),
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("applies everything, then plans no changes", async () => {
    const r = await engine.apply(rules(A), EP);
    assert.ok(r.changes > 0);
    assert.match(k.save("4"), /-A FORWARD -j TOLLGATE-FORWARD/);
    assert.ok(k.sets.has("tg-s-bad") && k.sets.has("tg-s6-bad"));
    assert.deepEqual(k.sets.get("tg-s-bad")!.entries, ["203.0.113.0/24"]);
    assert.equal(k.filters.length, 2, "mirror filter for IPv4 and IPv6");
    assert.equal(k.sysctls.get("net.ipv4.ip_forward"), "1");
    const plan = await engine.plan(rules(A), EP);
    assert.equal(plan.changes, 0, plan.text);
  });

  it("plans the differences between two rulesets", async () => {
    await engine.apply(rules(A), EP);
    const plan = await engine.plan(rules(B), EP);
    assert.match(plan.text, /- tg-s-bad/);
    assert.match(plan.text, /- gwi-1: filter pref 49000/);
    assert.match(plan.text, /\+ -A TOLLGATE-gwi-1 -p tcp -m tcp --dport 23 -j DROP/);
    assert.match(plan.text, /note: capabilities/);
    assert.ok(plan.changes > 0);
  });

  it("switching rulesets removes stale sets and tc filters, keeps jumps once and others' rules", async () => {
    await engine.apply(rules(A), EP);
    await engine.apply(rules(B), EP);
    await engine.apply(rules(B), EP);
    assert.equal(k.sets.size, 0);
    assert.equal(k.filters.length, 0);
    const save = k.save("4");
    assert.equal(save.split("\n").filter((l) => l === "-A FORWARD -j TOLLGATE-FORWARD").length, 1);
    assert.match(save, /-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT/);
    assert.match(save, /-A DOCKER -j RETURN/);
  });

  for (const step of ["ipset", "ip6tables-restore", "tc", "ip", "sysctl"]) {
    it(`rolls back everything when the ${step} step fails`, async () => {
      await engine.apply(rules(B), EP);
      const before = {
        v4: k.own("4"),
        v6: k.own("6"),
        sets: [...k.sets.keys()],
        f: k.filters.length,
        rules: k.rules.length,
      };
      k.failOn = (argv) =>
        step === "ip"
          ? argv[0] === "ip" && argv.includes("rule") && argv.includes("add")
          : step === "tc"
            ? argv[0] === "tc" && argv[1] === "filter" && argv[2] === "add"
            : step === "sysctl"
              ? argv[0] === "sysctl" && argv.includes("-w")
              : argv[0] === step && argv[1] !== "list" && argv[1] !== "save";
      k.sysctls.set("net.ipv4.fwmark_reflect", "0");
      k.rules = k.rules.filter((r) => r.pref !== 10002);
      const snapshotRules = k.rules.length;
      await assert.rejects(
        engine.apply(rules(A), EP),
        (e: unknown) => e instanceof ApplyError && e.rolledBack,
      );
      assert.equal(k.own("4"), before.v4);
      assert.equal(k.own("6"), before.v6);
      assert.deepEqual([...k.sets.keys()], before.sets);
      assert.equal(k.filters.length, before.f);
      assert.equal(k.rules.length, snapshotRules);
      assert.equal(k.sysctls.get("net.ipv4.fwmark_reflect"), "0");
    });
  }

  it("restores tc filters recorded by the previous apply on rollback", async () => {
    await engine.apply(rules(A), EP);
    const cookies = k.filters.map((f) => f.cookie);
    k.failOn = (argv) => argv[0] === "sysctl" && argv.includes("-w");
    k.sysctls.set("net.ipv4.ip_forward", "0");
    await assert.rejects(engine.apply(rules(B), EP), ApplyError);
    assert.deepEqual(
      k.filters.map((f) => f.cookie),
      cookies,
    );
  });

  it("refuses rules that cannot compile, touching nothing", async () => {
    const noIpset = new RulesEngine({
      runner: k,
      capabilities: { ...MINIMAL_CAPABILITIES, ipset: false },
      stateFile: path.join(dir, "s.json"),
    });
    const bad = rules(
      "version: 1\nsets:\n  bad: { type: net, entries: [192.0.2.0/24] }\nrules:\n  - { action: drop, src: '@bad' }\n",
    );
    k.log = [];
    await assert.rejects(noIpset.apply(bad, EP), /named sets need ipset/);
    assert.deepEqual(k.log, []);
  });

  it("verification catches a kernel that silently drops rules", async () => {
    const original = k.run.bind(k);
    k.run = async (argv, o) => {
      if (argv[0] === "iptables-restore" && o?.input?.includes("--dport 23")) {
        return original(argv, {
          input: o.input.replace(/^-A TOLLGATE-gwi-1 -p tcp -m tcp --dport 23 -j DROP\n/m, ""),
        });
      }
      return original(argv, o);
    };
    await assert.rejects(
      engine.apply(rules(B), EP),
      /verification failed: ipv4 filter TOLLGATE-gwi-1/,
    );
    assert.equal(k.own("4"), "");
  });

  it("remove() deletes every own object and nothing else", async () => {
    await engine.apply(rules(A), EP);
    await engine.remove();
    assert.equal(k.own("4"), "");
    assert.equal(k.own("6"), "");
    assert.equal(k.sets.size, 0);
    assert.equal(k.filters.length, 0);
    assert.equal(k.rules.length, 0);
    assert.equal(k.routes.length, 0);
    assert.match(k.save("4"), /-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT/);
  });

  it("turning IPv6 off removes the earlier IPv6 rules and routes", async () => {
    await engine.apply(rules(B), EP);
    assert.match(k.own("6"), /--dport 23 -j DROP/);
    await engine.apply(
      rules(B.replace("defaults: { policy: allow }", "defaults: { policy: allow, ipv6: false }")),
      EP,
    );
    assert.doesNotMatch(k.own("6"), /TOLLGATE-gwi-1/);
    assert.equal(k.rules.filter((r) => r.fam === "6").length, 0);
    assert.equal(k.routes.filter((r) => r.fam === "6").length, 0);
    assert.match(k.own("4"), /--dport 23 -j DROP/);
  });

  it("discovers endpoints from gwi-/gwo- interface pairs", async () => {
    k.links.push("gwi-2");
    assert.deepEqual(await engine.discoverEndpoints(), [{ gwi: "gwi-1", gwo: "gwo-1" }]);
  });

  it("show prints the own state", async () => {
    await engine.apply(rules(A), EP);
    const text = await engine.show();
    assert.match(text, /:TOLLGATE-gwi-1/);
    assert.match(text, /create tg-s-bad/);
    assert.match(text, /gwi-1 pref 49000/);
  });
});

describe("rules listener with a fake kernel", () => {
  let k: FakeKernel;
  let dir: string;
  let file: string;
  const quiet = { info: () => undefined, error: () => undefined };

  beforeEach(() => {
    k = new FakeKernel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-listener-"));
    file = path.join(dir, "rules.yaml");
    fs.writeFileSync(file, B);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("applies on create, removes on destroy, refuses an invalid reload and keeps the rules", async () => {
    const ep = endpointInfo(0x0123456789abcdef0n);
    k.links.push(ep.gwi, ep.gwo);
    const errors: string[] = [];
    const l = createRulesListener({
      file,
      runner: k,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "s.json"),
      watch: false,
      sighup: false,
      logger: {
        info: () => undefined,
        error: (o: object, m: string) => errors.push(`${m} ${JSON.stringify(o)}`),
      },
    });
    await l.created(ep);
    assert.match(k.save("4"), new RegExp(`-A TOLLGATE-${ep.gwi} -p tcp -m tcp --dport 23 -j DROP`));
    const applied = k.own("4");
    fs.writeFileSync(
      file,
      "version: 1\nrules:\n  - action: drop\n    proto: tcp\n    ports: 70000\n",
    );
    assert.equal(await l.reload(), false);
    assert.equal(k.own("4"), applied);
    assert.match(
      errors.join("\n"),
      /rules\.yaml:5:12: rules\[0\]\.ports: \\"70000\\" is not a port/,
    );
    fs.writeFileSync(file, B.replace("23", "2323"));
    assert.equal(await l.reload(), true);
    assert.match(k.save("4"), /--dport 2323 -j DROP/);
    await l.destroyed(ep);
    assert.doesNotMatch(k.save("4"), new RegExp(`TOLLGATE-${ep.gwi}`));
    await l.close?.();
  });

  it("reloads when the file changes (fs.watch + debounce) and on SIGHUP", async function () {
    this.timeout(5000);
    k.links.push("gwi-1", "gwo-1");
    const l = createRulesListener({
      file,
      runner: k,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "s.json"),
      debounceMs: 50,
      logger: quiet,
    });
    try {
      await l.created(endpointInfo(1n));
      fs.writeFileSync(file, B.replace("23", "2424"));
      for (let i = 0; i < 40 && !k.save("4").includes("2424"); i++) {
        await new Promise((r) => setTimeout(r, 50));
        await l.idle();
      }
      assert.match(k.save("4"), /--dport 2424 -j DROP/);
      fs.writeFileSync(file, B.replace("23", "2525"));
      process.kill(process.pid, "SIGHUP");
      for (let i = 0; i < 40 && !k.save("4").includes("2525"); i++) {
        await new Promise((r) => setTimeout(r, 50));
        await l.idle();
      }
      assert.match(k.save("4"), /--dport 2525 -j DROP/);
    } finally {
      await l.close?.();
    }
  });

  it("fails closed when the file is invalid at start (no forwarding for the endpoint)", async () => {
    fs.writeFileSync(file, "version: 2\n");
    k.links.push("gwi-1", "gwo-1");
    const errors: string[] = [];
    const l = createRulesListener({
      file,
      runner: k,
      capabilities: MINIMAL_CAPABILITIES,
      watch: false,
      sighup: false,
      logger: { info: () => undefined, error: (_o: object, m: string) => errors.push(m) },
    });
    await l.created(endpointInfo(1n));
    assert.equal(k.rules.length, 0);
    assert.ok(errors.some((e) => /invalid/.test(e)));
    await l.close?.();
  });
});
