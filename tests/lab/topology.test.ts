import { strict as assert } from "node:assert";
import {
  allNamespaces,
  namespaceDeleteCommands,
  planTopology,
  setupSteps,
  tunSteps,
  vpceName,
} from "@tollgate/lab";

describe("lab topology plan", () => {
  it("names every namespace with the prefix and fills defaults", () => {
    const t = planTopology({ prefix: "tgl123" });
    assert.deepEqual(allNamespaces(t), [
      "tgl123-client",
      "tgl123-gwlb",
      "tgl123-inet",
      "tgl123-app1",
      "tgl123-app2",
    ]);
    assert.equal(t.stateDir, "/run/tollgate-lab/tgl123");
    assert.equal(t.gwlb.controlSocket, "/run/tollgate-lab/tgl123/emulator.sock");
    assert.deepEqual(
      t.appliances.map((a) => [a.name, a.address, a.healthPort]),
      [
        ["app1", "10.10.100.11", 8080],
        ["app2", "10.10.100.12", 8080],
      ],
    );
    assert.equal(vpceName(t.gwlb.endpointId), "vpce-01ab2c3d4e5f60718");
  });

  it("defaults the prefix to tg-lab", () => {
    assert.equal(planTopology().namespaces.gwlb, "tg-lab-gwlb");
  });

  it("rejects bad prefixes, counts, ports and ids before anything is created", () => {
    assert.throws(() => planTopology({ prefix: "Bad" }), /invalid lab prefix/);
    assert.throws(() => planTopology({ prefix: "x".repeat(25) }), /invalid lab prefix/);
    assert.throws(() => planTopology({ prefix: "a b" }), /invalid lab prefix/);
    assert.throws(() => planTopology({ appliances: 0 }), /appliance count/);
    assert.throws(() => planTopology({ appliances: 9 }), /appliance count/);
    assert.throws(() => planTopology({ healthPort: 6081 }), /health port/);
    assert.throws(() => planTopology({ endpointId: 1n << 64n }), /endpoint id/);
  });

  it("points the client's default route at the endpoint and the internet's edge route back to it", () => {
    const t = planTopology({ prefix: "tgl1" });
    assert.deepEqual(
      t.routes.find((r) => r.ns === "tgl1-client"),
      { ns: "tgl1-client", destination: "default", via: t.gwlb.endpointAddress },
    );
    assert.deepEqual(
      t.routes.find((r) => r.ns === "tgl1-inet"),
      { ns: "tgl1-inet", destination: t.client.subnet, via: t.gwlb.edgeAddress },
    );
  });

  it("keeps every interface name within 15 characters and inside the lab's namespaces", () => {
    const t = planTopology({ prefix: "tgl99999", appliances: 8 });
    const nss = new Set(allNamespaces(t));
    for (const l of t.links) {
      for (const side of [l.a, l.b]) {
        assert.ok(side.ifname.length <= 15, side.ifname);
        assert.ok(nss.has(side.ns), side.ns);
      }
    }
    assert.ok(t.gwlb.tun.length <= 15);
  });

  it("setup creates interfaces only inside namespaces (never in the host namespace)", () => {
    const t = planTopology({ prefix: "tgl5" });
    const cmds = setupSteps(t).flatMap((s) => s.commands);
    for (const argv of cmds) {
      assert.equal(argv[0], "ip", argv.join(" "));
      const opts = argv[1] === "-6" ? argv.slice(2) : argv.slice(1);
      const inNs =
        opts[0] === "-n" || opts[0] === "netns" || (opts[1] === "add" && argv.includes("netns"));
      assert.ok(inNs, `runs in the host namespace: ${argv.join(" ")}`);
    }
    // veth creation names the namespace of both ends.
    const veths = cmds.filter((a) => a.includes("veth"));
    assert.equal(veths.length, 4);
    for (const v of veths) assert.equal(v.filter((x) => x === "netns").length, 2);
    // Namespaces come first, routes last.
    assert.deepEqual(cmds[0], ["ip", "netns", "add", "tgl5-client"]);
    const text = cmds.map((a) => a.join(" "));
    const edge = text.indexOf("ip -n tgl5-inet route replace 10.10.1.0/24 via 198.51.100.1");
    const lastAddr = text.map((c) => c.includes(" addr add ")).lastIndexOf(true);
    assert.ok(edge > lastAddr, "routes come after addresses");
  });

  it("steers client and internet traffic into the emulator's tun once it exists", () => {
    const t = planTopology({ prefix: "tgl5" });
    const cmds = tunSteps(t).flatMap((s) => s.commands);
    assert.ok(
      cmds.some(
        (a) => a.join(" ") === "ip -n tgl5-gwlb route replace default dev gwlbe0 table 100",
      ),
    );
    assert.ok(
      cmds.some((a) => a.join(" ") === "ip -n tgl5-gwlb rule add pref 100 iif c0 lookup 100"),
    );
    assert.ok(
      cmds.some((a) => a.join(" ") === "ip -n tgl5-gwlb rule add pref 101 iif i0 lookup 100"),
    );
  });

  it("gives the client and internet links IPv6 too, without DAD delay", () => {
    const t = planTopology({ prefix: "tgl5" });
    const cmds = setupSteps(t).flatMap((s) => s.commands.map((a) => a.join(" ")));
    assert.ok(cmds.includes("ip -n tgl5-client addr add fd00:10:1::10/64 dev eth0 nodad"));
    assert.ok(cmds.includes("ip -6 -n tgl5-client route replace default via fd00:10:1::1"));
    assert.ok(cmds.includes("ip -6 -n tgl5-inet route replace fd00:10:1::/64 via 2001:db8:100::1"));
    assert.ok(cmds.includes("ip netns exec tgl5-gwlb sysctl -qw net.ipv6.conf.all.forwarding=1"));
  });

  it("deletes namespaces by name", () => {
    assert.deepEqual(namespaceDeleteCommands(["a", "b"]), [
      ["ip", "netns", "del", "a"],
      ["ip", "netns", "del", "b"],
    ]);
  });
});
