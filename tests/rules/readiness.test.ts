/**
 * Health of the rule engine against the in-memory FakeKernel: the readiness check (compile,
 * write tools with --test, read-back), the canary's rules, and the listener's health stages
 * (rules-engine, rules per endpoint) including retry after a failed apply and repair of drift.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  checkRulesReadiness,
  compileRules,
  createRulesListener,
  endpointInfo,
  type EndpointRef,
  MINIMAL_CAPABILITIES,
  RulesEngine,
} from "@tollgate/appliance";
import { rules } from "./load";
import { waitFor } from "../wait";
import { FakeKernel } from "./fake-kernel";

const DROP_ALL = "version: 1\ndefaults: { policy: drop }\n";
const EP: EndpointRef[] = [{ gwi: "gwi-1", gwo: "gwo-1" }];
const CANARY =
  "-s 198.18.0.1/32 -d 198.19.0.1/32 -i gwi-1 -p udp -m udp --sport 29799 --dport 29799 -j ACCEPT";

describe("health canary rules", () => {
  it("accept the canary before the endpoint's user rules, IPv4 only", () => {
    const c = compileRules(rules(DROP_ALL), EP, MINIMAL_CAPABILITIES);
    const fwd = c.iptablesRestore.split("\n").filter((l) => l.startsWith("-A TOLLGATE-FORWARD"));
    assert.deepEqual(fwd, [
      `-A TOLLGATE-FORWARD ${CANARY}`,
      "-A TOLLGATE-FORWARD -i gwi-1 -j TOLLGATE-gwi-1",
    ]);
    assert.doesNotMatch(c.ip6tablesRestore, /198\.18/);
    assert.ok(
      !c.ipRuleSpecs.some((r) => r.src),
      "inspect: the canary follows real traffic's route",
    );
  });

  it("egress-nat: route the canary's source back to gwo-X instead of the uplink", () => {
    const c = compileRules(
      rules("version: 1\ndefaults: { mode: egress-nat }\n"),
      EP,
      MINIMAL_CAPABILITIES,
    );
    const canary = c.ipRuleSpecs.find((r) => r.src === "198.18.0.1/32")!;
    const own = c.ipRouteSpecs.find((r) => r.dev === "gwo-1")!;
    assert.equal(canary.iif, "gwi-1");
    assert.equal(canary.table, String(own.table));
    const uplink = c.ipRuleSpecs.find((r) => r.iif === "gwi-1" && r.table === "main")!;
    assert.ok(canary.pref < uplink.pref, "canary rule is looked up before the uplink rule");
  });
});

describe("rule engine readiness check (fake kernel)", () => {
  let k: FakeKernel;
  let engine: RulesEngine;
  let dir: string;
  beforeEach(() => {
    k = new FakeKernel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgh-ready-"));
    engine = new RulesEngine({
      runner: k,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "s.json"),
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes before any endpoint without changing anything (restore --test only)", async () => {
    const before = k.save("4");
    const r = await checkRulesReadiness(engine, rules(DROP_ALL), []);
    assert.equal(r.ok, true);
    assert.equal(k.save("4"), before);
    assert.ok(
      k.log.some((l) => l === "iptables-restore --test --noflush"),
      k.log.join("\n"),
    );
  });

  it("fails naming the step: write tools, read tools, compile, drift", async () => {
    k.failOn = (argv) => argv[0] === "iptables-restore";
    let r = await checkRulesReadiness(engine, rules(DROP_ALL), []);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.step, "write tools");
    assert.match(
      !r.ok ? r.detail : "",
      /iptables-restore --test --noflush: exit 2: injected failure/,
    );

    k.failOn = (argv) => argv[0] === "iptables-save";
    r = await checkRulesReadiness(engine, rules(DROP_ALL), []);
    assert.equal(!r.ok && r.step, "read tools");

    const noIpset = new RulesEngine({
      runner: k,
      capabilities: { ...MINIMAL_CAPABILITIES, ipset: false },
      stateFile: path.join(dir, "s.json"),
    });
    const withSet = "version: 1\nsets:\n  s: { type: port, entries: [22] }\n";
    r = await checkRulesReadiness(
      noIpset,
      rules(`${withSet}rules:\n  - { action: drop, proto: tcp, ports: "@s" }\n`),
      [],
    );
    assert.equal(!r.ok && r.step, "compile");

    k.links.push("gwi-1", "gwo-1");
    await engine.apply(rules(DROP_ALL), EP);
    assert.equal((await checkRulesReadiness(engine, rules(DROP_ALL), EP)).ok, true);
    k.routes = [];
    r = await checkRulesReadiness(engine, rules(DROP_ALL), EP);
    assert.equal(!r.ok && r.step, "drift");
    assert.match(!r.ok ? r.detail : "", /route/);
  });
});

describe("rules listener health stages (fake kernel)", () => {
  let k: FakeKernel;
  let dir: string;
  let file: string;
  beforeEach(() => {
    k = new FakeKernel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgh-listener-"));
    file = path.join(dir, "rules.yaml");
    fs.writeFileSync(file, DROP_ALL);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const listener = () =>
    createRulesListener({
      file,
      runner: k,
      capabilities: { ...MINIMAL_CAPABILITIES, ipset: true },
      stateFile: path.join(dir, "s.json"),
      watch: false,
      sighup: false,
      logger: { info: () => undefined, error: () => undefined },
    });

  it("is pending until the first check, then reports the engine and each endpoint", async () => {
    const l = listener();
    assert.deepEqual(
      l.health().map((h) => [h.name, h.ok, h.pending]),
      [["rules-engine", false, true]],
    );
    await l.idle();
    const ep = endpointInfo(0x0123456789abcdef0n);
    k.links.push(ep.gwi, ep.gwo);
    await l.created(ep);
    assert.deepEqual(
      l.health().map((h) => [h.name, h.ok, h.endpoint]),
      [
        ["rules-engine", true, undefined],
        ["rules", true, ep.idHex17],
      ],
    );
    await l.destroyed(ep);
    assert.deepEqual(
      l.health().map((h) => h.name),
      ["rules-engine"],
    );
    await l.close?.();
  });

  it("fails an endpoint whose rules could not be applied, retries on the next check", async () => {
    const l = listener();
    await l.idle();
    const ep = endpointInfo(0x0123456789abcdef1n);
    k.links.push(ep.gwi, ep.gwo);
    k.failOn = (argv) => argv[0] === "iptables-restore" && !argv.includes("--test");
    await l.created(ep);
    const failed = l.health().find((h) => h.name === "rules")!;
    assert.equal(failed.ok, false);
    assert.equal(failed.endpoint, ep.idHex17);
    assert.match(failed.detail!, /rules not applied: .*injected failure/);
    const r = await l.check();
    assert.equal(r?.ok, true);
    assert.equal(l.health().find((h) => h.name === "rules")!.ok, true);
    // Tools that break later fail the rule engine stage on the next check.
    k.failOn = (argv) => argv[0] === "iptables-restore";
    await l.check();
    const engineHealth = l.health().find((h) => h.name === "rules-engine")!;
    assert.equal(engineHealth.ok, false);
    assert.match(engineHealth.detail!, /^write tools: iptables-restore --test/);
    await l.close?.();
  });

  it("a restart's adoption keeps every adopted endpoint's rules in place through each apply", async () => {
    // The previous daemon left both endpoints' rules in the kernel.
    const before = listener();
    await before.idle();
    const eps = [endpointInfo(0x0123456789abcdef3n), endpointInfo(0x0123456789abcdef4n)];
    for (const ep of eps) {
      k.links.push(ep.gwi, ep.gwo);
      await before.created(ep);
    }
    await before.close?.();
    // The new daemon adopts both at once (as Datapath.start does); after every command it runs,
    // the second endpoint's forwarding chain jump must still be there.
    const forwards = (): string =>
      JSON.stringify(k.ipt["4"]!.get("filter")?.get("TOLLGATE-FORWARD") ?? []);
    assert.match(forwards(), new RegExp(`-i ${eps[1]!.gwi} `));
    const gaps: string[] = [];
    const l = createRulesListener({
      file,
      runner: {
        run: async (argv, o) => {
          const r = await k.run(argv, o);
          if (!forwards().includes(`-i ${eps[1]!.gwi} `)) gaps.push(argv.join(" "));
          return r;
        },
      },
      capabilities: { ...MINIMAL_CAPABILITIES, ipset: true },
      stateFile: path.join(dir, "s.json"),
      watch: false,
      sighup: false,
      logger: { info: () => undefined, error: () => undefined },
    });
    await Promise.all(eps.map((ep) => l.adopted!(ep)));
    assert.deepEqual(gaps, [], "commands after which the second endpoint had no rules");
    assert.deepEqual(
      l.health().map((h) => [h.name, h.ok]),
      [
        ["rules-engine", true],
        ["rules", true],
        ["rules", true],
      ],
    );
    await l.close?.();
  });

  it("re-applies when the applied state drifted", async () => {
    const l = listener();
    await l.idle();
    const ep = endpointInfo(0x0123456789abcdef2n);
    k.links.push(ep.gwi, ep.gwo);
    await l.created(ep);
    const routes = k.routes.length;
    k.routes = [];
    assert.equal((await l.check())?.ok, true);
    assert.equal(k.routes.length, routes);
    await l.close?.();
  });

  it("fails the rule engine stage when a tool hangs (a check that does not finish)", async () => {
    let hang = false;
    const l = createRulesListener({
      file,
      runner: {
        run: (argv, o) =>
          argv.includes("--test") && hang ? new Promise(() => undefined) : k.run(argv, o),
      },
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(dir, "s.json"),
      watch: false,
      sighup: false,
      checkIntervalMs: 20,
      logger: { info: () => undefined, error: () => undefined },
    });
    await l.idle();
    assert.equal(l.health()[0]!.ok, true);
    hang = true;
    await waitFor(
      "hung check reported",
      () => (l.health()[0]!.ok ? undefined : l.health()[0]!.detail),
      2000,
    ).then((detail) =>
      assert.match(detail, /^check still running after \d+ s \(a tool does not return\)$/),
    );
  });

  it("reports an unusable rules file", async () => {
    fs.writeFileSync(file, "version: 1\nrules: [ { action: nope } ]\n");
    const l = listener();
    await l.idle();
    const h = l.health()[0]!;
    assert.equal(h.name, "rules-engine");
    assert.equal(h.ok, false);
    assert.match(h.detail!, /rules\.yaml is invalid/);
    await l.close?.();
  });
});
