/**
 * Root-only: the kernel path's flow map evictions, counted and shown. The real `tollgate` runs in
 * kernel mode with a small flow map (--max-flows 1024) and the default rules (kernel forwarding); the
 * emulator sends first fewer distinct flows than the bound (no eviction), then a few thousand
 * (the kernel evicts). Evictions must appear in /metrics (tollgate_flow_evictions_total with
 * path="kernel") and in the health details, equal to created - present, while health stays 200,
 * and be logged.
 *
 * The map starts empty and is this daemon's alone: `ip netns exec` gives the daemon its own mount
 * namespace with a fresh /sys, where it mounts its own bpffs, so its pin is never another test's.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { NATIVE_ADDON_PATH, stateFileForNetns } from "@tollgate/appliance";
import {
  createTestbed,
  getInNs,
  DATAPATH_VARIANTS,
  skipUnlessRunnable,
  spawnInNs,
  waitFor,
  type NsChild,
  type Testbed,
  TOLLGATE_BIN,
  EMULATE,
} from "./netns";

const ROOT = path.resolve(__dirname, "../../../..");
const RULES = path.join(ROOT, "examples/rules/default.yaml");
const HEALTH_PORT = 18096;
const MAX_FLOWS = 1024;
const KERNEL = DATAPATH_VARIANTS.find((v) => v.datapath === "kernel")!;

interface KernelFlows {
  mapId: number;
  present?: number;
  created: number;
  evicted?: number;
  countError?: string;
}

describe("kernel path flow map evictions, counted and shown (root, kernel path)", function () {
  this.timeout(120000);
  let bed: Testbed | undefined;
  let daemon: NsChild | undefined;

  before(async function () {
    skipUnlessRunnable(this, NATIVE_ADDON_PATH, KERNEL);
    bed = createTestbed("v" + KERNEL.suffix, { txChecksum: KERNEL.txChecksum });
    const d = spawnInNs(bed.ap, process.execPath, [
      TOLLGATE_BIN,
      "-p",
      String(HEALTH_PORT),
      "--json",
      "--rules",
      RULES,
      "--datapath",
      "kernel",
      "--max-flows",
      String(MAX_FLOWS),
      "--health-window",
      "60",
    ]);
    daemon = d;
    await waitFor("health server", () => (get().status > 0 ? true : undefined), 15000).catch(
      (err) => {
        throw new Error(`${String(err)}\n${d.stdout()}${d.stderr()}`);
      },
    );
  });

  after(async () => {
    await daemon?.stop();
    if (bed) {
      const state = stateFileForNetns(bed.ap);
      bed.destroy();
      for (const f of [state, `${state}.lock`]) fs.rmSync(f, { force: true });
    }
  });

  function get(urlPath = "/"): { status: number; body: string } {
    return getInNs(bed!, bed!.ap, HEALTH_PORT, urlPath);
  }

  function kernelFlows(): {
    status: number;
    flows: KernelFlows;
    window: { kernelEvicted?: number };
  } {
    const r = get();
    const j = JSON.parse(r.body) as {
      window: { kernelEvicted?: number };
      datapath: { kernel?: { flows?: KernelFlows } };
    };
    assert.ok(j.datapath.kernel?.flows, `health JSON has the kernel flow map: ${r.body}`);
    return { status: r.status, flows: j.datapath.kernel.flows, window: j.window };
  }

  /** The value of a metric series in /metrics (undefined when absent). */
  function metric(series: string): number | undefined {
    const body = get("/metrics").body;
    const line = body.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  /** Sends `flows` distinct UDP flows of one endpoint, one measured round. */
  async function send(flows: number): Promise<{ sent: number; valid: number }> {
    const emu = spawnInNs(bed!.gw, process.execPath, [
      EMULATE,
      JSON.stringify({
        target: bed!.apAddress,
        endpoints: 1,
        flowsPerSet: flows,
        rounds: 1,
        rate: 2000,
        warmupRounds: 1,
        sets: [{ proto: "udp", family: 4 }],
      }),
    ]);
    assert.equal(await emu.exited, 0, `emulator failed: ${emu.stderr()}`);
    const summary = JSON.parse(emu.stdout().trim().split("\n").pop()!) as {
      sent: number;
      valid: number;
    };
    assert.equal(summary.sent, flows);
    return summary;
  }

  /** Kernel flow figures once two reads in a row agree (the counters settled after the traffic). */
  async function settled(): Promise<ReturnType<typeof kernelFlows>> {
    let last = "";
    return waitFor(
      "kernel flow counts settled",
      () => {
        const k = kernelFlows();
        const now = JSON.stringify(k.flows);
        const same = now === last;
        last = now;
        return same ? k : undefined;
      },
      10000,
    );
  }

  it("counts no eviction with fewer flows than the bound", async () => {
    const summary = await send(MAX_FLOWS / 2);
    assert.equal(summary.valid, summary.sent, "every flow's reply came back");
    const k = await settled();
    assert.equal(k.flows.countError, undefined, "the flows are counted (kernel BTF)");
    assert.ok(k.flows.created > 0, `tg_decap created flows: ${JSON.stringify(k.flows)}`);
    // The sent flows (those held while the endpoint's hook ran went through the daemon) and the
    // endpoint's canary flow (the canary crosses tg_decap too).
    assert.ok(k.flows.created <= MAX_FLOWS / 2 + 1, `created ${k.flows.created}`);
    assert.equal(k.flows.present, k.flows.created, "every created flow is in the map");
    assert.equal(k.flows.evicted, 0);
    assert.equal(metric('tollgate_flow_evictions_total{path="kernel"}'), 0);
    assert.equal(metric('tollgate_flows{path="kernel"}'), k.flows.present);
    assert.equal(metric('tollgate_flows_max{path="kernel"}'), MAX_FLOWS);
  });

  it("counts the kernel's evictions beyond the bound in /metrics, health details and the log, without failing health", async () => {
    const flows = 4 * MAX_FLOWS;
    await send(flows);
    const k = await settled();
    const f = k.flows;
    assert.ok(f.present !== undefined && f.evicted !== undefined, JSON.stringify(f));
    assert.ok(f.present <= MAX_FLOWS, `the map holds at most its bound: ${f.present}`);
    assert.ok(f.created > MAX_FLOWS, `more flows created than the bound: ${f.created}`);
    console.log(
      `    kernel flow map after ${flows} flows: created ${f.created}, present ${f.present}, evicted ${f.evicted}`,
    );
    assert.ok(f.evicted > 0, "the kernel evicted flows");
    assert.equal(f.evicted, f.created - f.present, "evicted = created - present (empty at start)");
    assert.equal(
      k.status,
      200,
      `evictions are a warning, not a failure: ${get("/?format=text").body}`,
    );
    assert.ok((k.window.kernelEvicted ?? 0) > 0, "evictions in the health window");
    assert.equal(metric('tollgate_flow_evictions_total{path="kernel"}'), f.evicted);
    assert.equal(metric('tollgate_flows{path="kernel"}'), f.present);
    const text = get("/?format=text").body;
    const m =
      /kernel flows \(tg_flows, map id (\d+)\): (\d+) of (\d+); (\d+) evicted in the last \d+ s \(table full: [^)]*raise flows\.maxEntries\), (\d+) evicted in total/.exec(
        text,
      );
    assert.ok(m, `health details show the kernel evictions:\n${text}`);
    assert.deepEqual(
      [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[5])],
      [f.mapId, f.present, MAX_FLOWS, f.evicted],
    );
    await waitFor(
      "the eviction warning in the log",
      () =>
        /kernel flow map \(tg_flows\) full/.test(daemon!.stdout() + daemon!.stderr())
          ? true
          : undefined,
      5000,
    );
  });
});
