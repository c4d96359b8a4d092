/**
 * egress-nat uplink from the default route (issue 9 item 7): parsing `ip -4 -j route show
 * default`, which endpoints need it, and the engine compiling with it, over a fake command runner.
 */
import assert from "node:assert/strict";
import {
  ApplyError,
  type CommandResult,
  type CommandRunner,
  compileRules,
  type EndpointRef,
  endpointsNeedingUplink,
  MINIMAL_CAPABILITIES,
  resolveUplink,
  RulesEngine,
  uplinkFromRoutes,
} from "@tollgate/appliance";
import { rules } from "./load";

const ROUTE_ARGV = ["ip", "-4", "-j", "route", "show", "default"];
const EP1: EndpointRef = { gwi: "gwi-1", gwo: "gwo-1" };
const EP2: EndpointRef = { gwi: "gwi-2", gwo: "gwo-2" };

/** Answers the default-route query with `result`; records every argv; fails anything else. */
class RouteRunner implements CommandRunner {
  readonly calls: (readonly string[])[] = [];
  constructor(private readonly result: CommandResult) {}
  async run(argv: readonly string[]): Promise<CommandResult> {
    this.calls.push(argv);
    if (argv.join(" ") === ROUTE_ARGV.join(" ")) return this.result;
    return { code: 1, stdout: "", stderr: `unexpected command ${argv.join(" ")}` };
  }
}

const routes = (json: unknown): CommandResult => ({
  code: 0,
  stdout: JSON.stringify(json),
  stderr: "",
});
const NITRO = routes([{ dst: "default", gateway: "10.0.0.1", dev: "ens5", flags: [] }]);
const EGRESS = `
version: 1
defaults: { mode: egress-nat }
`;

describe("egress-nat uplink from the default route", () => {
  it("parses ip -4 -j route show default (lowest metric wins, main table only)", () => {
    assert.deepEqual(uplinkFromRoutes(NITRO.stdout), { dev: "ens5" });
    assert.deepEqual(
      uplinkFromRoutes(
        JSON.stringify([
          { dst: "default", dev: "wlan0", metric: 600 },
          { dst: "default", dev: "enp1s0", metric: 100 },
          { dst: "default", dev: "tun0", table: "42" },
        ]),
      ),
      { dev: "enp1s0" },
    );
    assert.deepEqual(uplinkFromRoutes(""), { problem: "the host has no IPv4 default route" });
    assert.deepEqual(uplinkFromRoutes("[]\n"), { problem: "the host has no IPv4 default route" });
    assert.match(
      (uplinkFromRoutes(JSON.stringify([{ dst: "default", nexthops: [] }])) as { problem: string })
        .problem,
      /multipath/,
    );
    assert.match((uplinkFromRoutes("nope") as { problem: string }).problem, /cannot parse/);
  });

  it("is needed only by present egress-nat endpoints that name no egressInterface", () => {
    assert.deepEqual(endpointsNeedingUplink(rules(EGRESS), [EP1, EP2]), ["gwi-1", "gwi-2"]);
    assert.deepEqual(endpointsNeedingUplink(rules(EGRESS), []), []);
    const mixed = rules(`
version: 1
defaults: { mode: inspect }
endpoints:
  gwi-1: { mode: egress-nat }
  gwi-2: { mode: egress-nat, egressInterface: eth1 }
  gwi-3: { mode: egress-nat }
`);
    assert.deepEqual(endpointsNeedingUplink(mixed, [EP1, EP2]), ["gwi-1"], "gwi-3 is absent");
    const named = rules(`
version: 1
defaults: { mode: egress-nat, egressInterface: eth0 }
`);
    assert.deepEqual(endpointsNeedingUplink(named, [EP1]), []);
    assert.deepEqual(endpointsNeedingUplink(rules("version: 1\n"), [EP1]), []);
  });

  it("asks the kernel only when needed, with one argv, and sets defaults.egressInterface", async () => {
    const runner = new RouteRunner(NITRO);
    const none = await resolveUplink(rules("version: 1\n"), [EP1], runner);
    assert.deepEqual(runner.calls, [], "inspect needs no uplink");
    assert.deepEqual([none.notes, none.errors], [[], []]);
    const r = await resolveUplink(rules(EGRESS), [EP1], runner);
    assert.deepEqual(runner.calls, [ROUTE_ARGV]);
    assert.equal(r.loaded.file.defaults?.egressInterface, "ens5");
    assert.equal(r.loaded.file.defaults?.mode, "egress-nat", "other defaults kept");
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.notes, [
      "egress-nat uplink: ens5 (IPv4 default route; set defaults.egressInterface to choose) for gwi-1",
    ]);
  });

  it("names the key to set when there is no default route or ip fails", async () => {
    const none = await resolveUplink(rules(EGRESS), [EP1], new RouteRunner(routes([])));
    assert.deepEqual(none.errors, [
      "gwi-1: egress-nat needs an uplink and the host has no IPv4 default route: set defaults.egressInterface (or the endpoint's egressInterface) to the interface to masquerade on, e.g. ens5",
    ]);
    assert.equal(none.loaded.file.defaults?.egressInterface, undefined);
    const failed = await resolveUplink(
      rules(EGRESS),
      [EP1],
      new RouteRunner({ code: 127, stdout: "", stderr: "spawn ip ENOENT" }),
    );
    assert.match(
      failed.errors[0]!,
      /ip -4 -j route show default failed \(exit 127\): spawn ip ENOENT: set defaults\.egressInterface/,
    );
  });

  it("compiles MASQUERADE on the resolved uplink; the file's own interface wins", async () => {
    const engine = new RulesEngine({
      runner: new RouteRunner(NITRO),
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: "/nonexistent/state.json",
    });
    const c = await engine.compile(rules(EGRESS), [EP1]);
    assert.deepEqual(c.errors, []);
    assert.match(
      c.iptablesRestore,
      /^-A TOLLGATE-POSTROUTING -o ens5 -m mark --mark \S+ -j MASQUERADE$/m,
    );
    assert.ok(c.notes.some((n) => n.startsWith("egress-nat uplink: ens5")));
    const own = await engine.compile(
      rules(`
version: 1
defaults: { mode: egress-nat }
endpoints:
  gwi-1: { egressInterface: eth1 }
`),
      [EP1, EP2],
    );
    assert.match(own.iptablesRestore, /^-A TOLLGATE-POSTROUTING -o eth1 .* -j MASQUERADE$/m);
    assert.match(own.iptablesRestore, /^-A TOLLGATE-POSTROUTING -o ens5 .* -j MASQUERADE$/m);
    assert.doesNotMatch(own.iptablesRestore, /-o eth0 /, "no silent eth0");
  });

  it("refuses to apply without an uplink, nothing applied", async () => {
    const runner = new RouteRunner(routes([]));
    const engine = new RulesEngine({
      runner,
      capabilities: MINIMAL_CAPABILITIES,
      stateFile: "/nonexistent/state.json",
    });
    await assert.rejects(engine.apply(rules(EGRESS), [EP1]), (err: unknown) => {
      assert.ok(err instanceof ApplyError);
      assert.match(err.message, /rules not applied:/);
      assert.match(err.message, /set defaults\.egressInterface/);
      return true;
    });
    assert.deepEqual(runner.calls, [ROUTE_ARGV], "nothing but the route query ran");
  });

  it("the pure compiler reports an unresolved uplink instead of assuming eth0", () => {
    const c = compileRules(rules(EGRESS), [EP1], MINIMAL_CAPABILITIES);
    assert.deepEqual(c.errors, [
      "gwi-1: egress-nat needs an uplink: set defaults.egressInterface (or the endpoint's egressInterface), or apply on a host with an IPv4 default route",
    ]);
    assert.doesNotMatch(c.iptablesRestore, /MASQUERADE/);
  });
});
