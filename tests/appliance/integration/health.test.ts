/**
 * Root-only: truthful health with the real `tollgate` command in network namespaces. The canary
 * crosses gwi-X -> gwo-X through the kernel and the rules (200 with allow-all, and with a
 * drop-everything policy too), never reaches the GENEVE socket's peer, comes back to gwo-X in
 * egress-nat instead of leaving through the uplink; broken iptables tools (at boot, and after
 * start-up) and a removed route turn health 503 naming the stage within the documented times.
 *
 * Tools are broken through a PATH directory whose iptables-restore/-save wrappers fail while a
 * flag file exists, so one daemon sees its tools work and then fail.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildCanary,
  createPacketScratch,
  FLOW_KEY_BYTES,
  kernelFlowKey,
  locatePacket,
  NATIVE_ADDON_PATH,
  stateFileForNetns,
} from "@tollgate/appliance";
import {
  createTestbed,
  getInNs,
  DATAPATH_VARIANTS,
  skipUnlessRunnable,
  type DatapathVariant,
  sh,
  spawnInNs,
  waitFor,
  type NsChild,
  type Testbed,
  TOLLGATE_BIN,
  EMULATE,
} from "./netns";

const PORT = 18095;
/** Canary settings of these tests: 503 within (failures + 1) x interval = 1.6 s of a break. */
const CANARY = { interval: 0.4, failures: 3 };
const CANARY_BOUND_MS = (CANARY.failures + 1) * CANARY.interval * 1000;
/** Rule engine check period of the tools test: 503 within this + the check's run time. */
const VERIFY_S = 1;
const TOOLS = ["iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save"];

interface Health {
  healthy: boolean;
  state: string;
  reasons: string[];
  endpoints: { id: string; gwi: string; gwo: string; canary?: { returned: number } }[];
}

for (const variant of DATAPATH_VARIANTS) describeVariant(variant);

function describeVariant(variant: DatapathVariant): void {
  describe(`truthful health with the real daemon (root, ${variant.datapath} path)`, function () {
    this.timeout(90000);
    let bed: Testbed | undefined;
    let daemon: NsChild | undefined;
    let dir = "";

    before(function () {
      skipUnlessRunnable(this, NATIVE_ADDON_PATH, variant);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "tgc2h-"));
      // Wrappers that fail while `broken` exists, else run the real tool.
      fs.mkdirSync(path.join(dir, "bin"));
      for (const tool of TOOLS) {
        const real = sh("sh", ["-c", `command -v ${tool}`]).trim();
        fs.writeFileSync(
          path.join(dir, "bin", tool),
          `#!/bin/sh\nif [ -e ${dir}/broken ]; then echo "${tool}: broken for the test" >&2; exit 1; fi\nexec ${real} "$@"\n`,
          { mode: 0o755 },
        );
      }
    });

    beforeEach(() => {
      bed = createTestbed("h" + variant.suffix, { txChecksum: variant.txChecksum });
      fs.rmSync(path.join(dir, "broken"), { force: true });
    });

    afterEach(async () => {
      await daemon?.stop();
      daemon = undefined;
      if (bed) {
        const state = stateFileForNetns(bed.ap);
        bed.destroy();
        for (const f of [state, `${state}.lock`]) fs.rmSync(f, { force: true });
      }
      bed = undefined;
    });

    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Starts `tollgate` in the appliance namespace with this rules file body; waits for its server. */
    async function start(rules: string, extra: string[] = []): Promise<void> {
      const file = path.join(dir, "rules.yaml");
      fs.writeFileSync(file, rules);
      const d = spawnInNs(bed!.ap, "env", [
        `PATH=${dir}/bin:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
        process.execPath,
        TOLLGATE_BIN,
        "-p",
        String(PORT),
        "--json",
        "--rules",
        file,
        "--canary-interval",
        String(CANARY.interval),
        "--canary-failures",
        String(CANARY.failures),
        "--datapath",
        variant.datapath,
        ...extra,
      ]);
      daemon = d;
      await waitFor("health server", () => (get().status > 0 ? true : undefined), 15000).catch(
        (err) => {
          throw new Error(`${String(err)}\n${d.stdout()}${d.stderr()}`);
        },
      );
    }

    function get(urlPath = "/"): { status: number; body: string } {
      return getInNs(bed!, bed!.ap, PORT, urlPath);
    }

    const health = (): Health & { status: number } => {
      const r = get();
      return { status: r.status, ...(JSON.parse(r.body) as Health) };
    };

    /** Sends a little GENEVE traffic so that `endpoints` endpoints exist; returns the summary. */
    async function traffic(
      endpoints: number,
      set: { proto: "udp" | "tcp"; family: 4 | 6 } = { proto: "udp", family: 4 },
    ): Promise<{ sent: number; valid: number }> {
      const emu = spawnInNs(bed!.gw, process.execPath, [
        EMULATE,
        JSON.stringify({
          target: bed!.apAddress,
          endpoints,
          flowsPerSet: 2,
          rounds: 1,
          warmupRounds: 3,
          sets: [set],
        }),
      ]);
      await emu.exited;
      const last = emu.stdout().trim().split("\n").pop() ?? "";
      assert.ok(last.startsWith("{"), `the emulator printed no summary: ${emu.stderr()}`);
      const summary = JSON.parse(last) as { sent: number; valid: number };
      assert.ok(summary.sent > 0, "the emulator sent traffic");
      return summary;
    }

    /** Waits until every endpoint's canary has come back and health is 200. */
    async function healthyWithCanaries(n: number): Promise<Health> {
      return waitFor(
        "200 with every canary back",
        () => {
          const h = health();
          return h.status === 200 &&
            h.endpoints.length === n &&
            h.endpoints.every((e) => (e.canary?.returned ?? 0) > 0)
            ? h
            : undefined;
        },
        10000,
      ).catch((err) => {
        throw new Error(`${String(err)}\n${get("/?format=text").body}${daemon!.stdout()}`);
      });
    }

    /**
     * Polls health every 50 ms from one process inside the appliance namespace (no per-poll
     * process start-up in the measurement) until it is 503 with a reason matching `reason`, at
     * most `boundMs`. Returns the time it took and every status code seen on the way.
     */
    async function until503(
      reason: RegExp,
      boundMs: number,
    ): Promise<{ ms: number; seen: number[]; h: Health }> {
      const script = `const re = new RegExp(${JSON.stringify(reason.source)}); const t0 = Date.now(); const seen = new Set();
(async () => { for (;;) {
  let status = 0, body = "{}";
  try { const r = await fetch("http://127.0.0.1:${PORT}/"); status = r.status; body = await r.text(); } catch {}
  seen.add(status);
  const h = status ? JSON.parse(body) : { reasons: [] };
  if (status === 503 && h.reasons.some((x) => re.test(x))) { console.log(JSON.stringify({ ms: Date.now() - t0, seen: [...seen], h })); return; }
  if (Date.now() - t0 > ${boundMs}) { console.log(JSON.stringify({ ms: -1, seen: [...seen], h })); return; }
  await new Promise((r) => setTimeout(r, 50));
} })();`;
      const poll = spawnInNs(bed!.ap, process.execPath, ["-e", script]);
      await poll.exited;
      const r = JSON.parse(poll.stdout().trim() || "{}") as {
        ms: number;
        seen: number[];
        h: Health;
      };
      assert.ok(
        r.ms >= 0,
        `no 503 matching ${reason} within ${boundMs} ms:\n${get("/?format=text").body}${poll.stderr()}`,
      );
      return r;
    }

    it("allow-all: canaries cross, 200; no canary ever reaches the GENEVE peer", async () => {
      await start("version: 1\ndefaults: { policy: allow }\n");
      const s = await traffic(2);
      assert.equal(s.valid, s.sent, "traffic crosses");
      await healthyWithCanaries(2);
      // For 3 s of canaries (and no traffic), listen on the GWLB side's GENEVE port.
      const listener = spawnInNs(bed!.gw, process.execPath, [
        "-e",
        `const s = require("dgram").createSocket("udp4"); let n = 0;` +
          `s.on("message", () => n++); s.bind(6081, "${bed!.gwAddress}", () => setTimeout(() => { console.log(n); process.exit(0); }, 3000));`,
      ]);
      const m0 = get("/metrics").body;
      assert.equal(await listener.exited, 0, listener.stderr());
      const m1 = get("/metrics").body;
      const returned = (m: string) =>
        Number(/^tollgate_canary_probes_total\{outcome="returned"\} (\d+)$/m.exec(m)?.[1] ?? NaN);
      assert.ok(returned(m1) - returned(m0) >= 2 * 3, `canaries kept crossing: ${m0}\n${m1}`);
      assert.equal(listener.stdout().trim(), "0", "no datagram reached the GWLB side");
      assert.match(m1, /^tollgate_canary_round_trip_seconds_count [1-9]\d*$/m);
      const rtt = (name: string) =>
        Number(
          new RegExp(`^tollgate_canary_round_trip_seconds_${name} (\\S+)$`, "m").exec(m1)?.[1],
        );
      console.log(
        `      canary round trip (${variant.datapath} path): mean ${((rtt("sum") / rtt("count")) * 1000).toFixed(3)} ms over ${rtt("count")} probes`,
      );
      assert.match(m1, /^tollgate_health_failing\{stage="canary"\} 0$/m);
    });

    it("a drop-everything policy is a policy: canaries still cross, 200", async () => {
      await start("version: 1\ndefaults: { policy: drop }\n");
      const s = await traffic(1);
      assert.equal(s.valid ?? 0, 0, "the user's policy drops the traffic");
      const h = await healthyWithCanaries(1);
      assert.deepEqual(h.reasons, []);
    });

    it("iptables tools failing at boot: 503 naming the rule engine stage, no 200 before", async () => {
      fs.writeFileSync(path.join(dir, "broken"), "");
      await start("version: 1\n");
      const r = await until503(/^rules-engine: write tools: iptables-restore/, 5000);
      assert.equal(r.h.healthy, false);
      assert.ok(!r.seen.includes(200), `statuses seen: ${r.seen.join(", ")}`);
    });

    it(`iptables tools failing after start-up: 503 within the verify interval (${VERIFY_S} s) + the check's run time`, async () => {
      await start("version: 1\n", ["--health-verify-interval", String(VERIFY_S)]);
      await traffic(1);
      await healthyWithCanaries(1);
      const engine = (JSON.parse(get().body) as { checks: { name: string; detail?: string }[] })
        .checks;
      const checkTime = engine.find((c) => c.name === "rules-engine")?.detail;
      fs.writeFileSync(path.join(dir, "broken"), "");
      const { ms } = await until503(/^rules-engine: (write|read) tools: /, VERIFY_S * 1000 + 2000);
      console.log(
        `      tools broken -> 503 in ${ms} ms (verify interval ${VERIFY_S} s; last passing check: ${checkTime})`,
      );
      fs.rmSync(path.join(dir, "broken"));
      await healthyWithCanaries(1);
    });

    it(`the endpoint's route removed: 503 naming the endpoint's canary within (failures + 1) x interval`, async () => {
      // A long verify interval so that the rule engine does not repair the route first.
      await start("version: 1\n", ["--health-verify-interval", "600"]);
      await traffic(1);
      const h = await healthyWithCanaries(1);
      const ep = h.endpoints[0]!;
      const table = /table (\d+)/.exec(
        bed!.exec(bed!.ap, "ip", ["-4", "route", "show", "table", "all", "dev", ep.gwo]),
      )![1]!;
      bed!.exec(bed!.ap, "ip", ["-4", "route", "del", "default", "dev", ep.gwo, "table", table]);
      const { ms } = await until503(
        new RegExp(`^endpoint vpce-${ep.id} \\(${ep.gwi}\\) canary: `),
        CANARY_BOUND_MS + 1000,
      );
      console.log(
        `      route removed -> 503 in ${ms} ms (canary ${CANARY.interval} s x ${CANARY.failures})`,
      );
    });

    if (variant.datapath === "kernel") describeKernelCanary();

    /**
     * Kernel path: the canary crosses tg_decap (a test run of the loaded program) and tg_encap;
     * faults of the programs' state that drop real traffic fail health, faults that only send
     * traffic up to the daemon (which carries it) do not. Map and link state is changed with
     * bpftool, found through the programs attached in this test's namespace.
     */
    function describeKernelCanary(): void {
      const bpftool = (args: string[]): unknown =>
        JSON.parse(bed!.exec(bed!.ap, "bpftool", ["-j", ...args]));
      /** The BPF objects the daemon holds, from its descriptors' fdinfo (map_id, link_id...). */
      const daemonObjects = (): Record<string, string>[] => {
        const dir = `/proc/${daemon!.child.pid}/fdinfo`;
        return fs.readdirSync(dir).flatMap((fd) => {
          try {
            const text = fs.readFileSync(path.join(dir, fd), "utf8");
            return [Object.fromEntries(text.split("\n").map((l) => l.split(/:\s*/, 2)))];
          } catch {
            return []; // closed meanwhile
          }
        });
      };
      const progName = (id: string): string =>
        (bpftool(["prog", "show", "id", id]) as { name: string }).name;
      /** The daemon's tcx link of tg_decap (on the uplink, the only one here). */
      const decapLink = (): string => {
        const l = daemonObjects().find(
          (o) =>
            o.link_id !== undefined &&
            o.prog_id !== undefined &&
            progName(o.prog_id) === "tg_decap",
        );
        assert.ok(l, "the daemon holds a tg_decap link");
        return l.link_id!;
      };
      /** The id of the daemon's map `name`. */
      const mapId = (name: string): string => {
        const m = daemonObjects().find(
          (o) =>
            o.map_id !== undefined &&
            (bpftool(["map", "show", "id", o.map_id]) as { name: string }).name === name,
        );
        assert.ok(m, `the daemon holds a map ${name}`);
        return m.map_id!;
      };
      /** tg_endpoints' key of an endpoint (its id, 8 bytes big-endian) as bpftool hex words. */
      const endpointKey = (id: string): string[] => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(`0x${id}`));
        return ["hex", ...[...b].map((x) => x.toString(16).padStart(2, "0"))];
      };
      const kernelStatus = (): { canaryDecapsulated: number; canaryEncapsulated: number } =>
        (
          JSON.parse(get("/?format=json").body) as {
            datapath: { kernel: { canaryDecapsulated: number; canaryEncapsulated: number } };
          }
        ).datapath.kernel;

      const mapUpdate = (map: string, key: string[], value: string[]): void => {
        bed!.exec(bed!.ap, "bpftool", [
          ...["map", "update", "id", map, "key", ...key],
          ...["value", "hex", ...value],
        ]);
      };
      /** Waits for 503 naming the endpoint's canary within the canary bound; logs the time. */
      const canaryFails = async (ep: Health["endpoints"][number], fault: string) => {
        const { ms, h } = await until503(
          new RegExp(`^endpoint vpce-${ep.id} \\(${ep.gwi}\\) canary: `),
          CANARY_BOUND_MS + 1000,
        );
        console.log(
          `      ${fault}: 503 in ${ms} ms (canary ${CANARY.interval} s x ${CANARY.failures})`,
        );
        return h.reasons.join("\n");
      };

      before(function () {
        if (process.env.CI !== "true" && !fs.existsSync("/usr/sbin/bpftool")) {
          console.log("    skipped: needs bpftool (apt-get install bpftool)");
          this.skip();
        }
      });

      it("kernel path: each canary crosses tg_decap and tg_encap (their canary counters move), 200", async () => {
        await start("version: 1\ndefaults: { policy: allow }\n");
        await traffic(1);
        await healthyWithCanaries(1);
        const k0 = kernelStatus();
        const h0 = health();
        await waitFor(
          "three more canaries through both programs",
          () => {
            const k = kernelStatus();
            return k.canaryDecapsulated >= k0.canaryDecapsulated + 3 &&
              k.canaryEncapsulated >= k0.canaryEncapsulated + 3
              ? true
              : undefined;
          },
          10 * CANARY.interval * 1000,
        );
        const rtts: number[] = [];
        for (let i = 0; i < 8; i++) {
          await new Promise((r) => setTimeout(r, CANARY.interval * 1000));
          rtts.push((health().endpoints[0]!.canary as { lastRttMs?: number }).lastRttMs ?? NaN);
        }
        console.log(
          `      last canary round trips (kernel path): ${rtts.map((x) => x.toFixed(3)).join(" ")} ms`,
        );
        const h1 = health();
        assert.equal(h1.status, 200);
        assert.ok(
          h1.endpoints[0]!.canary!.returned >= h0.endpoints[0]!.canary!.returned + 3,
          "and they came back as round trips",
        );
      });

      it(`kernel path: tg_endpoints redirecting into a wrong ifindex: 503 naming the endpoint's canary within (failures + 1) x interval`, async () => {
        await start("version: 1\n", ["--health-verify-interval", "600"]);
        await traffic(1);
        const ep = (await healthyWithCanaries(1)).endpoints[0]!;
        const map = mapId("tg_endpoints");
        const key = endpointKey(ep.id);
        const cur = bpftool(["map", "lookup", "id", map, "key", ...key]) as { value: string[] };
        // ifindex 1 (lo) instead of gwi-X; the endpoint's tag kept.
        const value = [
          "01",
          "00",
          "00",
          "00",
          ...cur.value.slice(4).map((x) => x.replace(/^0x/, "")),
        ];
        mapUpdate(map, key, value);
        const reasons = await canaryFails(ep, "tg_endpoints -> lo");
        assert.match(
          reasons,
          new RegExp(`kernel path: tg_decap redirects into ifindex 1, not ${ep.gwi}`),
        );
      });

      it(`kernel path: tg_encap's output wrong (the canary's stored flow with a wrong header length, not refreshed while tg_decap punts the endpoint): 503 within (failures + 1) x interval`, async () => {
        await start("version: 1\n", ["--health-verify-interval", "600"]);
        await traffic(1);
        const ep = (await healthyWithCanaries(1)).endpoints[0]!;
        const endpoints = mapId("tg_endpoints");
        const epKey = endpointKey(ep.id);
        const epValue = bpftool(["map", "lookup", "id", endpoints, "key", ...epKey]) as {
          value: string[];
        };
        const tag = parseInt(epValue.value[4]!, 16) | (parseInt(epValue.value[5]!, 16) << 8);
        // The canary's tg_flows key (the daemon's own layout function).
        const canary = buildCanary(0, 0);
        const located = createPacketScratch();
        locatePacket(canary, 0, canary.length, located);
        const key = Buffer.alloc(FLOW_KEY_BYTES);
        kernelFlowKey(canary, located, tag, key);
        const flowKey = ["hex", ...[...key].map((b) => b.toString(16).padStart(2, "0"))];
        const flows = mapId("tg_flows");
        const flow = bpftool(["map", "lookup", "id", flows, "key", ...flowKey]) as {
          value: string[];
        };
        // tg_decap punts the endpoint from now on (it does not rewrite the flow); the stored
        // header length (flow_val.hlen, offset 14) becomes 44 instead of 40.
        bed!.exec(bed!.ap, "bpftool", ["map", "delete", "id", endpoints, "key", ...epKey]);
        const value = flow.value.map((x) => x.replace(/^0x/, ""));
        value[14] = "2c";
        mapUpdate(flows, flowKey, value);
        const reasons = await canaryFails(ep, "canary flow header length 40 -> 44");
        assert.match(
          reasons,
          /kernel path: tg_encap's output \(138 bytes\) is not the correct encapsulation/,
        );
      });

      it("kernel path: endpoint removed from tg_endpoints, then tg_decap detached from the uplink (punts only): traffic still crosses through the daemon, health stays 200", async () => {
        await start("version: 1\ndefaults: { policy: allow }\n");
        await traffic(1);
        const ep = (await healthyWithCanaries(1)).endpoints[0]!;
        // New flows each time (another protocol or family): the emulator's source ports change
        // with every run, and a flow tg_decap stored earlier would keep the old one.
        const stays200 = async (
          what: string,
          set: { proto: "udp" | "tcp"; family: 4 | 6 },
        ): Promise<void> => {
          const s = await traffic(1, set);
          assert.equal(
            s.valid,
            s.sent,
            `${what}: traffic still crosses: ${JSON.stringify(s)}\n${get("/?format=text").body}`,
          );
          const before = health().endpoints[0]!.canary!.returned;
          for (let i = 0; i < 2 * (CANARY.failures + 1); i++) {
            await new Promise((r) => setTimeout(r, CANARY.interval * 1000));
            const h = health();
            assert.equal(h.status, 200, `${what}: ${h.reasons.join("; ")}`);
          }
          assert.ok(health().endpoints[0]!.canary!.returned > before, `${what}: canaries return`);
        };
        bed!.exec(bed!.ap, "bpftool", [
          "map",
          "delete",
          "id",
          mapId("tg_endpoints"),
          "key",
          ...endpointKey(ep.id),
        ]);
        await stays200("endpoint not in tg_endpoints", { proto: "tcp", family: 4 });
        bed!.exec(bed!.ap, "bpftool", ["link", "detach", "id", decapLink()]);
        await stays200("tg_decap detached", { proto: "udp", family: 6 });
      });
    }

    it("egress-nat: the canary comes back to gwo-X and never leaves through the uplink", async () => {
      bed!.exec(bed!.ap, "ip", ["route", "add", "default", "via", bed!.gwAddress]);
      // Counts anything from the canary's address leaving through the uplink.
      bed!.exec(bed!.ap, "iptables", [
        "-t",
        "mangle",
        "-A",
        "POSTROUTING",
        "-o",
        "ap0",
        "-s",
        "198.18.0.0/15",
      ]);
      await start("version: 1\ndefaults: { mode: egress-nat, egressInterface: ap0 }\n");
      await traffic(1);
      await healthyWithCanaries(1);
      const counters = bed!.exec(bed!.ap, "iptables", ["-t", "mangle", "-nvxL", "POSTROUTING"]);
      const line = counters.split("\n").find((l) => l.includes("198.18.0.0/15"))!;
      assert.equal(line.trim().split(/\s+/)[0], "0", counters);
    });
  });
}
