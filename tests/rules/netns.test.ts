/**
 * Root-only: the rule engine against a real kernel, in namespaces this test creates (see
 * netns/topology.ts). For every rule type, packets are dropped, allowed, NATed, redirected,
 * mirrored or queued exactly as the file says, checked by what arrives where.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ApplyError,
  type Capabilities,
  type CommandRunner,
  detectCapabilities,
  type EndpointRef,
  ExecRunner,
  foreignRules,
  type LoadedRules,
  MINIMAL_CAPABILITIES,
  parseIptablesSave,
  parseRules,
  RulesEngine,
} from "@tollgate/appliance";
import { CLIENT4, CLIENT6, Lab, SERVER4, SERVER6, skipReason, UPLINK4 } from "./netns/topology";

const EP: EndpointRef[] = [{ gwi: "gwi-1", gwo: "gwo-1" }];

function rules(yaml: string): LoadedRules {
  const r = parseRules(yaml, "test.yaml");
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.rules;
}

/** Fails the first command for which `when` is true (to inject apply failures). */
class FailingRunner implements CommandRunner {
  failed = false;
  constructor(
    private readonly inner: CommandRunner,
    private readonly when: (argv: readonly string[]) => boolean,
  ) {}
  run(argv: readonly string[], options?: { input?: string }) {
    if (!this.failed && this.when(argv)) {
      this.failed = true;
      return Promise.resolve({ code: 2, stdout: "", stderr: "injected failure" });
    }
    return this.inner.run(argv, options);
  }
}

const BASE = `
version: 1
defaults:
  mode: inspect
  policy: drop
rules:
  - action: drop
    proto: tcp
    ports: 23
  - action: reject
    proto: tcp
    ports: 8081
  - action: allow
    proto: tcp
    ports: [80, 8080]
  - action: allow
    proto: udp
    ports: 7
  - action: allow
    proto: icmp
    icmpType: echo-request
  - action: allow
    proto: icmpv6
    icmpType: echo-request
`;

describe("rules engine in network namespaces (root)", function () {
  this.timeout(60000);
  const lab = new Lab();
  let caps: Capabilities;
  let engine: RulesEngine;
  let stateDir: string;
  let foreignBefore: { v4: string[]; v6: string[] };

  const saveOwn = () => ({
    v4: parseIptablesSave(lab.sh(lab.a, "iptables-save")),
    v6: parseIptablesSave(lab.sh(lab.a, "ip6tables-save")),
  });
  const foreign = () => ({
    v4: foreignRules(lab.sh(lab.a, "iptables-save")),
    v6: foreignRules(lab.sh(lab.a, "ip6tables-save")),
  });
  const apply = (yaml: string) => engine.apply(rules(yaml), EP);

  before(async function () {
    const reason = skipReason(["ipset", "ping"]);
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    lab.setup();
    caps = await detectCapabilities(new ExecRunner());
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-state-"));
    engine = new RulesEngine({
      runner: lab.runner,
      capabilities: caps,
      stateFile: path.join(stateDir, "state.json"),
    });
    // Someone else's rules on the appliance: they must survive every apply.
    lab.sh(lab.a, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT");
    lab.sh(lab.a, "iptables", "-A", "FORWARD", "-i", "docker0", "-j", "ACCEPT");
    lab.sh(
      lab.a,
      "iptables",
      "-t",
      "nat",
      "-A",
      "POSTROUTING",
      "-s",
      "172.17.0.0/16",
      "-j",
      "MASQUERADE",
    );
    lab.sh(lab.a, "ip6tables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT");
    foreignBefore = foreign();
    await lab.serve(lab.s, "serve-tcp", "80", "server");
    await lab.serve(lab.s, "serve-tcp", "23", "telnet");
    await lab.serve(lab.s, "serve-tcp", "8081", "alt");
    await lab.serve(lab.s, "serve-tcp", "8080", "q");
    await lab.serve(lab.s, "serve-udp", "7");
    await lab.serve(lab.s, "serve-udp", "9");
  });

  after(() => {
    lab.destroy();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "passed" || !lab) return;
    assert.deepEqual(foreign(), foreignBefore, "non-Tollgate rules changed");
  });

  it("detects this kernel's capabilities in a scratch namespace", () => {
    assert.equal(caps.source, "detected");
    assert.equal(caps.u32, true);
    assert.equal(caps.mirred, true);
    console.log(`      capabilities: ${JSON.stringify(caps)}`);
  });

  it("without rules nothing crosses the appliance (fail closed)", async () => {
    const r = await lab.tcp(SERVER4, 80, 800);
    assert.equal(r.ok, false);
  });

  it("allow / drop / reject by protocol and port, IPv4 and IPv6, no NAT", async () => {
    await apply(BASE);
    const web = await lab.tcp(SERVER4, 80);
    assert.deepEqual(web, { ok: true, data: `server ${CLIENT4}` });
    const web6 = await lab.tcp(SERVER6, 80);
    assert.deepEqual(web6, { ok: true, data: `server ${CLIENT6}` });
    assert.equal((await lab.tcp(SERVER4, 23, 800)).error, "TIMEOUT");
    assert.equal((await lab.tcp(SERVER6, 23, 800)).error, "TIMEOUT");
    assert.equal((await lab.tcp(SERVER4, 8081)).error, "ECONNREFUSED");
    assert.equal((await lab.tcp(SERVER6, 8081)).error, "ECONNREFUSED");
    assert.deepEqual(await lab.udp(SERVER4, 7), { ok: true, data: "ping" });
    assert.equal((await lab.udp(SERVER4, 9, 600)).error, "TIMEOUT");
    assert.equal(lab.ping(SERVER4), 1);
    assert.equal(lab.ping(SERVER6), 1);
    assert.deepEqual(foreign(), foreignBefore);
  });

  it("plan after apply reports no changes (generated rules equal iptables-save's)", async () => {
    const plan = await engine.plan(rules(BASE), EP);
    assert.equal(plan.changes, 0, plan.text);
    assert.match(plan.text, /Up to date\./);
  });

  it("jumps from built-in chains stay exactly once over repeated applies", async () => {
    await apply(BASE);
    await apply(BASE);
    const save = lab.sh(lab.a, "iptables-save");
    assert.equal(save.split("\n").filter((l) => l === "-A FORWARD -j TOLLGATE-FORWARD").length, 1);
    assert.equal(
      save.split("\n").filter((l) => l === "-A PREROUTING -j TOLLGATE-PREROUTING").length,
      3,
      "one each in raw, mangle and nat",
    );
    assert.deepEqual(foreign(), foreignBefore);
  });

  it("an injected failure at any step rolls back to the previous rules", async () => {
    await apply(BASE);
    const before = saveOwn();
    const change = BASE.replace("ports: [80, 8080]", "ports: [8080]").replace(
      "rules:",
      'sets:\n  bad:\n    type: net\n    entries: [203.0.113.0/24]\nrules:\n  - action: drop\n    src: "@bad"',
    );
    for (const when of [
      (a: readonly string[]) => a[0] === "ip6tables-restore",
      (a: readonly string[]) => a[0] === "ip" && a.includes("rule") && a.includes("add"),
      (a: readonly string[]) => a[0] === "sysctl" && a.includes("-w"),
    ]) {
      const failing = new RulesEngine({
        runner: new FailingRunner(lab.runner, when),
        capabilities: caps,
        stateFile: path.join(stateDir, "state.json"),
      });
      // Make the change touch ip rules and sysctls too, so every injected step is reached.
      lab.sh(lab.a, "sysctl", "-q", "-w", "net.ipv4.fwmark_reflect=0");
      lab.sh(lab.a, "ip", "-4", "rule", "del", "pref", "10002");
      await assert.rejects(
        failing.apply(rules(change), EP),
        (e: unknown) => e instanceof ApplyError && e.rolledBack,
      );
      assert.deepEqual(saveOwn(), before);
      assert.deepEqual(foreign(), foreignBefore);
      assert.equal(lab.trySh(lab.a, "ipset", "list", "-n")?.includes("tg-s-bad"), false);
      await apply(BASE);
    }
    assert.deepEqual((await lab.tcp(SERVER4, 80)).ok, true);
  });

  it("named sets (ipset) drop listed sources and are swapped atomically on change", async () => {
    const many = Array.from({ length: 300 }, (_, i) => `"198.18.${i >> 8}.${i & 255}"`);
    const withClient = `${BASE.replace("rules:", `sets:\n  blocked:\n    type: net\n    entries: [${[...many, `"${CLIENT4}"`].join(", ")}]\nrules:\n  - action: drop\n    src: "@blocked"`)}`;
    await apply(withClient);
    assert.equal((await lab.tcp(SERVER4, 80, 800)).error, "TIMEOUT");
    assert.equal((await lab.tcp(SERVER6, 80)).ok, true, "IPv6 client not in the set");
    await apply(withClient.replace(`, "${CLIENT4}"`, ""));
    assert.equal((await lab.tcp(SERVER4, 80)).ok, true);
    assert.match(lab.sh(lab.a, "ipset", "list", "tg-s-blocked"), /Number of entries: 300/);
  });

  it("direction: towards / from the protected side", async () => {
    await apply(`
version: 1
defaults:
  protected: [10.10.1.0/24]
  policy: allow
rules:
  - action: drop
    direction: in
    proto: tcp
    ports: 80
`);
    await lab.serve(lab.c, "serve-tcp", "80", "client");
    assert.equal((await lab.tcp(SERVER4, 80)).ok, true, "from the protected side: allowed");
    const r = await lab.probe(lab.s, "tcp", CLIENT4, "80", "800");
    assert.equal(r.error, "TIMEOUT", "towards the protected side: dropped");
  });

  it("redirect: a port is intercepted by a proxy on the appliance, replies go back out gwo", async () => {
    await lab.serve(lab.a, "serve-tcp", "3128", "proxy");
    await apply(`${BASE}
  - action: redirect
    proto: tcp
    ports: 80
    toPort: 3128
`);
    assert.deepEqual(await lab.tcp(SERVER4, 80), { ok: true, data: `proxy ${CLIENT4}` });
    assert.deepEqual(await lab.tcp(SERVER6, 80), { ok: true, data: `proxy ${CLIENT6}` });
    assert.deepEqual(
      await lab.tcp(SERVER4, 8080),
      { ok: true, data: `q ${CLIENT4}` },
      "other ports untouched",
    );
    assert.equal(
      (await lab.probe(lab.c, "tcp", "192.168.1.2", "22", "800")).ok,
      false,
      "appliance itself unreachable",
    );
  });

  it("egress-nat: masquerades out the uplink and returns replies through gwo", async () => {
    await apply(`
version: 1
defaults:
  mode: egress-nat
  egressInterface: up0
  ipv6: false
`);
    assert.deepEqual(await lab.tcp(SERVER4, 80), { ok: true, data: `server ${UPLINK4}` });
    assert.deepEqual(await lab.udp(SERVER4, 7), { ok: true, data: "ping" });
  });

  it("egress-nat without egressInterface: the uplink is the default route's (up0)", async () => {
    await apply(`
version: 1
defaults:
  mode: egress-nat
  ipv6: false
`);
    assert.match(
      lab.sh(lab.a, "iptables-save", "-t", "nat"),
      /-o up0 -m mark --mark \S+ -j MASQUERADE/,
    );
    assert.deepEqual(await lab.tcp(SERVER4, 80), { ok: true, data: `server ${UPLINK4}` });
  });

  it("mirror: matching traffic is copied to the monitoring interface, the rest is not", async () => {
    await apply(`${BASE}
  - action: mirror
    proto: tcp
    ports: 80
    to: mon0
`);
    const before = lab.rxPackets(lab.a, "mon1");
    for (let i = 0; i < 3; i++) assert.equal((await lab.tcp(SERVER4, 80)).ok, true);
    const afterTcp = lab.rxPackets(lab.a, "mon1");
    assert.ok(afterTcp - before >= 9, `mirrored ${afterTcp - before} packets for 3 connections`);
    assert.equal((await lab.udp(SERVER4, 7)).ok, true);
    assert.equal((await lab.tcp(SERVER4, 8080)).ok, true);
    assert.equal(lab.rxPackets(lab.a, "mon1"), afterTcp, "UDP and port 8080 not mirrored");
  });

  it("queue: NFQUEUE with --queue-bypass passes without a reader, without it drops", async () => {
    await apply(`${BASE.replace("ports: [80, 8080]", "ports: [80]")}
  - action: queue
    proto: tcp
    ports: 8080
    queue: 5
    bypass: true
`);
    assert.equal((await lab.tcp(SERVER4, 8080)).ok, true);
    await apply(`${BASE.replace("ports: [80, 8080]", "ports: [80]")}
  - action: queue
    proto: tcp
    ports: 8080
    queue: 5
`);
    assert.equal((await lab.tcp(SERVER4, 8080, 800)).error, "TIMEOUT");
  });

  it("log (NFLOG) counts matching packets; limit caps the allowed rate", async () => {
    await apply(`
version: 1
defaults:
  policy: drop
  established: false
rules:
  - action: allow
    proto: icmp
    icmpType: echo-reply
  - action: allow
    proto: tcp
    sourcePorts: 80
  - action: log
    proto: tcp
    ports: 80
    log: { prefix: "web", group: 9 }
  - action: allow
    proto: tcp
    ports: 80
  - action: allow
    proto: icmp
    limit: { rate: 1/minute, burst: 2 }
`);
    assert.equal((await lab.tcp(SERVER4, 80)).ok, true);
    const counters = lab.sh(lab.a, "iptables", "-L", "TOLLGATE-gwi-1", "-v", "-x", "-n");
    const nflog = counters.split("\n").find((l) => l.includes("NFLOG"))!;
    assert.ok(Number(nflog.trim().split(/\s+/)[0]) >= 1, nflog);
    const received = lab.ping(SERVER4, 5);
    assert.equal(received, 2, "burst of 2 then limited");
  });

  it("passthrough: tc u32 + mirred redirect gwi -> gwo bypasses netfilter and routing", async () => {
    await apply(`
version: 1
defaults:
  mode: passthrough
rules:
  - action: mirror
    proto: tcp
    ports: 80
    to: mon0
`);
    const mirroredBefore = lab.rxPackets(lab.a, "mon1");
    lab.sh(lab.a, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
    try {
      assert.deepEqual(await lab.tcp(SERVER4, 80), { ok: true, data: `server ${CLIENT4}` });
      assert.deepEqual(await lab.tcp(SERVER4, 23), { ok: true, data: `telnet ${CLIENT4}` });
      assert.match(
        lab.sh(lab.a, "tc", "filter", "show", "dev", "gwi-1", "ingress"),
        /Egress Redirect to device gwo-1/,
      );
      assert.ok(
        lab.rxPackets(lab.a, "mon1") - mirroredBefore >= 3,
        "port 80 mirrored before the passthrough redirect",
      );
    } finally {
      lab.sh(lab.a, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    }
    await apply(BASE);
    assert.equal(
      lab.sh(lab.a, "tc", "filter", "show", "dev", "gwi-1", "ingress").trim(),
      "",
      "tc filter removed",
    );
    assert.equal((await lab.tcp(SERVER4, 23, 800)).error, "TIMEOUT");
  });

  it("remove leaves only the foreign rules", async () => {
    await engine.remove();
    const own = saveOwn();
    for (const t of ["raw", "mangle", "nat", "filter"] as const) {
      assert.equal(own.v4.chains[t].size, 0);
      assert.equal(own.v4.jumps[t].size, 0);
      assert.equal(own.v6.chains[t].size, 0);
    }
    assert.deepEqual(foreign(), foreignBefore);
    assert.equal(lab.sh(lab.a, "ip", "rule", "show").includes("10001"), false);
  });
});

describe("endpoints with overlapping CIDRs (root)", function () {
  this.timeout(60000);
  const lab = new Lab();
  let engine: RulesEngine;
  let stateDir: string;
  const eps: EndpointRef[] = [
    { gwi: "gwi-1", gwo: "gwo-1" },
    { gwi: "gwi-2", gwo: "gwo-2" },
  ];

  before(async function () {
    const reason = skipReason(["ipset", "conntrack"]);
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    lab.setup(2);
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "tgd-state-"));
    engine = new RulesEngine({
      runner: lab.runner,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: path.join(stateDir, "state.json"),
    });
    for (const k of [1, 2]) {
      await lab.serve(lab.world(k).s, "serve-tcp", "80", `server${k}`);
      await lab.serve(lab.world(k).s, "serve-tcp", "8080", `alt${k}`);
    }
  });

  after(() => {
    lab.destroy();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it("gives the same CIDRs different treatment per endpoint", async () => {
    await engine.apply(
      rules(`
version: 1
defaults: { policy: drop }
endpoints:
  gwi-1:
    rules:
      - { action: allow, proto: tcp, src: 10.10.1.0/24, ports: 80 }
  gwi-2:
    rules:
      - { action: allow, proto: tcp, src: 10.10.1.0/24, ports: 8080 }
`),
      eps,
    );
    const w1 = lab.world(1).c;
    const w2 = lab.world(2).c;
    assert.deepEqual(await lab.probe(w1, "tcp", SERVER4, "80", "1500"), {
      ok: true,
      data: `server1 ${CLIENT4}`,
    });
    assert.equal((await lab.probe(w1, "tcp", SERVER4, "8080", "800")).error, "TIMEOUT");
    assert.equal((await lab.probe(w2, "tcp", SERVER4, "80", "800")).error, "TIMEOUT");
    assert.deepEqual(await lab.probe(w2, "tcp", SERVER4, "8080", "1500"), {
      ok: true,
      data: `alt2 ${CLIENT4}`,
    });
  });

  it("keeps identical 5-tuples of two endpoints apart (conntrack zones)", async () => {
    await engine.apply(rules("version: 1\ndefaults: { policy: allow }\n"), eps);
    const [r1, r2] = await Promise.all([
      lab.probe(lab.world(1).c, "tcp", SERVER4, "80", "1500", "40123"),
      lab.probe(lab.world(2).c, "tcp", SERVER4, "80", "1500", "40123"),
    ]);
    assert.deepEqual(r1, { ok: true, data: `server1 ${CLIENT4}` });
    assert.deepEqual(r2, { ok: true, data: `server2 ${CLIENT4}` });
    const zones = new Set(
      lab
        .sh(lab.a, "conntrack", "-L", "-p", "tcp", "--sport", "40123")
        .split("\n")
        .map((l) => /zone=(\d+)/.exec(l)?.[1])
        .filter((z): z is string => z !== undefined),
    );
    assert.equal(zones.size, 2, "two conntrack entries in two zones");
  });
});
