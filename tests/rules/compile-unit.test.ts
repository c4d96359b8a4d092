/** Pure pieces of the compiler: port masks, CIDRs, expansion, restore-document fix-ups. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalCidr,
  compileRules,
  expandMatches,
  finalizeRestore,
  foreignRules,
  ipsetRollback,
  MINIMAL_CAPABILITIES,
  parseIptablesSave,
  parseRules,
  rangeToMasks,
  restoreDocument,
  type Rule,
} from "@tollgate/appliance";

const ctx = { setName: (n: string) => `tg-s-${n}` };

describe("rules compiler pieces", () => {
  it("rangeToMasks covers exactly the port range (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 0, max: 3000 }),
        (lo, span) => {
          const hi = Math.min(65535, lo + span);
          const masks = rangeToMasks(lo, hi);
          let covered = 0;
          for (const [v, m] of masks) {
            assert.equal(v & ~m & 0xffff, 0, "value aligned to its mask");
            covered += (~m & 0xffff) + 1;
          }
          assert.equal(covered, hi - lo + 1);
          const inRange = (p: number) => masks.some(([v, m]) => (p & m) === v);
          for (const p of [lo, hi, lo - 1, hi + 1, (lo + hi) >> 1]) {
            if (p >= 1 && p <= 65535) assert.equal(inRange(p), p >= lo && p <= hi, `port ${p}`);
          }
        },
      ),
    );
  });

  it("canonicalises CIDRs like iptables-save", () => {
    assert.equal(canonicalCidr("10.1.2.3/8"), "10.0.0.0/8");
    assert.equal(canonicalCidr("192.0.2.7"), "192.0.2.7/32");
    assert.equal(canonicalCidr("fd00::1/8"), "fd00::/8");
    assert.equal(canonicalCidr("2001:db8::1"), "2001:db8::1/128");
  });

  it("splits long port lists into multiport groups of at most 15 slots", () => {
    const ports = Array.from({ length: 40 }, (_, i) => 1000 + i * 2);
    const rule = { action: "drop", proto: "tcp", ports: [...ports, "5000-5100"] } as Rule;
    const out = expandMatches(rule, "ipv4", ctx, "x");
    assert.equal(out.length, 3);
    for (const m of out) {
      const list = /--dports (\S+)/.exec(m)![1]!.split(",");
      assert.ok(list.reduce((n, p) => n + (p.includes(":") ? 2 : 1), 0) <= 15);
    }
    assert.deepEqual(
      out.flatMap((m) => /--dports (\S+)/.exec(m)![1]!.split(",")),
      [...ports.map(String), "5000:5100"],
    );
  });

  it("expands src x dst alternatives per family and skips families with no addresses", () => {
    const rule = {
      action: "allow",
      src: ["10.0.0.0/8", "fd00::/8", "@x"],
      dst: ["192.0.2.1"],
    } as Rule;
    assert.deepEqual(expandMatches(rule, "ipv4", ctx, "x"), [
      "-s 10.0.0.0/8 -d 192.0.2.1/32",
      "-d 192.0.2.1/32 -m set --match-set tg-s-x src",
    ]);
    assert.deepEqual(expandMatches(rule, "ipv6", ctx, "x"), []);
  });

  it("gives endpoints distinct, stable zones even when derived zones collide", () => {
    const parsed = parseRules("version: 1\nendpoints:\n  gwi-1: { zone: 7 }\n", "r.yaml");
    assert.ok(parsed.ok);
    const eps = Array.from({ length: 300 }, (_, i) => ({
      gwi: `gwi-${i + 1}`,
      gwo: `gwo-${i + 1}`,
    }));
    const c = compileRules(parsed.rules, eps, MINIMAL_CAPABILITIES);
    const zones = c.endpoints.map((e) => e.zone);
    assert.equal(new Set(zones).size, zones.length);
    assert.equal(c.endpoints.find((e) => e.gwi === "gwi-1")!.zone, 7);
    const again = compileRules(parsed.rules, [...eps].reverse(), MINIMAL_CAPABILITIES);
    assert.deepEqual(
      again.endpoints.map((e) => e.zone),
      zones,
    );
  });

  it("finalizeRestore inserts missing jumps once, removes duplicates and stale own chains", () => {
    const live = parseIptablesSave(
      [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":TOLLGATE-FORWARD - [0:0]",
        ":TOLLGATE-gwi-old - [0:0]",
        ":DOCKER - [0:0]",
        "-A FORWARD -j TOLLGATE-FORWARD",
        "-A FORWARD -j TOLLGATE-FORWARD",
        "-A FORWARD -j DOCKER",
        "-A TOLLGATE-FORWARD -i gwi-old -j TOLLGATE-gwi-old",
        "COMMIT",
      ].join("\n"),
    );
    const doc =
      "*filter\n:TOLLGATE-FORWARD - [0:0]\n:TOLLGATE-INPUT - [0:0]\n-F TOLLGATE-FORWARD\n-F TOLLGATE-INPUT\nCOMMIT\n";
    const out = finalizeRestore(
      doc,
      { raw: [], mangle: [], nat: [], filter: ["TOLLGATE-FORWARD", "TOLLGATE-INPUT"] },
      [
        { table: "filter", from: "FORWARD", to: "TOLLGATE-FORWARD" },
        { table: "filter", from: "INPUT", to: "TOLLGATE-INPUT" },
      ],
      live,
    );
    assert.equal(
      out,
      [
        "*filter",
        ":TOLLGATE-FORWARD - [0:0]",
        ":TOLLGATE-INPUT - [0:0]",
        "-F TOLLGATE-FORWARD",
        "-F TOLLGATE-INPUT",
        "-D FORWARD -j TOLLGATE-FORWARD",
        "-I INPUT 1 -j TOLLGATE-INPUT",
        "-F TOLLGATE-gwi-old",
        "-X TOLLGATE-gwi-old",
        "COMMIT",
        "",
      ].join("\n"),
    );
    assert.doesNotMatch(out, /DOCKER/);
  });

  it("restoreDocument from an empty snapshot removes jumps and own chains only", () => {
    const live = parseIptablesSave(
      "*nat\n:PREROUTING ACCEPT [0:0]\n:TOLLGATE-PREROUTING - [0:0]\n-A PREROUTING -j TOLLGATE-PREROUTING\n-A PREROUTING -j DNAT --to 1.2.3.4\nCOMMIT\n",
    );
    const doc = restoreDocument(parseIptablesSave(""), [], live);
    assert.equal(
      doc,
      "*nat\n-D PREROUTING -j TOLLGATE-PREROUTING\n-F TOLLGATE-PREROUTING\n-X TOLLGATE-PREROUTING\nCOMMIT\n",
    );
  });

  it("foreignRules ignores own chains and jumps", () => {
    const save =
      "*filter\n-A INPUT -j TOLLGATE-INPUT\n-A INPUT -p tcp -j ACCEPT\n-A TOLLGATE-INPUT -j DROP\nCOMMIT\n";
    assert.deepEqual(foreignRules(save), ["-A INPUT -p tcp -j ACCEPT"]);
  });

  it("ipsetRollback swaps the saved contents back in", () => {
    const doc = ipsetRollback(
      "create tg-s-x hash:net family inet hashsize 1024 maxelem 65536\nadd tg-s-x 10.0.0.0/8\n",
    );
    assert.equal(
      doc,
      "create tg-s-x-n hash:net family inet hashsize 1024 maxelem 65536 -exist\nflush tg-s-x-n\nadd tg-s-x-n 10.0.0.0/8\nswap tg-s-x-n tg-s-x\ndestroy tg-s-x-n\n",
    );
  });
});

describe("apply lock", () => {
  it("serialises appliers and takes over a lock whose owner died", async () => {
    const { withApplyLock } = await import("@tollgate/appliance");
    const fsm = await import("node:fs");
    const os = await import("node:os");
    const pathm = await import("node:path");
    const dir = fsm.mkdtempSync(pathm.join(os.tmpdir(), "tgd-lock-"));
    const state = pathm.join(dir, "state.json");
    try {
      const order: string[] = [];
      const slow = (name: string) =>
        withApplyLock(state, async () => {
          order.push(`${name}+`);
          await new Promise((r) => setTimeout(r, 30));
          order.push(`${name}-`);
        });
      await Promise.all([slow("a"), slow("b")]);
      assert.ok(["a+,a-,b+,b-", "b+,b-,a+,a-"].includes(order.join(",")), order.join(","));
      fsm.mkdirSync(`${state}.lock`);
      fsm.writeFileSync(`${state}.lock/pid`, "999999999");
      assert.equal(await withApplyLock(state, async () => "taken over"), "taken over");
      fsm.mkdirSync(`${state}.lock`);
      fsm.writeFileSync(`${state}.lock/pid`, String(process.pid));
      await assert.rejects(
        withApplyLock(state, async () => "x", 200),
        /another Tollgate rules apply holds/,
      );
    } finally {
      fsm.rmSync(dir, { recursive: true, force: true });
    }
  });
});
