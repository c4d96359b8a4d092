import { strict as assert } from "node:assert";
import {
  buildProgram,
  DEFAULT_CONFIG,
  levelFromLogging,
  parseConfigFile,
  parseCpuList,
  resolveConfig,
} from "@tollgate/appliance";
import { runCli } from "../helpers/cli";
import { problems } from "../helpers/config-problems";

describe("configuration", () => {
  it("defaults match GWLB and the reference", () => {
    const c = resolveConfig([]);
    assert.deepEqual(c, DEFAULT_CONFIG);
    assert.deepEqual(c.flows.timeouts, { tcp: 350, udp: 120, other: 120 });
    assert.equal(c.mtu, 8500);
    assert.equal(c.listen.port, 6081);
    assert.equal(c.health.port, undefined);
  });

  it("accepts the reference command line", () => {
    const c = resolveConfig([
      "-c",
      "/opt/gwlbtun/create-passthrough.sh --flag 'a b'",
      "-r",
      "/opt/gwlbtun/delete.sh",
      "-t",
      "300",
      "-i",
      "600",
      "-p",
      "80",
      "-j",
      "-s",
      "-d",
      "--udpthreads",
      "2",
      "--udpaffinity",
      "0-1",
      "--tunthreads",
      "2",
      "--tunaffinity",
      "1,3",
    ]);
    assert.deepEqual(c.hooks.create, ["/opt/gwlbtun/create-passthrough.sh", "--flag", "a b"]);
    assert.deepEqual(c.hooks.destroy, ["/opt/gwlbtun/delete.sh"]);
    assert.equal(c.endpointIdleTimeoutSeconds, 300);
    assert.equal(c.flows.timeouts.tcp, 600);
    assert.equal(c.flows.timeouts.udp, 120);
    assert.equal(c.health.port, 80);
    assert.equal(c.health.format, "json");
    assert.equal(c.health.detailed, false);
    assert.equal(c.logLevel, "debug");
    assert.deepEqual(c.threads, { udp: 2, udpAffinity: [0, 1], tun: 2, tunAffinity: [1, 3] });
  });

  it("accepts the reference long forms", () => {
    const c = resolveConfig([
      "--cmdnew",
      "/x",
      "--cmddel",
      "/y",
      "--timeout",
      "5",
      "--idle",
      "60",
      "--port",
      "8080",
      "--json",
      "--debug",
      "--logging",
      "all=debug",
    ]);
    assert.deepEqual(c.hooks.create, ["/x"]);
    assert.equal(c.flows.timeouts.tcp, 60);
    assert.equal(c.health.port, 8080);
    assert.equal(c.logLevel, "debug");
  });

  it("reports every bad value at once with the flag name", () => {
    const p = problems(() =>
      resolveConfig([
        "-p",
        "70000",
        "-i",
        "abc",
        "--mtu",
        "100",
        "--log-level",
        "loud",
        "--udpaffinity",
        "x",
        "-c",
        "'unterminated",
      ]),
    );
    assert.equal(p.length, 6, p.join("\n"));
    assert.match(p.join("\n"), /-p\/--port: expected an integer from 1 to 65535, got "70000"/);
    assert.match(p.join("\n"), /-i\/--idle: expected a number/);
    assert.match(p.join("\n"), /--mtu: expected an integer from 576 to 9001/);
    assert.match(p.join("\n"), /--log-level: expected one of trace, debug/);
    assert.match(p.join("\n"), /--udpaffinity: expected a CPU list/);
    assert.match(p.join("\n"), /-c\/--cmdnew: unterminated single quote/);
    assert.match(problems(() => resolveConfig(["--nope"]))[0]!, /unknown option '--nope'/);
    assert.match(
      problems(() => resolveConfig(["extra"]))[0]!,
      /too many arguments|unknown command/,
    );
  });

  it("merges defaults < file < command line", () => {
    const file = [
      "listen: { address: 10.0.0.5, port: 6082 }",
      "flows:",
      "  maxEntries: 1000",
      "  idleTimeout: { tcp: 1000, udp: 60 }",
      "hooks:",
      "  create: [/usr/bin/hook, --mode, passthrough]",
      "  timeout: 5",
      "health: { port: 8080, format: json, window: 30 }",
      "rpFilter: { manage: true, global: false, interval: 0 }",
      "rules: /etc/tollgate/rules.yaml",
      "logLevel: warn",
      "threads: { udpAffinity: 2 }",
      "",
    ].join("\n");
    const c = resolveConfig(
      ["--config", "/etc/tollgate.yaml", "-p", "9090", "--flow-timeout-udp", "30"],
      file,
    );
    assert.deepEqual(c.listen, { address: "10.0.0.5", port: 6082 });
    assert.equal(c.flows.maxEntries, 1000);
    assert.deepEqual(c.flows.timeouts, { tcp: 1000, udp: 30, other: 120 });
    assert.deepEqual(c.hooks, {
      create: ["/usr/bin/hook", "--mode", "passthrough"],
      timeoutSeconds: 5,
    });
    assert.equal(c.health.port, 9090);
    assert.equal(c.health.format, "json");
    assert.equal(c.health.windowSeconds, 30);
    assert.deepEqual(c.rpFilter, { manage: true, global: false, intervalSeconds: 0 });
    assert.equal(c.rulesFile, "/etc/tollgate/rules.yaml");
    assert.equal(c.logLevel, "warn");
    assert.deepEqual(c.threads.udpAffinity, [2]);
    assert.equal(c.configFile, "/etc/tollgate.yaml");
    assert.equal(
      resolveConfig(["--config", "f", "--no-rp-filter"], "rpFilter: { manage: true }").rpFilter
        .manage,
      false,
    );
    assert.equal(resolveConfig(["--config", "f"], "").mtu, 8500, "an empty file is all defaults");
  });

  it("gives file:line:column for YAML syntax errors, unknown keys and wrong types", () => {
    const bad = [
      "flows:",
      "  maxEntries: many",
      "health:",
      "  port: 8080",
      "  colour: blue",
      "mtu: 100",
    ].join("\n");
    const p = problems(() => resolveConfig(["--config", "t.yaml"], bad));
    assert.equal(p.length, 3, p.join("\n"));
    assert.ok(
      p.some((x) => /^t\.yaml:2:\d+: flows\.maxEntries: /.test(x)),
      p.join("\n"),
    );
    assert.ok(
      p.some((x) => /^t\.yaml:5:3: health\.colour: unknown key$/.test(x)),
      p.join("\n"),
    );
    assert.ok(
      p.some((x) => /^t\.yaml:6:\d+: mtu: /.test(x)),
      p.join("\n"),
    );
    const syntax = parseConfigFile("health:\n  port: [8080\n", "s.yaml");
    assert.ok(!syntax.ok);
    assert.match(syntax.problems[0]!, /^s\.yaml:\d+:\d+: /);
    const dup = parseConfigFile("mtu: 1500\nmtu: 1500\n", "d.yaml");
    assert.ok(!dup.ok);
    assert.match(dup.problems[0]!, /^d\.yaml:\d+:\d+: Map keys must be unique/);
    assert.match(problems(() => resolveConfig(["--config", "x"]))[0]!, /--config x: file not read/);
    assert.match(problems(() => resolveConfig(["--config", "x"], "- 1\n- 2\n"))[0]!, /^x:1:1: /);
  });

  it("parses CPU lists and reference logging strings", () => {
    assert.deepEqual(parseCpuList("0-2,5"), [0, 1, 2, 5]);
    assert.equal(parseCpuList("2-1"), undefined);
    assert.equal(parseCpuList("a"), undefined);
    assert.equal(levelFromLogging("all=debug"), "debug");
    assert.equal(levelFromLogging("core=info,udp=debugdetail"), "trace");
    assert.equal(levelFromLogging("nonsense"), undefined);
  });
});

describe("tollgate CLI", () => {
  it("runs the daemon as the default command with reference flags", async () => {
    const r = await runCli(["-c", "/hook.sh", "-p", "8080", "--log-level", "silent"]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.config?.hooks.create, ["/hook.sh"]);
    assert.equal(r.config?.health.port, 8080);
    const r2 = await runCli([
      "run",
      "--geneve-port",
      "7000",
      "--rules",
      "/etc/tollgate/rules.yaml",
      "--log-level",
      "silent",
    ]);
    assert.equal(r2.config?.listen.port, 7000);
  });

  it("exits 2 without starting on a bad configuration", async () => {
    const r = await runCli(["-p", "0"]);
    assert.equal(r.code, 2);
    assert.equal(r.config, undefined);
    assert.match(r.stderr, /-p\/--port/);
  });

  it("documents every option in --help", () => {
    const program = buildProgram();
    let help = "";
    program.configureOutput({ writeOut: (s) => (help += s) });
    program.exitOverride();
    assert.throws(() => program.parse(["node", "tollgate", "--help"]));
    for (const flag of [
      "-c, --cmdnew",
      "-r, --cmddel",
      "-t, --timeout",
      "-i, --idle",
      "-p, --port",
      "-j, --json",
      "-s, --simple",
      "-d, --debug",
      "--udpthreads",
      "--udpaffinity",
      "--tunthreads",
      "--tunaffinity",
      "--config",
      "--rules",
      "--external-forwarding",
      "--gwlb-cidr",
      "--log-level",
      "--max-flows",
      "--flow-timeout-tcp",
      "--no-rp-filter",
      "rules",
    ]) {
      assert.ok(help.includes(flag), `--help lacks ${flag}`);
    }
  });
});
