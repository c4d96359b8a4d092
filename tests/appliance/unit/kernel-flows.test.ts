/**
 * The kernel path's flow-state accounting (datapath/kernel-flows.ts) through a fake native seam:
 * the element counter's iterator plumbing, the turnover arithmetic (baseline, evicted = created -
 * present growth, never decreasing), the counter slot shared with tollgate.bpf.c, and the
 * rate-limited warning the data path logs. The root tier (integration/kernel-evictions) runs the
 * real programs.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  Datapath,
  KernelCounter,
  KernelFlowAccounting,
  type KernelPath,
  type NativeAddon,
  openMapElementCounter,
} from "@tollgate/appliance";
import { FakePort } from "../io/fake-port";
import { datapathOptions } from "../helpers/settings";
import { kernelStatus } from "../helpers/status";

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");

/** The bpf calls openMapElementCounter makes, against a map of `elements` elements. */
function fakeNative(state: { elements: number; mapId: number; iterBytes?: number }) {
  const calls: string[] = [];
  const target = Buffer.alloc(4);
  const native = {
    bpfLoad(
      obj: string,
      maps: readonly string[],
      _p: unknown,
      _m: unknown,
      progs: readonly string[],
    ) {
      calls.push(`load ${path.basename(obj)} ${maps.join(",")} ${progs.join(",")}`);
      return { maps: [10], progs: [11] };
    },
    bpfMapUpdate(fd: number, _k: Buffer, v: Buffer) {
      calls.push(`update ${fd}`);
      v.copy(target);
      return true;
    },
    bpfIterLink(prog: number) {
      calls.push(`link ${prog}`);
      return 12;
    },
    bpfIterRead(link: number, out: Buffer) {
      assert.equal(link, 12);
      if (target.readUInt32LE(0) !== state.mapId) return 0;
      out.writeBigInt64LE(BigInt(state.elements));
      return state.iterBytes ?? 8;
    },
    closeFd(fd: number) {
      calls.push(`close ${fd}`);
    },
  };
  return { native: native as unknown as NativeAddon, calls };
}

describe("kernel path flow accounting (fake native)", () => {
  it("counts a map's elements through the iterator linked to the counter program", () => {
    const state = { elements: 42, mapId: 7 };
    const { native, calls } = fakeNative(state);
    const c = openMapElementCounter(native, 7, "/x/tollgate-count.bpf.o");
    assert.deepEqual(calls, [
      "load tollgate-count.bpf.o tg_count_target tg_count",
      "update 10",
      "link 11",
      "close 11",
      "close 10",
    ]);
    assert.equal(c.count(), 42);
    state.elements = 43;
    assert.equal(c.count(), 43);
    c.close();
    assert.equal(calls.at(-1), "close 12");
    // The map is gone (the iteration found no map with that id): an error, not 0.
    state.mapId = 8;
    assert.throws(() => c.count(), /no BPF map with id 7/);
  });

  it("evicted = created - growth of present since the baseline, never decreasing", () => {
    let created = 100; // an adopted counter: not 0 at start
    let present = 900; // flows of the previous daemon in the pinned map
    const counter = { count: () => present, close() {} };
    const a = new KernelFlowAccounting(5, () => created, counter);
    assert.deepEqual(a.status(), { mapId: 5, present: 900, created: 0, evicted: 0 });
    created += 124;
    present = 1024; // full: 124 new flows, nothing evicted yet
    a.sync();
    assert.deepEqual(a.status(), { mapId: 5, present: 1024, created: 124, evicted: 0 });
    created += 3000;
    present = 1020; // LRU: 3000 more created, 3004 evicted (free lists per CPU)
    a.sync();
    assert.deepEqual(a.status(), { mapId: 5, present: 1020, created: 3124, evicted: 3004 });
    // A read that races an insert (present counted, created not yet): never goes down.
    present = 1021;
    a.sync();
    assert.equal(a.status().evicted, 3004);
  });

  it("without a count (no kernel BTF) reports created and why, and no evictions", () => {
    let created = 3;
    const a = new KernelFlowAccounting(5, () => created, { error: "no BTF" });
    created = 10;
    a.sync();
    assert.deepEqual(a.status(), { mapId: 5, created: 7, countError: "no BTF" });
  });

  it("reads the created counter from the slot tollgate.bpf.c counts it in", () => {
    const source = fs.readFileSync(path.join(ROOT, "appliance/bpf/tollgate.bpf.c"), "utf8");
    const body = /enum \{\n([\s\S]*?)\n\};/.exec(source)![1]!;
    const names = [...body.matchAll(/^\s+(C_[A-Z_]+)[,\s]/gm)].map((m) => m[1]);
    const slot = (name: string) => names.indexOf(name);
    assert.equal(slot("C_FLOWS_CREATED"), KernelCounter.FLOWS_CREATED);
    assert.equal(slot("C_REDIRECT_ERRORS"), KernelCounter.REDIRECT_ERRORS);
    assert.ok(KernelCounter.FLOWS_CREATED < KernelCounter.DROP_BASE);
    assert.match(body, /C_DROP_BASE = 16/);
  });
});

describe("kernel eviction warnings (fake kernel)", () => {
  it("logs the kernel map's evictions at most once a minute, with how many since the last", () => {
    let now = 0;
    let evicted = 0;
    const warnings: Record<string, unknown>[] = [];
    const kernel: KernelPath = {
      attachEndpoint() {},
      activateEndpoint() {},
      removeEndpoint() {},
      lookupFlow: () => undefined,
      canaryProbe: () => ({ via: "lost", reason: "fake kernel" }),
      sync() {},
      describe: () =>
        kernelStatus(1024, { mapId: 3, present: 1024, created: 1024 + evicted, evicted }),
      close() {},
      handoverFds: () => [],
    };
    const dp = new Datapath(
      new FakePort(),
      datapathOptions({
        kernel,
        clock: () => now,
        logger: { info() {}, error() {}, warn: (o, msg) => warnings.push({ ...o, msg }) },
      }),
    );
    dp.logEvictions(now);
    assert.equal(warnings.length, 0, "nothing evicted, nothing logged");
    evicted = 10;
    dp.logEvictions(now);
    now = 30_000;
    evicted = 25;
    dp.logEvictions(now);
    now = 60_000;
    dp.logEvictions(now);
    assert.equal(warnings.length, 2);
    assert.deepEqual(
      warnings.map((w) => [w.evicted, w.evictedTotal, w.maxEntries]),
      [
        [10, 10, 1024],
        [15, 25, 1024],
      ],
    );
    assert.match(
      String(warnings[0]!.msg),
      /kernel flow map \(tg_flows\) full: .*raise flows\.maxEntries/,
    );
  });
});
